"""The chat's small Markdown: ``**bold**``, ``*italic*``/``_italic_``, ```code```, links, mentions.

It turns a message into styled spans of literal text and never produces
markup: the view inserts each span as text with a character format, so a
``<b>`` or an ``&amp;`` from a peer can only ever be shown as typed. Every
character that is not a matched delimiter is kept, in order; anything
unbalanced stays as written. The scan is linear in the text (a peer picks
the input, up to the protocol's 2000 characters, 20 times a second), so it
uses no backtracking pattern and pairs delimiters with one stack per kind.
"""

import re
import unicodedata
from dataclasses import dataclass
from enum import Flag, auto

URL = re.compile(r"\bhttps?://[^\s<>\"'`*]*[^\s<>\"'`*.,;:!?)\]]")
_TOKEN = re.compile(r"`[^`\n]+`|(?P<url>" + URL.pattern + r")|\*+|_+")
MAX_MARKS = 4
"""Combining marks kept on one character: enough for any script's real text (Vietnamese
stacks two, Hebrew with cantillation three or four); a flood of them ("Zalgo") costs Qt's
shaper time per mark and paints over the lines around it."""


class Look(Flag):
    """How a span is drawn; flags combine (a bold link, an italic mention)."""

    PLAIN = 0
    BOLD = auto()
    ITALIC = auto()
    CODE = auto()
    LINK = auto()
    MENTION = auto()


_BOLD = Look.BOLD.value
_ITALIC = Look.ITALIC.value
MAX_SPANS = 64
"""More than this and a message is shown plain: no real message needs that many, a hostile
one would cost the parser and the view's cursor insertions time on the event loop."""


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    look: Look = Look.PLAIN
    href: str = ""


@dataclass(frozen=True, slots=True)
class _Delim:
    mark: str  # "*", "**" or "_"
    can_open: bool
    can_close: bool


_Token = str | _Delim | Span
"""Literal text, a delimiter waiting to be paired, or an atom (code, link) kept whole."""


def spans(text: str, mention: str = "") -> list[Span]:
    """``text`` as styled spans whose texts, joined, are ``text`` without its matched delimiters.

    A message that would need more than ``MAX_SPANS`` spans (or twice that
    many tokens) is one plain span, its mentions still marked.

    Args:
        text: a chat message as received.
        mention: our own name: where it stands as a word (``@`` optional, any case) it is
            marked ``MENTION``; empty for none.
    """
    tokens = _tokenize(text)
    if tokens is None:
        return _mark_mentions([Span(text)], mention) if mention else [Span(text)]
    looks = _pair(tokens)
    out: list[Span] = []
    parts: list[str] = []
    look = 0
    for token, token_look in zip(tokens, looks, strict=True):
        if token == "":
            continue  # a paired delimiter
        if isinstance(token, Span) or token_look != look:
            if parts:
                out.append(Span("".join(parts), Look(look)))
                parts = []
            look = token_look
        if isinstance(token, Span):
            out.append(Span(token.text, token.look | Look(look), token.href))
        elif isinstance(token, _Delim):
            parts.append(token.mark)
        else:
            parts.append(token)
    if parts:
        out.append(Span("".join(parts), Look(look)))
    if mention:
        out = _mark_mentions(out, mention)
    if len(out) <= MAX_SPANS:
        return out
    return [Span(text, Look.MENTION if mention and mentions(text, mention) else Look.PLAIN)]


def mentions(text: str, name: str) -> bool:
    """Whether ``text`` names ``name`` as a word, as ``spans`` would mark it."""
    return bool(name) and _mention_pattern(name).search(text) is not None


def tame(text: str) -> str:
    """``text`` with at most ``MAX_MARKS`` combining marks on any one character.

    A plain loop (about 0.5 ms for 2000 characters): a pattern of every mark would be as fast
    per line but takes 30-40 ms to build, a stall on the first such line of a flood."""
    if text.isascii():
        return text
    category = unicodedata.category
    kept: list[str] = []
    run = 0
    for char in text:
        if category(char)[0] == "M":
            run += 1
            if run > MAX_MARKS:
                continue
        else:
            run = 0
        kept.append(char)
    return "".join(kept)


def _tokenize(text: str) -> list[_Token] | None:
    """Literal text, delimiters and atoms; None past ``2 * MAX_SPANS`` tokens."""
    tokens: list[_Token] = []
    last = 0
    for match in _TOKEN.finditer(text):
        if len(tokens) > 2 * MAX_SPANS:
            return None
        start, end = match.span()
        literal = text[last:start]
        last = end
        found = match.group(0)
        if found[0] == "`":
            atom = Span(found[1:-1], Look.CODE)
        elif match.group("url"):
            atom = Span(found, Look.LINK, found)
        else:
            before = text[start - 1] if start else " "
            after = text[end] if end < len(text) else " "
            delimiters = _delimiters(found, before, after)
            if delimiters:
                _add_text(tokens, literal)
                tokens.extend(delimiters)
            else:
                _add_text(tokens, literal + found)
            continue
        _add_text(tokens, literal)
        tokens.append(atom)
    _add_text(tokens, text[last:])
    return tokens


def _add_text(tokens: list[_Token], text: str) -> None:
    """Literal text, joined to the literal before it: runs of ``* * *`` stay one token."""
    if tokens and isinstance(tokens[-1], str):
        tokens[-1] += text
    elif text:
        tokens.append(text)


def _delimiters(run: str, before: str, after: str) -> list[_Delim]:
    """A run of ``*`` or ``_``: delimiters that may pair, or none (the run is literal text).

    A delimiter opens before a non-space and closes after one; ``_`` never
    works inside a word (``snake_case_name``). ``***`` is ``**`` and ``*``,
    the ``*`` innermost. Longer runs are text.
    """
    can_open = not after.isspace()
    can_close = not before.isspace()
    if run[0] == "_":
        if len(run) > 1:
            return []
        can_open = can_open and not before.isalnum()
        can_close = can_close and not after.isalnum()
        marks = ["_"]
    elif len(run) > 3:
        return []
    else:
        marks = {1: ["*"], 2: ["**"], 3: ["**", "*"]}[len(run)]
    if not (can_open or can_close):
        return []
    return [_Delim(mark, can_open, can_close) for mark in marks]


def _pair(tokens: list[_Token]) -> list[int]:
    """Pair delimiters and return each token's look (``Look`` bits as ints, which are
    cheap); paired delimiters become empty text.

    A closer pairs with the nearest opener of its kind; openers of other kinds
    opened after that one stay literal (no crossed pairs). Each delimiter is
    pushed and popped at most once, so this is linear.
    """
    openers: dict[str, list[int]] = {"*": [], "**": [], "_": []}
    edges = {_BOLD: [0] * (len(tokens) + 1), _ITALIC: [0] * (len(tokens) + 1)}
    for i, token in enumerate(tokens):
        if not isinstance(token, _Delim):
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            isinstance(following, _Delim)
            and {token.mark, following.mark} == {"*", "**"}
            and following.can_close
            and _top(openers, following.mark) > _top(openers, token.mark)
        ):  # a closing ``***`` closes first whichever of ``*`` and ``**`` was opened last
            tokens[i], tokens[i + 1] = following, token
            token = following
        _resolve(tokens, i, token, openers, edges)
    looks: list[int] = []
    bold = italic = 0
    bold_edges, italic_edges = edges[_BOLD], edges[_ITALIC]
    for i in range(len(tokens)):
        bold += bold_edges[i]
        italic += italic_edges[i]
        looks.append((_BOLD if bold else 0) | (_ITALIC if italic else 0))
    return looks


def _top(openers: dict[str, list[int]], mark: str) -> int:
    stack = openers[mark]
    return stack[-1] if stack else -1


def _resolve(
    tokens: list[_Token], i: int, token: _Delim, openers: dict[str, list[int]], edges: dict[int, list[int]]
) -> None:
    stack = openers[token.mark]
    if token.can_close and stack and stack[-1] + 1 < i:
        opener = stack.pop()
        for other in openers.values():
            while other and other[-1] > opener:
                other.pop()
        look = _BOLD if token.mark == "**" else _ITALIC
        edges[look][opener + 1] += 1
        edges[look][i] -= 1
        tokens[opener] = tokens[i] = ""
    elif token.can_open:
        stack.append(i)


def _mention_pattern(name: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)@?" + re.escape(name) + r"(?!\w)", re.IGNORECASE)


def _mark_mentions(out: list[Span], name: str) -> list[Span]:
    pattern = _mention_pattern(name)
    marked: list[Span] = []
    for span in out:
        if span.look & (Look.CODE | Look.LINK):
            marked.append(span)
            continue
        last = 0
        for match in pattern.finditer(span.text):
            if match.start() > last:
                marked.append(Span(span.text[last : match.start()], span.look))
            marked.append(Span(match.group(0), span.look | Look.MENTION))
            last = match.end()
        if last < len(span.text):
            marked.append(Span(span.text[last:], span.look))
    return marked
