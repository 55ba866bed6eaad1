"""The chat: messages rendered as escaped HTML, and a composer that knows the protocol's limit.

Text from others is never interpreted as markup: every message is escaped
and only URLs we recognise become links. Messages are kept as values
(delivered ones by chat id, ours pending by nonce until the server echoes
them) and the view is re-rendered from them, so a reconnect, a replayed
history or a late echo can never duplicate or lose a line.
"""

import time
from dataclasses import dataclass
from typing import assert_never

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from protocol import limits
from protocol.text import clean_chat

from . import style

MAX_SHOWN = 500
"""Older messages drop out of the view (the server keeps them)."""
GROUP_S = 300
"""A message within 5 minutes of the same sender's previous one shares its header."""
COUNT_FROM = int(limits.MAX_CHAT_CHARS * 0.8)


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


class Composer(QPlainTextEdit):
    """Enter sends, Shift+Enter starts a new line."""

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class ChatView(QWidget):
    send_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lines: list[Line] = []
        self._ids: set[int] = set()
        self.render_pending = False
        """Lines were added with ``defer``: the view shows them once the event loop turns."""
        self.browser = QTextBrowser()
        self.browser.setObjectName("chat")
        self.browser.setOpenExternalLinks(True)
        self.browser.setAccessibleName("Chat messages")
        self.browser.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.browser.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.jump = QPushButton("New messages ↓")
        self.jump.setAccessibleName("Scroll to new messages")
        self.jump.clicked.connect(self.scroll_to_end)
        self.jump.hide()
        self.composer = Composer()
        self.composer.setAccessibleName("Message")
        self.composer.setPlaceholderText("Message the room (Enter sends, Shift+Enter for a new line)")
        self.composer.setTabChangesFocus(True)
        self.composer.setFixedHeight(self.composer.fontMetrics().lineSpacing() * 3 + 14)
        self.composer.textChanged.connect(self._update_count)
        self.composer.submitted.connect(self.submit)
        self.count = QLabel()
        self.count.setObjectName("count")
        self.count.setAccessibleName("Characters left")
        self.count.hide()
        self.send_button = QPushButton("Send")
        self.send_button.setAccessibleName("Send message")
        self.send_button.clicked.connect(self.submit)
        self.send_button.setEnabled(False)

        row = QHBoxLayout()
        row.addWidget(self.composer, 1)
        side = QVBoxLayout()
        side.addStretch(1)
        side.addWidget(self.count, 0, Qt.AlignmentFlag.AlignRight)
        side.addWidget(self.send_button)
        row.addLayout(side)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.browser, 1)
        layout.addWidget(self.jump, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(row)
        self.browser.viewport().installEventFilter(self)

    # --- messages -------------------------------------------------------------

    def add_chat(
        self,
        chat_id: int,
        username: str,
        text: str,
        ts_ms: int,
        own: bool,
        nonce: str | None,
        *,
        defer: bool = False,
    ) -> None:
        """Add a delivered message; ``defer`` (a history, many at once) renders once for the batch."""
        if chat_id in self._ids:
            return
        self._ids.add(chat_id)
        if own and nonce is not None:
            self._lines = [line for line in self._lines if line.key != Pending(nonce)]
        delivered = Line(Delivered(chat_id), username, text, ts_ms / 1000, own)
        at = len(self._lines)
        while at > 0 and _after(self._lines[at - 1].key, chat_id):
            at -= 1
        self._lines.insert(at, delivered)
        if not defer:
            self._render(follow=own)
        elif not self.render_pending:
            self.render_pending = True
            QTimer.singleShot(0, self._render_deferred)

    def _render_deferred(self) -> None:
        if self.render_pending:
            self._render(follow=False)

    def add_pending(self, nonce: str, username: str, text: str) -> None:
        self._lines.append(Line(Pending(nonce), username, text, time.time(), True))
        self._render(follow=True)

    def clear(self) -> None:
        self._lines.clear()
        self._ids.clear()
        self._render(follow=True)

    def lines(self) -> list[Line]:
        return list(self._lines)

    def at_end(self) -> bool:
        bar = self.browser.verticalScrollBar()
        return bar.value() >= bar.maximum() - 4

    def scroll_to_end(self) -> None:
        bar = self.browser.verticalScrollBar()
        bar.setValue(bar.maximum())
        self.jump.hide()

    def _render(self, follow: bool) -> None:
        """Re-render; follow the end if we were there (or it is ours), else keep the reader's place."""
        self.render_pending = False
        bar = self.browser.verticalScrollBar()
        stay = not follow and not self.at_end()
        old = bar.value()
        del self._lines[: max(0, len(self._lines) - MAX_SHOWN)]
        self.browser.setHtml(_html(self._lines))
        if stay:
            bar.setValue(old)
            self.jump.show()
        else:
            self.scroll_to_end()

    def _scrolled(self, _value: int) -> None:
        if self.at_end():
            self.jump.hide()

    # --- composer -------------------------------------------------------------

    def submit(self) -> None:
        text = self.composer.toPlainText()
        try:
            clean_chat(text, limits.MAX_CHAT_CHARS)
        except ValueError:
            return  # the counter already says why; nothing is silently cut
        self.send_requested.emit(text)
        self.composer.clear()

    def _update_count(self) -> None:
        text = self.composer.toPlainText()
        length = len(text.strip(" \t\n"))
        over = length > limits.MAX_CHAT_CHARS
        self.count.setVisible(length >= COUNT_FROM)
        self.count.setText(f"{length} / {limits.MAX_CHAT_CHARS}")
        self.count.setProperty("over", over)
        self.count.setToolTip("Too long to send: shorten it" if over else "")
        self.count.style().polish(self.count)
        try:
            clean_chat(text, limits.MAX_CHAT_CHARS)
            self.send_button.setEnabled(True)
        except ValueError:
            self.send_button.setEnabled(False)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        """A new palette (the system went dark): the HTML's colours are picked by it, so re-render."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._lines:
            self._render(follow=False)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """A reader at the end stays at the end when the window is resized."""
        if event.type() == QEvent.Type.Resize and self.at_end():
            self.scroll_to_end()
        return False


def _after(key: ChatKey, chat_id: int) -> bool:
    """Whether a line under ``key`` belongs after a delivered ``chat_id``: pending ones stay last."""
    match key:
        case Delivered():
            return key.chat_id > chat_id
        case Pending():
            return True
        case _:
            assert_never(key)


def _html(lines: list[Line]) -> str:
    parts: list[str] = []
    previous: Line | None = None
    for line in lines:
        grouped = (
            previous is not None
            and previous.username == line.username
            and previous.own == line.own
            and line.ts_s - previous.ts_s < GROUP_S
        )
        stamp = time.strftime("%H:%M", time.localtime(line.ts_s))
        body = style.linkify(line.text)
        state = ' <span style="color:gray"><i>sending…</i></span>' if line.pending else ""
        colour = style.accent().name() if line.own else ""
        name = style.escape(line.username) + (" (you)" if line.own else "")
        header = (
            ""
            if grouped
            else f'<b style="color:{colour}">{name}</b> <span style="color:gray">{stamp}</span><br>'
        )
        text_colour = "color:gray;" if line.pending else ""
        top = 2 if grouped else 10
        parts.append(f'<div style="margin-top:{top}px;{text_colour}">{header}{body}{state}</div>')
        previous = line
    return "".join(parts)
