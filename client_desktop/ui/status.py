"""Connection and audio notices above the chat: visible, never modal, never in the way.

``reconnecting`` counts down to the next attempt; ``failed`` offers a retry.
The chat stays usable throughout (messages typed meanwhile wait in the
engine's outbox and go out on reconnect).
"""

import math
from enum import Enum, StrEnum

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

CONNECTED_SHOWN_MS = 2500


class NoticeKind(StrEnum):
    """How much a notice matters; the style sheet colours its border by the value."""

    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class LinkState(Enum):
    """What the connection banner is showing."""

    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"


class Banner(QWidget):
    """One line of notice with an optional action button."""

    action = Signal()

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setObjectName("banner")
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # names and servers' reasons are never markup
        self.label.setWordWrap(True)
        self.label.setAccessibleName(name)
        self.button = QPushButton()
        self.button.clicked.connect(self.action)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        self.hide()

    def say(self, text: str, kind: NoticeKind = NoticeKind.INFO, button: str = "") -> None:
        self.label.setText(text)
        self.label.setProperty("kind", kind.value)
        self.label.style().polish(self.label)
        self.button.setText(button)
        self.button.setAccessibleName(button)
        self.button.setVisible(bool(button))
        self.show()


class ConnectionStatus(Banner):
    retry = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(QCoreApplication.translate("ConnectionStatus", "Connection status"), parent)
        self.state = LinkState.CONNECTED
        self._reason = ""
        self._left_s = 0.0
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self._count)
        self._clear = QTimer(self)
        self._clear.setSingleShot(True)
        self._clear.timeout.connect(self.hide)
        self.action.connect(self.retry)

    def connected(self) -> None:
        self._tick.stop()
        if self.state is not LinkState.CONNECTED:
            self.say(self.tr("Connected again."), NoticeKind.INFO)
            self._clear.start(CONNECTED_SHOWN_MS)
        self.state = LinkState.CONNECTED

    def fresh(self) -> None:
        """A room just entered: nothing shown, nothing counting down, connected until told otherwise.

        The window enters the room before the room's own ``joined`` slot runs
        (the room view is built at the first join, after the window's slots),
        so a banner left failed by the last room must not read as connected again.
        """
        self._tick.stop()
        self._clear.stop()
        self.state = LinkState.CONNECTED
        self.hide()

    def reconnecting(self, reason: str, retry_in_s: float) -> None:
        self.state = LinkState.RECONNECTING
        self._clear.stop()
        self._reason = reason
        self._left_s = retry_in_s
        self._show_countdown()
        self._tick.start()

    def failed(self, message: str) -> None:
        self.state = LinkState.FAILED
        self._tick.stop()
        self._clear.stop()
        self.say(self.tr("Disconnected: {reason}").format(reason=message), NoticeKind.ERROR, self.tr("Retry"))

    def _count(self) -> None:
        self._left_s = max(0.0, self._left_s - self._tick.interval() / 1000)
        self._show_countdown()

    def _show_countdown(self) -> None:
        said = (
            self.tr("Connection lost ({reason}); reconnecting in {seconds} s… You can keep typing.")
            if self._left_s > 0
            else self.tr("Connection lost ({reason}); reconnecting… You can keep typing.")
        )
        self.say(said.format(reason=self._reason, seconds=math.ceil(self._left_s)), NoticeKind.WARN)
