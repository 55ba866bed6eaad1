"""The chat: messages appended to the view one block at a time, and a composer that knows the limit.

Text from others is never interpreted as markup (``chat_document`` writes
it with character formats; a small Markdown subset and our mentions are
styled). Messages are kept as values (delivered ones by chat id, ours
pending by nonce until the server echoes them); each change touches only
the blocks it concerns, so a reconnect, a replayed history or a late echo
can never duplicate or lose a line, and a new message costs the same with
500 lines shown as with none: a peer flooding the room at its rate limit
cannot hold up the event loop the call runs on.

Older history is paged in when the reader scrolls to the top (the protocol's
``history`` addition): the page's blocks go above the first one and the view
moves down by their height, so the line being read stays where it was.
"""

import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import assert_never

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QTextDocument, QWheelEvent
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

from .chat_document import END_ISOLATE, ISOLATE, ChatDocument, ChatKey, Delivered, Line, Pending

__all__ = ["COUNT_FROM", "ChatKey", "ChatView", "Composer", "Delivered", "Line", "Pending"]

MAX_SHOWN = 500
"""Older messages drop out of the view while the reader follows the end (the server keeps them)."""


def beginning() -> str:
    """The marker above the room's first message, once paging reaches it."""
    return QCoreApplication.translate("ChatView", "Beginning of the room's history")


TRIM_STEP = 100
"""They drop out this many at once: taking blocks from the top moves every block below,
which costs as much for one as for a hundred."""
SLICE_S = 0.008
"""Live lines are drawn for at most about this long per turn of the event loop; the rest wait a turn.
A peer's burst (the server lets 40 chats through at once) would otherwise hold the loop, and the
call on it, for 40 lines' layout: 0.25 s with long lines."""
GROUP_S = 300
"""A message within 5 minutes of the same sender's previous one shares its header."""
COUNT_FROM = int(limits.MAX_CHAT_CHARS * 0.8)
_NO_ISOLATES = str.maketrans(dict.fromkeys(ISOLATE + END_ISOLATE))


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
    older_wanted = Signal(int)
    """The reader reached the top: the chats before this id, please (answer with ``add_older``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lines: list[Line] = []
        self._ids: set[int] = set()
        self._queued: deque[tuple[Line, str | None]] = deque()
        """Live lines (and their nonce) that wait for a turn of the loop: this turn drew for ``SLICE_S``."""
        self._spent_s = 0.0
        """How long live lines were drawn for in this turn of the event loop."""
        self._me = ""
        self._asked: int | None = None  # the ``before`` of the page asked for and not yet here
        self._can_page = True  # False once the server showed it cannot (it predates paging)
        self.render_pending = False
        """Lines were added with ``defer``: the view shows them once the event loop turns."""
        self.browser = QTextBrowser()
        self.browser.setObjectName("chat")
        self.document = ChatDocument(self.browser.document())
        self.document.restyle(self.browser.palette())
        self.browser.setOpenExternalLinks(True)
        self.browser.setAccessibleName(self.tr("Chat messages"))
        self.browser.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.browser.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.browser.verticalScrollBar().actionTriggered.connect(self._scroll_action)
        self.jump = QPushButton(self.tr("New messages ↓"))
        self.jump.setAccessibleName(self.tr("Scroll to new messages"))
        self.jump.clicked.connect(self.scroll_to_end)
        self.jump.hide()
        self.composer = Composer()
        self.composer.setAccessibleName(self.tr("Message"))
        self.composer.setPlaceholderText(
            self.tr("Message the room (Enter sends, Shift+Enter for a new line)")
        )
        self.composer.setTabChangesFocus(True)
        self.composer.setFixedHeight(self.composer.fontMetrics().lineSpacing() * 3 + 14)
        self.composer.textChanged.connect(self._update_count)
        self.composer.submitted.connect(self.submit)
        self.count = QLabel()
        self.count.setObjectName("count")
        self.count.setAccessibleName(self.tr("Characters left"))
        self.count.hide()
        self.send_button = QPushButton(self.tr("Send"))
        self.send_button.setAccessibleName(self.tr("Send message"))
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

    def set_own_name(self, name: str) -> None:
        """Our name in this room: messages from others that mention it are highlighted."""
        if name != self._me:
            self._me = name
            if self._lines:
                self._render_all(follow=False)

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
        line = Line(Delivered(chat_id), username, text, ts_ms / 1000, own)
        if defer or not (self._queued or self._spent_s >= SLICE_S):
            self._insert(line, nonce, defer)
        else:
            self._queued.append((line, nonce))

    def _insert(self, line: Line, nonce: str | None, defer: bool) -> None:
        """Put a delivered ``line`` in its place by id (instead of our pending copy of it), and show it."""
        started = time.perf_counter()
        assert isinstance(line.key, Delivered)
        chat_id, own = line.key.chat_id, line.own
        follow = own or self.at_end()
        at = len(self._lines)
        if own and nonce is not None:
            for i in range(len(self._lines) - 1, -1, -1):
                if self._lines[i].key == Pending(nonce):
                    del self._lines[i]
                    if not self.render_pending:
                        self._unplace(i)
                    break
            at = len(self._lines)
        while at > 0 and _after(self._lines[at - 1].key, chat_id):
            at -= 1
        self._lines.insert(at, line)
        if defer:
            if not self.render_pending:
                self.render_pending = True
                QTimer.singleShot(0, self._render_deferred)
            return
        if self.render_pending:
            self._render_all(follow=follow)
        else:
            self._place(at, follow)
        if not self._spent_s:
            QTimer.singleShot(0, self._next_turn)
        self._spent_s += time.perf_counter() - started

    def _next_turn(self) -> None:
        """The loop turned: draw what waited, again for at most ``SLICE_S``."""
        self._spent_s = 0.0
        while self._queued and self._spent_s < SLICE_S:
            line, nonce = self._queued.popleft()
            self._insert(line, nonce, defer=False)

    def _render_deferred(self) -> None:
        if self.render_pending:
            self._render_all(follow=self.at_end())

    def add_pending(self, nonce: str, username: str, text: str) -> None:
        self._lines.append(Line(Pending(nonce), username, text, time.time(), True))
        if self.render_pending:
            self._render_all(follow=True)
        else:
            self._place(len(self._lines) - 1, follow=True)

    def clear(self) -> None:
        self._queued.clear()
        self._lines.clear()
        self._ids.clear()
        self._asked, self._can_page = None, True
        self.document.show_head(None)
        self._render_all(follow=True)

    # --- older history ----------------------------------------------------------

    @property
    def at_beginning(self) -> bool:
        """The first line shown is the room's first (the marker says so)."""
        return self.document.head

    def want_older(self) -> None:
        """The reader is at the top: ask once for the page before the oldest line shown."""
        if self._asked is not None or not self._can_page or self.document.head or self.render_pending:
            return
        first = next((line.key.chat_id for line in self._lines if isinstance(line.key, Delivered)), None)
        if first is None:
            return
        if first <= 1:  # ids start at 1
            self._show_beginning()
            return
        self._asked = first
        self.older_wanted.emit(first)

    def add_older(self, before: int, lines: list[Line], more: bool) -> None:
        """The page asked for with ``before``: shown above the first line, the reader's place kept."""
        if before != self._asked:
            return  # asked for another view of the room (before a reconnect or a clear)
        self._asked = None
        new = [
            line
            for line in lines
            if isinstance(line.key, Delivered)
            and line.key.chat_id < before
            and line.key.chat_id not in self._ids
        ]
        layout = self.browser.document().documentLayout()
        bar = self.browser.verticalScrollBar()
        value, top = bar.value(), layout.blockBoundingRect(self.document.block(0)).top()
        with self.document.change():
            self._lines[:0] = new
            self._ids.update(line.key.chat_id for line in new if isinstance(line.key, Delivered))
            for at in range(len(new)):
                self.document.insert(at)
                self._write(at)
            if new and len(new) < len(self._lines):
                self._write(len(new))  # the old first line may now go under the page's last header
            if not more:
                self.document.show_head(beginning())
        settle(self.browser.document())
        bar.setValue(value + round(layout.blockBoundingRect(self.document.block(len(new))).top() - top))

    def older_unavailable(self, before: int, for_good: bool) -> None:
        """No page came (refused, lost); ``for_good``: this server cannot page back."""
        if before == self._asked:
            self._asked = None
        if for_good:
            self._can_page = False

    def _show_beginning(self) -> None:
        with self._keeping_place(self.at_end()):
            self.document.show_head(beginning())

    def _drop_oldest(self, count: int) -> None:
        """Forget the first ``count`` lines (the caller updates the document): they can be paged in again."""
        self._ids.difference_update(
            line.key.chat_id for line in self._lines[:count] if isinstance(line.key, Delivered)
        )
        del self._lines[:count]
        if count:
            self.document.show_head(None)

    def lines(self) -> list[Line]:
        """Every line, drawn or waiting for the next turn of the loop (``SLICE_S``)."""
        return self._lines + [line for line, _ in self._queued]

    def plain_text(self) -> str:
        """What the view shows, as text: without the invisible isolates around names and bodies."""
        return self.browser.toPlainText().translate(_NO_ISOLATES)

    def at_end(self) -> bool:
        bar = self.browser.verticalScrollBar()
        return bar.value() >= bar.maximum() - 4

    def scroll_to_end(self) -> None:
        bar = self.browser.verticalScrollBar()
        bar.setValue(bar.maximum())
        self.jump.hide()

    def _place(self, at: int, follow: bool) -> None:
        """Show the new ``_lines[at]``; the line after it may now share its header."""
        with self._keeping_place(follow):
            with self.document.change():
                self.document.insert(at)
                self._write(at)
                if at + 1 < len(self._lines):
                    self._write(at + 1)
            excess = len(self._lines) - MAX_SHOWN
            if excess >= TRIM_STEP and follow:
                with self.document.change():
                    self._drop_oldest(excess)
                    self.document.remove(0, excess)
                    self._write(0)

    def _unplace(self, at: int) -> None:
        """``_lines[at]`` is gone from the model: take its block away, regroup the next."""
        with self.document.change():
            self.document.remove(at)
            if at < len(self._lines):
                self._write(at)

    def _render_all(self, follow: bool) -> None:
        """Write every block again: a history batch, a new palette, a new name."""
        self.render_pending = False
        with self._keeping_place(follow):
            self._drop_oldest(max(0, len(self._lines) - MAX_SHOWN))
            self.document.reset([(line, self._grouped(i), self._me) for i, line in enumerate(self._lines)])

    def _write(self, at: int) -> None:
        self.document.write(at, self._lines[at], self._grouped(at), self._me)

    def _grouped(self, at: int) -> bool:
        """Whether ``_lines[at]`` goes under the previous line's header (same sender, soon after)."""
        if at == 0:
            return False
        previous, line = self._lines[at - 1], self._lines[at]
        return (
            previous.username == line.username
            and previous.own == line.own
            and line.ts_s - previous.ts_s < GROUP_S
        )

    @contextmanager
    def _keeping_place(self, follow: bool) -> Iterator[None]:
        """Follow the end (we were there, or it is ours), else keep the reader's place."""
        bar = self.browser.verticalScrollBar()
        old = bar.value()
        yield
        if follow:
            self.scroll_to_end()
        else:
            bar.setValue(old)
            self.jump.show()

    def _scrolled(self, _value: int) -> None:
        if self.at_end():
            self.jump.hide()

    def _scroll_action(self, _action: int) -> None:
        """The reader moved the bar (wheel, keys, drag): at the top, older lines are wanted."""
        bar = self.browser.verticalScrollBar()
        if bar.sliderPosition() <= bar.minimum():
            QTimer.singleShot(0, self.want_older)  # once the bar has its new value

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
        self.count.setToolTip(self.tr("Too long to send: shorten it") if over else "")
        self.count.style().polish(self.count)
        try:
            clean_chat(text, limits.MAX_CHAT_CHARS)
            self.send_button.setEnabled(True)
        except ValueError:
            self.send_button.setEnabled(False)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        """A new palette (the system went dark): the formats' colours come from it, so rewrite."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.document.restyle(self.browser.palette())
            if self._lines:
                self._render_all(follow=self.at_end())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """A reader at the end stays there when the window is resized; a wheel up at the top pages back."""
        if event.type() == QEvent.Type.Resize and self.at_end():
            self.scroll_to_end()
        elif isinstance(event, QWheelEvent) and event.angleDelta().y() > 0:
            bar = self.browser.verticalScrollBar()
            if bar.value() <= bar.minimum():
                self.want_older()
        return False


def settle(document: QTextDocument) -> None:
    """Lay the whole document out now (Qt does a large one in steps on a timer), so sizes are final."""
    document.documentLayout().blockBoundingRect(document.lastBlock())


def _after(key: ChatKey, chat_id: int) -> bool:
    """Whether a line under ``key`` belongs after a delivered ``chat_id``: pending ones stay last."""
    match key:
        case Delivered():
            return key.chat_id > chat_id
        case Pending():
            return True
        case _:
            assert_never(key)
