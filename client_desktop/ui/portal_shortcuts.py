"""Push-to-talk on a Wayland desktop, through the XDG GlobalShortcuts portal.

Wayland gives no client the keys of another's window; the desktop binds a
shortcut for us instead, after asking the person, and tells us when it goes
down and up (``Activated``, ``Deactivated``). The portal answers each request
later: a call returns the path of a Request object, whose ``Response``
signal carries the outcome (0 granted, 1 refused by the person, 2 failed).
We build that path ourselves from our ``handle_token`` and listen on it
before calling, as the portal's documentation advises, so a fast answer
cannot be missed.

Spec: https://flatpak.github.io/xdg-desktop-portal/docs/doc-org.freedesktop.portal.GlobalShortcuts.html
"""

import logging
from collections.abc import Callable
from itertools import count

from jeepney import DBusAddress, HeaderFields, MatchRule, Message, new_method_call
from jeepney.wrappers import DBusErrorResponse, unwrap_msg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence

from .dbus_link import BusLink
from .x11_key import keysym_name

log = logging.getLogger("voxroom.ui.keys")

PORTAL_BUS_NAME = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
SHORTCUTS = DBusAddress(PORTAL_PATH, PORTAL_BUS_NAME, "org.freedesktop.portal.GlobalShortcuts")
REGISTRY = DBusAddress(PORTAL_PATH, PORTAL_BUS_NAME, "org.freedesktop.host.portal.Registry")
REQUEST_INTERFACE = "org.freedesktop.portal.Request"
SESSION_INTERFACE = "org.freedesktop.portal.Session"
APP_ID = "voxroom"
"""Our desktop entry's name, which the portal shows when it asks the person (and keeps the binding under)."""
SHORTCUT_ID = "push-to-talk"
NO_PORTAL = "the desktop has no GlobalShortcuts portal"
REFUSED = "the person or the desktop refused the shortcut"

_tokens = count(1)

Results = dict[str, tuple[str, object]]
"""A portal's ``a{sv}``: each value with its D-Bus signature, as jeepney reads and writes variants."""

_MODIFIERS = (
    (Qt.KeyboardModifier.ControlModifier, "CTRL"),
    (Qt.KeyboardModifier.AltModifier, "ALT"),
    (Qt.KeyboardModifier.ShiftModifier, "SHIFT"),
    (Qt.KeyboardModifier.MetaModifier, "LOGO"),
)


def preferred_trigger(key: str) -> str:
    """A Qt key name as the XDG shortcuts format writes it: ``Ctrl+F1`` is ``CTRL+F1``.

    Raises:
        KeyUnavailableError: the name is not a key.
    """
    name = keysym_name(key)
    held = QKeySequence(key)[0].keyboardModifiers()  # type: ignore[index]  # stubs omit operator[]
    return "+".join([word for modifier, word in _MODIFIERS if held & modifier] + [name])


def request_path(unique_name: str, token: str) -> str:
    """Where the portal puts the Request for our ``handle_token``: the sender without ``:``, dots as ``_``."""
    sender = unique_name.removeprefix(":").replace(".", "_")
    return f"{PORTAL_PATH}/request/{sender}/{token}"


class PortalKey(QObject):
    """One key bound through the portal: ``changed(bool)`` as it goes down and up, ``refused(str)``
    when the desktop has no such portal or the person or the desktop says no."""

    changed = Signal(bool)
    refused = Signal(str)

    def __init__(self, key: str, bus: BusLink, parent: QObject | None = None) -> None:
        """Ask for ``key`` at once; the answer comes later, as a signal.

        Raises:
            KeyUnavailableError: the name is not a key.
        """
        super().__init__(parent)
        self._bus = bus
        self._trigger = preferred_trigger(key)
        self._session: str | None = None
        self._pending: list[MatchRule] = []
        self.down = False
        self._key_rules = [
            MatchRule(type="signal", interface=SHORTCUTS.interface, member=member, path=PORTAL_PATH)
            for member in ("Activated", "Deactivated")
        ]
        for rule in self._key_rules:
            bus.subscribe(rule, self._key)
        bus.closed.connect(self._lost)
        # A host app (not a Flatpak) names itself before its first portal call; older portals lack this.
        # Its answer is not awaited: an error only says this portal predates it.
        bus.call(new_method_call(REGISTRY, "Register", "sa{sv}", (APP_ID, {})))
        self._on_response: Callable[[Results], None] = self._created
        token = f"voxroom_session_{next(_tokens)}"
        self._request(
            "CreateSession", "a{sv}", lambda options: ({**options, "session_handle_token": ("s", token)},)
        )

    def _request(self, method: str, signature: str, body: Callable[[Results], tuple[object, ...]]) -> None:
        """Call ``method``, its ``handle_token`` in the options handed to ``body``; await its Response."""
        token = f"voxroom_{next(_tokens)}"
        rule = MatchRule(
            type="signal",
            interface=REQUEST_INTERFACE,
            member="Response",
            path=request_path(self._bus.unique_name, token),
        )
        self._listen(rule)
        self._bus.call(
            new_method_call(SHORTCUTS, method, signature, body({"handle_token": ("s", token)})), self._sent
        )

    def _listen(self, rule: MatchRule) -> None:
        self._pending.append(rule)
        self._bus.subscribe(rule, self._response)

    def _sent(self, msg: Message) -> None:
        try:
            (handle,) = unwrap_msg(msg)
        except DBusErrorResponse as exc:
            self._refuse(f"{NO_PORTAL} ({exc})")
            return
        if all(rule.header_fields["path"] != handle for rule in self._pending):  # a portal before 0.9
            self._listen(
                MatchRule(type="signal", interface=REQUEST_INTERFACE, member="Response", path=handle)
            )

    def _response(self, msg: Message) -> None:
        for rule in self._pending:
            self._bus.unsubscribe(rule)
        self._pending = []
        code, results = msg.body
        if code != 0:
            self._refuse(f"{REFUSED} (response {code})")
            return
        self._on_response(results)

    def _created(self, results: Results) -> None:
        self._session = str(results["session_handle"][1])
        shortcut = (
            SHORTCUT_ID,
            {"description": ("s", self.tr("Push to talk")), "preferred_trigger": ("s", self._trigger)},
        )
        self._on_response = self._bound
        self._request(
            "BindShortcuts", "oa(sa{sv})sa{sv}", lambda options: (self._session, [shortcut], "", options)
        )

    def _bound(self, results: Results) -> None:
        bound = results.get("shortcuts", ("a(sa{sv})", []))[1]
        log.info("push-to-talk bound through the portal: %r", bound)

    def _key(self, msg: Message) -> None:
        session, shortcut_id, _timestamp, _options = msg.body
        if session == self._session and shortcut_id == SHORTCUT_ID:
            self._set(msg.header.fields[HeaderFields.member] == "Activated")

    def _set(self, down: bool) -> None:
        if down != self.down:
            self.down = down
            self.changed.emit(down)

    def _lost(self) -> None:
        """The bus went away (the session ends, or dbus crashed): no Deactivated will come."""
        self._refuse("the session bus closed the connection")

    def _refuse(self, why: str) -> None:
        self.close()
        self.refused.emit(why)

    def close(self) -> None:
        """End the portal session and stop listening; a held key counts as released."""
        self._set(False)
        if not self._bus.is_open:
            return
        for rule in self._key_rules + self._pending:
            self._bus.unsubscribe(rule)
        self._key_rules, self._pending = [], []
        if self._session is not None:
            session = DBusAddress(self._session, PORTAL_BUS_NAME, SESSION_INTERFACE)
            self._bus.call(new_method_call(session, "Close"))
            self._session = None
