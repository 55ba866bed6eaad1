"""Notifications through the desktop's notification server (``org.freedesktop.Notifications``).

The first choice for a mention, before the tray's balloon: it needs no tray
(GNOME has none), clicking it brings the window back (its ``default``
action), and Qt's own way to the server is QtDBus, which the bundle leaves
out, so a balloon there is Qt's own small window instead.

The body is a peer's text. The spec lets a server read the body as markup
when it lists ``body-markup`` among its capabilities (dunst, GNOME, KDE and
mako do): there it is escaped, elsewhere sent as written, so it shows
literally either way. The summary is plain text by the spec.

Spec: https://specifications.freedesktop.org/notification-spec/latest/
"""

import html
import logging

from jeepney import DBusAddress, MatchRule, Message, new_method_call
from jeepney.wrappers import DBusErrorResponse, unwrap_msg
from PySide6.QtCore import QObject, Signal

from .dbus_link import BusLink, BusUnavailableError

log = logging.getLogger("voxroom.ui.notify")

NOTIFICATIONS = DBusAddress(
    "/org/freedesktop/Notifications", "org.freedesktop.Notifications", "org.freedesktop.Notifications"
)
APP_NAME = "Voxroom"
ICON = "voxroom"
"""The icon installed with our desktop entry, by name."""
DEFAULT_ACTION = "default"
"""The action a click on the notification itself invokes."""


class DesktopNotifier(QObject):
    """Shows notifications once the server has answered (``available``); ``clicked`` when one of
    ours is clicked."""

    clicked = Signal()

    def __init__(self, bus: BusLink, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus = bus
        self.available = False
        """Whether a server answered; until it does (or where none runs) nothing is sent."""
        self._markup = False
        self._ours: set[int] = set()
        for member, handler in (("ActionInvoked", self._action), ("NotificationClosed", self._closed)):
            rule = MatchRule(type="signal", interface=NOTIFICATIONS.interface, member=member)
            bus.subscribe(rule, handler)
        bus.call(new_method_call(NOTIFICATIONS, "GetCapabilities"), self._capabilities)

    def _capabilities(self, msg: Message) -> None:
        try:
            (capabilities,) = unwrap_msg(msg)
        except DBusErrorResponse as exc:
            log.info("no notification server: %s", exc)
            return
        self.available = True
        self._markup = "body-markup" in capabilities

    def notify(self, summary: str, body: str) -> str:
        """Show ``summary`` and ``body`` (both plain text); the body as sent, escaped or not."""
        sent = html.escape(body, quote=False) if self._markup else body
        message = new_method_call(
            NOTIFICATIONS,
            "Notify",
            "susssasa{sv}i",
            (APP_NAME, 0, ICON, summary, sent, [DEFAULT_ACTION, self.tr("Show Voxroom")], {}, -1),
        )
        self._bus.call(message, self._shown)
        return sent

    def _shown(self, msg: Message) -> None:
        try:
            (notification_id,) = unwrap_msg(msg)
        except DBusErrorResponse as exc:
            log.info("the notification server refused: %s", exc)
            return
        self._ours.add(notification_id)

    def _action(self, msg: Message) -> None:
        notification_id, action = msg.body
        if notification_id in self._ours and action == DEFAULT_ACTION:
            self.clicked.emit()

    def _closed(self, msg: Message) -> None:
        self._ours.discard(msg.body[0])


def session_notifier(parent: QObject | None = None) -> DesktopNotifier | None:
    """A notifier on this login's session bus, or None where there is no bus."""
    try:
        bus = BusLink(parent=parent)
    except BusUnavailableError as exc:
        log.info("no desktop notifications: %s", exc)
        return None
    return DesktopNotifier(bus, parent)
