"""The chat's document: one message is one block, written with character formats, never HTML.

Text reaches the document only through ``QTextCursor.insertText`` with a
format, so nothing a peer sends is parsed as markup; the few characters
that would split a block (newlines, paragraph and frame separators) are
turned into line separators first, so block *n* is always message *n* and a
new message costs one block's layout, not the whole document's. Names and
bodies are wrapped in Unicode isolates: a right-to-left name cannot pull
the time beside it, nor an override in one run into the next.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import assert_never

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QPalette,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)

from protocol import ChatPosted

from . import style
from .markdown import Look, Span, mentions, spans, tame

LINE_BREAK = "\u2028"
"""Qt's line separator: a new line inside the block."""
ISOLATE, END_ISOLATE = "\u2068", "\u2069"
"""First-strong isolate and its end (UAX #9): the run inside takes its own direction."""
_IN_BODY = str.maketrans({"\n": LINE_BREAK, "\r": LINE_BREAK, "\u2029": LINE_BREAK})
_IN_NAME = str.maketrans({"\n": " ", "\r": " ", "\u2028": " ", "\u2029": " "})
_OBJECTS = str.maketrans(dict.fromkeys("\ufdd0\ufdd1\ufffc", "\ufffd"))
"""Qt's frame markers would split the block, its object marker would stand for an image."""
HEADER_GAP_PX = 10
GROUPED_GAP_PX = 2


@dataclass(frozen=True, slots=True)
class Delivered:
    """A line the server has stored, under its chat id."""

    chat_id: int


@dataclass(frozen=True, slots=True)
class Pending:
    """Our own line on its way, under the nonce the server will echo."""

    nonce: str


ChatKey = Delivered | Pending
"""Which message a line shows: the same key never makes two lines."""


@dataclass(frozen=True, slots=True)
class Line:
    key: ChatKey
    username: str
    text: str
    ts_s: float
    own: bool

    @property
    def pending(self) -> bool:
        return isinstance(self.key, Pending)

    @classmethod
    def delivered(cls, chat: ChatPosted, own: bool) -> "Line":
        return cls(Delivered(chat.id), chat.username, chat.text, chat.ts / 1000, own)


def literal(text: str, *, name: bool = False) -> str:
    """``text`` safe to insert into one block: what would break out of it becomes a line break."""
    return tame(text.translate(_IN_NAME if name else _IN_BODY).translate(_OBJECTS))


class ChatDocument:
    """Blocks of a ``QTextDocument`` kept one per message; the caller says which and where.

    ``count`` is the number of messages shown; an empty document still has
    one (empty) block, which the first message takes. ``head`` says whether a
    marker block ("the beginning of the history") stands above message 0.
    """

    def __init__(self, document: QTextDocument) -> None:
        self.document = document
        document.setUndoRedoEnabled(False)  # read-only: an undo stack would only grow
        self.count = 0
        self.head = False
        self._formats: dict[tuple[Look, bool], QTextCharFormat] = {}
        self._palette = QPalette()

    def restyle(self, palette: QPalette) -> None:
        """Take colours from ``palette`` for what is written next (``reset`` to redo all)."""
        self._palette = QPalette(palette)
        self._formats.clear()

    @contextmanager
    def change(self) -> Iterator[None]:
        """Edits made inside are one change: one signal, one layout of the blocks they touched.

        Without it every insertion lays its block out again (five times for a
        message of five spans), and a change near the top moves every block
        below it once per edit.
        """
        cursor = QTextCursor(self.document)
        cursor.beginEditBlock()
        try:
            yield
        finally:
            cursor.endEditBlock()

    def reset(self, rows: list[tuple[Line, bool, str]]) -> None:
        """Show exactly ``rows`` (line, grouped under the previous one's header, our name)."""
        with self.change():
            if self.count:
                self.remove(0, self.count)
            for number, (line, grouped, me) in enumerate(rows):
                self.insert(number)
                self.write(number, line, grouped, me)

    def block(self, number: int) -> QTextBlock:
        """Message ``number``'s block."""
        return self.document.findBlockByNumber(number + self.head)

    def insert(self, number: int) -> None:
        """An empty block at ``number``; the block that was there moves down and needs a ``write``."""
        if self.count or self.head:
            cursor = QTextCursor(self.document)
            if number == self.count:
                cursor.movePosition(QTextCursor.MoveOperation.End)
            else:
                cursor.setPosition(self.block(number).position())
            cursor.insertBlock()
        self.count += 1

    def remove(self, number: int, blocks: int = 1) -> None:
        """Remove ``blocks`` messages from ``number`` on; the block after them needs a ``write``."""
        end = number + blocks
        cursor = QTextCursor(self.document)
        keep = QTextCursor.MoveMode.KeepAnchor
        if end < self.count:
            cursor.setPosition(self.block(number).position())
            cursor.setPosition(self.block(end).position(), keep)
        elif number > 0 or self.head:
            previous = self.block(number - 1)
            cursor.setPosition(previous.position() + previous.length() - 1)
            cursor.movePosition(QTextCursor.MoveOperation.End, keep)
        else:
            cursor.select(QTextCursor.SelectionType.Document)
            cursor.setBlockFormat(QTextBlockFormat())
        cursor.removeSelectedText()
        self.count -= blocks

    def write(self, number: int, line: Line, grouped: bool, me: str) -> None:
        """Make block ``number`` show ``line``; ``me`` is our name for mentions ("" for none)."""
        cursor = QTextCursor(self.block(number))
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        text = literal(line.text)
        mentioned = bool(me) and not line.own and mentions(text, me)
        cursor.setBlockFormat(self._block_format(grouped, mentioned))
        if not grouped:
            name = (
                ISOLATE
                + literal(line.username, name=True)
                + END_ISOLATE
                + (" " + QCoreApplication.translate("ChatDocument", "(you)") if line.own else "")
            )
            cursor.insertText(name, self._name_format(line.own))
            cursor.insertText(" " + time.strftime("%H:%M", time.localtime(line.ts_s)), self._dim())
            cursor.insertText(LINE_BREAK, QTextCharFormat())
        body = spans(text, me if mentioned else "")
        cursor.insertText(ISOLATE, self._format(Look.PLAIN, line.pending))
        for span in body:
            cursor.insertText(span.text, self._span_format(span, line.pending))
        cursor.insertText(END_ISOLATE, self._format(Look.PLAIN, line.pending))
        if line.pending:
            cursor.insertText(
                " " + QCoreApplication.translate("ChatDocument", "sending…"), self._dim(italic=True)
            )

    def show_head(self, text: str | None) -> None:
        """Put ``text`` in a marker block above the messages, or (None) take it away.

        Taking it away leaves message 0 in the marker's block format: the
        caller writes message 0 again.
        """
        if (text is not None) == self.head:
            return
        cursor = QTextCursor(self.document)
        if text is None:
            if self.count:
                cursor.setPosition(self.block(0).position(), QTextCursor.MoveMode.KeepAnchor)
            else:
                cursor.select(QTextCursor.SelectionType.Document)
                cursor.setBlockFormat(QTextBlockFormat())
            cursor.removeSelectedText()
            self.head = False
            return
        if self.count:
            cursor.insertBlock()
            cursor.movePosition(QTextCursor.MoveOperation.Start)
        self.head = True
        fmt = QTextBlockFormat()
        fmt.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        fmt.setTopMargin(HEADER_GAP_PX)
        fmt.setBottomMargin(HEADER_GAP_PX)
        cursor.setBlockFormat(fmt)
        cursor.insertText(text, self._dim(italic=True))

    # --- formats ----------------------------------------------------------------

    def _block_format(self, grouped: bool, mentioned: bool) -> QTextBlockFormat:
        fmt = QTextBlockFormat()
        fmt.setTopMargin(GROUPED_GAP_PX if grouped else HEADER_GAP_PX)
        fmt.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        if mentioned:
            fmt.setBackground(self._tint(0.16))
        return fmt

    def _name_format(self, own: bool) -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setFontWeight(QFont.Weight.Bold)
        if own:
            fmt.setForeground(style.accent())
        return fmt

    def _dim(self, *, italic: bool = False) -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setForeground(self._palette.color(QPalette.ColorRole.PlaceholderText))
        fmt.setFontItalic(italic)
        return fmt

    def _tint(self, alpha: float) -> QColor:
        colour = QColor(self._palette.color(QPalette.ColorRole.Highlight))
        colour.setAlphaF(alpha)
        return colour

    def _span_format(self, span: Span, pending: bool) -> QTextCharFormat:
        if not span.look & Look.LINK:
            return self._format(span.look, pending)
        fmt = QTextCharFormat(self._format(span.look, pending))
        fmt.setAnchor(True)
        fmt.setAnchorHref(span.href)
        return fmt

    def _format(self, look: Look, pending: bool) -> QTextCharFormat:
        """The format of a look, made once per palette (a hostile message has many spans)."""
        key = (look, pending)
        fmt = self._formats.get(key)
        if fmt is None:
            fmt = QTextCharFormat()
            for flag in look:
                _apply(fmt, flag, self._palette, self._tint(0.4))
            if pending:
                fmt.setForeground(self._palette.color(QPalette.ColorRole.PlaceholderText))
            self._formats[key] = fmt
        return fmt


def _apply(fmt: QTextCharFormat, flag: Look, palette: QPalette, tint: QColor) -> None:
    match flag:
        case Look.BOLD:
            fmt.setFontWeight(QFont.Weight.Bold)
        case Look.ITALIC:
            fmt.setFontItalic(True)
        case Look.CODE:
            fmt.setFontFamilies([QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()])
            fmt.setBackground(palette.color(QPalette.ColorRole.AlternateBase))
        case Look.LINK:
            fmt.setForeground(palette.color(QPalette.ColorRole.Link))
            fmt.setFontUnderline(True)
        case Look.MENTION:
            fmt.setFontWeight(QFont.Weight.Bold)
            fmt.setBackground(tint)
        case Look.PLAIN:
            pass
        case _:
            assert_never(flag)
