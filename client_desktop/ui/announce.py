"""Spoken news for screen readers: a new message, someone joining or leaving.

Qt 6.8's announcement event asks the desktop's accessibility bridge (AT-SPI
on Linux) to speak a line without moving focus, politely: after what the
reader is saying now. A busy room would queue a line per message, minutes
of speech behind the chat, so lines go through ``SpeechGate``: at most one
announcement a second; what came meanwhile is said together, several
messages as their count. ``announced`` repeats each announcement for
tests and the test driver, since no bridge is there to hear it offscreen.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QWidget

MAX_SPOKEN_CHARS = 300
"""A longer message is cut for speech (the chat shows it whole): a wall of text read aloud helps nobody."""

GAP_S = 1.0
"""The least time between two announcements."""


@dataclass
class SpeechGate:
    """Which lines to speak when: the clock is passed in, announcements come out."""

    count_words: Callable[[int], str]
    """Several messages said as their count ("12 new messages")."""
    gap_s: float = GAP_S
    _last_s: float | None = None
    _held: list[tuple[str, bool]] = field(default_factory=list)

    def offer(self, now_s: float, text: str, message: bool) -> str | None:
        """A new line: returned to be said now, or held (None) until ``due``."""
        if self.ready(now_s):
            self._last_s = now_s
            return text
        self._held.append((text, message))
        return None

    def ready(self, now_s: float) -> bool:
        """Whether a line offered now would be said at once."""
        return not self._held and (self._last_s is None or now_s - self._last_s >= self.gap_s)

    def wait_s(self, now_s: float) -> float | None:
        """How long until the held lines may be said (None: nothing is held)."""
        if not self._held or self._last_s is None:
            return None
        return max(0.0, self._last_s + self.gap_s - now_s)

    def due(self, now_s: float) -> str | None:
        """The held lines as one announcement, once the gap is over."""
        wait = self.wait_s(now_s)
        if wait is None or wait > 0:
            return None
        held, self._held = self._held, []
        self._last_s = now_s
        messages = sum(message for _, message in held)
        if messages <= 1:
            return "\n".join(text for text, _ in held)
        others = [text for text, message in held if not message]
        return "\n".join([*others, self.count_words(messages)])


class Announcer(QObject):
    announced = Signal(str)

    def __init__(self, source: QWidget, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(source)
        self._source = source
        self._clock = clock
        self._gate = SpeechGate(lambda n: self.tr("%n new messages", "", n))
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._flush)

    def say(self, text: str, message: bool = False) -> None:
        """Speak ``text`` (``message``: a chat message, counted when several come at once)."""
        now = self._clock()
        if (spoken := self._gate.offer(now, text, message)) is not None:
            self._speak(spoken)
        elif not self._timer.isActive():
            self._timer.start(round(1000 * (self._gate.wait_s(now) or 0.0)))

    def ready(self) -> bool:
        """Whether the next line would be said at once (the tests wait for it)."""
        return self._gate.ready(self._clock())

    def _flush(self) -> None:
        now = self._clock()
        if (spoken := self._gate.due(now)) is not None:
            self._speak(spoken)
        elif (wait := self._gate.wait_s(now)) is not None:
            self._timer.start(round(1000 * wait) + 1)

    def _speak(self, text: str) -> None:
        if len(text) > MAX_SPOKEN_CHARS:
            text = text[: MAX_SPOKEN_CHARS - 1] + "…"
        event = QAccessibleAnnouncementEvent(self._source, text)
        event.setPoliteness(QAccessible.AnnouncementPoliteness.Polite)
        QAccessible.updateAccessibility(event)
        self.announced.emit(text)
