"""Spoken news for screen readers: a new message, someone joining or leaving.

Qt 6.8's announcement event asks the desktop's accessibility bridge (AT-SPI
on Linux) to speak a line without moving focus, politely: after what the
reader is saying now. ``announced`` repeats each line for tests and the
test driver, since no bridge is there to hear it offscreen.
"""

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QWidget

MAX_SPOKEN_CHARS = 300
"""A longer message is cut for speech (the chat shows it whole): a wall of text read aloud helps nobody."""


class Announcer(QObject):
    announced = Signal(str)

    def __init__(self, source: QWidget) -> None:
        super().__init__(source)
        self._source = source

    def say(self, text: str) -> None:
        if len(text) > MAX_SPOKEN_CHARS:
            text = text[: MAX_SPOKEN_CHARS - 1] + "…"
        event = QAccessibleAnnouncementEvent(self._source, text)
        event.setPoliteness(QAccessible.AnnouncementPoliteness.Polite)
        QAccessible.updateAccessibility(event)
        self.announced.emit(text)
