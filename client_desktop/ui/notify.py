"""A desktop notification when someone mentions us while the window is not in front.

A person in a game does not watch the chat; a mention is the one message
worth interrupting them for. Never for our own messages or the history,
never while the window is active (they see it), and at most a few a minute
(``MentionBudget``), so a peer flooding mentions cannot flood the desktop.

It goes to the desktop's notification server when one answers
(``DesktopNotifier``, which escapes the body only for a server that reads
markup), else through the tray's balloon. The text is a peer's: it goes out
as plain text. Through the tray, Qt does not say whether the server reads
markup (the freedesktop spec's ``body-markup``, which GNOME, KDE, dunst and
mako have), so on Linux ``&``, ``<`` and ``>`` are escaped there; a server
without markup shows them as written entities, which is ugly but never lets
a peer's ``<img src=…>`` load a file.

The app reaches the notification server (``reach_desktop``) once its window
is up: jeepney's import and the bus's handshake are no part of the start.
"""

import html
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from ..engine import events
from .bridge import Bridge
from .markdown import mentions, tame
from .window import MainWindow

if TYPE_CHECKING:
    from .desktop_notify import DesktopNotifier

NOTIFY_BURST = 3
"""Notifications allowed within ``NOTIFY_WINDOW_S``."""
NOTIFY_WINDOW_S = 60.0
MAX_BODY_CHARS = 200
"""A notification is a glimpse; the chat has the rest."""

Clock = Callable[[], float]


class MentionBudget:
    """At most ``burst`` notifications in any ``window_s`` seconds; the clock is passed in."""

    def __init__(self, burst: int = NOTIFY_BURST, window_s: float = NOTIFY_WINDOW_S) -> None:
        self._burst = burst
        self._window_s = window_s
        self._sent: deque[float] = deque()

    def take(self, now: float) -> bool:
        """Whether one more may go out at ``now`` (and count it if so)."""
        while self._sent and now - self._sent[0] >= self._window_s:
            self._sent.popleft()
        if len(self._sent) >= self._burst:
            return False
        self._sent.append(now)
        return True


def worth_notifying(event: events.ChatReceived, me: str, window_active: bool) -> bool:
    """A live message from someone else that names ``me`` while the window is not in front."""
    return not event.own and not event.from_history and not window_active and mentions(event.chat.text, me)


def glimpse(text: str) -> str:
    """A peer's text for a notification: short and tamed (still plain text, not escaped)."""
    text = tame(text)
    if len(text) > MAX_BODY_CHARS:
        text = text[: MAX_BODY_CHARS - 1] + "…"
    return text


def plain_body(text: str) -> str:
    """A peer's text for the tray's balloon: a glimpse, never markup."""
    text = glimpse(text)
    return html.escape(text, quote=False) if sys.platform.startswith("linux") else text


class MentionNotifier(QObject):
    """Shows a mention on the desktop, else through the tray's balloon; with neither, nothing.
    Clicking it brings the window back."""

    notified = Signal(str, str)  # title, body: what was shown

    def __init__(
        self,
        bridge: Bridge,
        window: MainWindow,
        tray: QSystemTrayIcon | None,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(window)
        self._bridge = bridge
        self._window = window
        self._tray = tray
        self._desktop: DesktopNotifier | None = None
        self._clock = clock
        self._budget = MentionBudget()
        bridge.chat_received.connect(self._chat)
        if tray is not None:
            tray.messageClicked.connect(window.bring_back)

    def use_desktop(self, desktop: "DesktopNotifier") -> None:
        """Show mentions through ``desktop`` from now on, once it has answered."""
        self._desktop = desktop
        desktop.clicked.connect(self._window.bring_back)

    def reach_desktop(self) -> "DesktopNotifier | None":
        """Use this login's notification server, if it has a session bus (a blocking handshake of
        up to a second with a bus that hangs: call it once the window is shown)."""
        from .desktop_notify import session_notifier

        desktop = session_notifier(self._window)
        if desktop is not None:
            self.use_desktop(desktop)
        return desktop

    def _chat(self, event: events.ChatReceived) -> None:
        me = self._bridge.me
        active = self._window.isVisible() and self._window.isActiveWindow()
        if me is None or not worth_notifying(event, me.username, active):
            return
        show = self._outlet()
        if show is None or not self._budget.take(self._clock()):
            return
        title = self.tr("{name} mentioned you").format(name=tame(event.chat.username))
        self.notified.emit(title, show(title, event.chat.text))

    def _outlet(self) -> Callable[[str, str], str] | None:
        """Where a notification can go now (the desktop's server, else the tray), or None.
        It takes the title and the peer's text and returns the body as shown."""
        desktop = self._desktop
        if desktop is not None and desktop.available:
            return lambda title, text: desktop.notify(title, glimpse(text))
        tray = self._tray
        if tray is not None and tray.isVisible():
            return lambda title, text: _balloon(tray, title, text)
        return None


def _balloon(tray: QSystemTrayIcon, title: str, text: str) -> str:
    body = plain_body(text)
    tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information)
    return body
