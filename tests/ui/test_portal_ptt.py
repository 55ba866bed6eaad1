"""Push-to-talk through the XDG GlobalShortcuts portal, on a private session bus.

A real portal needs xdg-desktop-portal with a desktop's backend (KDE's or
GNOME's) inside that desktop's Wayland session, which cannot run here
headless; ``PortalStandIn`` takes its place on the bus, speaking exactly the
interface the published spec gives. The app's side is all real: its D-Bus
connection, its requests, its handling of the answers, its window.
"""

import logging
from collections.abc import Iterator

import pytest
from jeepney import DBusAddress, HeaderFields, Message, new_signal
from jeepney.bus_messages import message_bus
from jeepney.wrappers import new_error, new_method_return
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from client_desktop.engine.uplink import TalkMode
from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.dbus_link import BusLink
from client_desktop.ui.global_ptt import GlobalPushToTalk, focus_only
from client_desktop.ui.portal_shortcuts import NO_PORTAL, REFUSED, preferred_trigger, request_path
from client_desktop.ui.window import MainWindow

from .conftest import Harness
from .dbus_session import BusDaemon, bus_daemon, session_bus
from .test_global_ptt import choose, ptt_calls
from .xserver import XServer, xserver

__all__ = ["bus_daemon", "session_bus", "xserver"]  # the fixtures, used by name

DESKTOP = "/org/freedesktop/portal/desktop"
SHORTCUTS = "org.freedesktop.portal.GlobalShortcuts"

Shortcut = tuple[str, dict[str, tuple[str, object]]]


class PortalStandIn:
    """Stands in for xdg-desktop-portal: ``org.freedesktop.portal.Desktop`` at ``DESKTOP``.

    GlobalShortcuts' CreateSession and BindShortcuts (all the app calls) each return
    a Request object's path (``…/request/SENDER/handle_token``) and then emit
    that Request's ``Response``; Activated and Deactivated come when the test
    presses; the Session's Close and the host Registry's Register are there
    too. ``answer`` is what the person says to the binding (0 yes, 1 no).
    """

    def __init__(self, address: str, answer: int = 0, shortcuts: bool = True) -> None:
        self.bus = BusLink(address)
        self.bus.serve(self._call)
        self.answer = answer
        self.shortcuts = shortcuts
        self.named = False
        self.registered: list[str] = []
        self.bound: list[tuple[str, list[Shortcut]]] = []
        self.sessions: dict[str, str] = {}
        """Session path to the unique name of its owner."""
        self.closed: list[str] = []
        self.bus.call(message_bus.RequestName("org.freedesktop.portal.Desktop"), self._name)

    def _name(self, reply: Message) -> None:
        self.named = reply.body == (1,)  # DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER

    def _call(self, msg: Message) -> None:
        fields = msg.header.fields
        sender: str = fields[HeaderFields.sender]
        member = (fields.get(HeaderFields.interface), fields[HeaderFields.member])
        if member == ("org.freedesktop.host.portal.Registry", "Register"):
            self.registered.append(msg.body[0])
            self.bus.call(new_method_return(msg))
        elif member == (SHORTCUTS, "CreateSession") and self.shortcuts:
            (options,) = msg.body
            session = f"{DESKTOP}/session/{_sender_part(sender)}/{options['session_handle_token'][1]}"
            self.sessions[session] = sender
            self._respond(msg, options, 0, {"session_handle": ("o", session)})
        elif member == (SHORTCUTS, "BindShortcuts") and self.shortcuts:
            session, shortcuts, _parent_window, options = msg.body
            self.bound.append((session, shortcuts))
            granted = [
                (name, {"trigger_description": props["preferred_trigger"]}) for name, props in shortcuts
            ]
            self._respond(
                msg, options, self.answer, {"shortcuts": ("a(sa{sv})", granted)} if self.answer == 0 else {}
            )
        elif member == ("org.freedesktop.portal.Session", "Close"):
            self.closed.append(fields[HeaderFields.path])
            self.bus.call(new_method_return(msg))
        else:
            self.bus.call(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"no {member}",)))

    def _respond(
        self, call: Message, options: dict[str, tuple[str, str]], code: int, results: object
    ) -> None:
        sender = call.header.fields[HeaderFields.sender]
        request = f"{DESKTOP}/request/{_sender_part(sender)}/{options['handle_token'][1]}"
        self.bus.call(new_method_return(call, "o", (request,)))
        response = new_signal(
            DBusAddress(request, interface="org.freedesktop.portal.Request"),
            "Response",
            "ua{sv}",
            (code, results),
        )
        self._send_to(sender, response)

    def press(self, down: bool) -> None:
        """The person presses (or lets go of) the bound shortcut, whichever window has focus."""
        (session, shortcuts) = self.bound[-1]
        signal = new_signal(
            DBusAddress(DESKTOP, interface=SHORTCUTS),
            "Activated" if down else "Deactivated",
            "osta{sv}",
            (session, shortcuts[0][0], 12345, {}),
        )
        self._send_to(self.sessions[session], signal)

    def _send_to(self, unique_name: str, signal: Message) -> None:
        """As the portal does: a signal meant for one client is addressed to it."""
        signal.header.fields[HeaderFields.destination] = unique_name
        self.bus.call(signal)

    def close(self) -> None:
        self.bus.close()


def _sender_part(unique_name: str) -> str:
    return unique_name.removeprefix(":").replace(".", "_")


@pytest.fixture
def portal(qtbot: QtBot, session_bus: str) -> Iterator[PortalStandIn]:
    standin = PortalStandIn(session_bus)
    qtbot.waitUntil(lambda: standin.named)
    yield standin
    standin.close()


@pytest.fixture
def wayland(monkeypatch: pytest.MonkeyPatch) -> None:
    """No X server to ask: the portal is the way."""
    monkeypatch.delenv("DISPLAY", raising=False)


def portal_window(qtbot: QtBot, harness: Harness, bus: str) -> MainWindow:
    window = MainWindow(harness.bridge, harness.prefs, global_ptt=GlobalPushToTalk(bus_address=bus))
    qtbot.addWidget(window)
    window.show()
    choose(window, TalkMode.PUSH_TO_TALK, "F8")
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    return window


def test_the_bound_shortcut_moves_push_to_talk(
    qtbot: QtBot, harness: Harness, portal: PortalStandIn, session_bus: str, wayland: None
) -> None:
    window = portal_window(qtbot, harness, session_bus)
    qtbot.waitUntil(lambda: len(portal.bound) == 1)
    session, shortcuts = portal.bound[0]
    assert shortcuts == [
        ("push-to-talk", {"description": ("s", "Push to talk"), "preferred_trigger": ("s", "F8")})
    ]
    assert portal.registered == ["voxroom"]
    assert window.global_ptt.watching == "F8"

    portal.press(True)
    qtbot.waitUntil(lambda: ptt_calls(harness) == [True])
    portal.press(False)
    qtbot.waitUntil(lambda: ptt_calls(harness) == [True, False])
    assert window.global_ptt.limitation == ""

    harness.bridge.leave()  # leaving the room lets the binding go
    qtbot.waitUntil(lambda: portal.closed == [session])


def test_a_held_key_is_let_go_when_the_bus_goes_away(
    qtbot: QtBot, harness: Harness, portal: PortalStandIn, bus_daemon: BusDaemon, wayland: None
) -> None:
    """No Deactivated can come any more: the microphone must not stay open."""
    window = portal_window(qtbot, harness, bus_daemon.address)
    qtbot.waitUntil(lambda: len(portal.bound) == 1)
    portal.press(True)
    qtbot.waitUntil(lambda: ptt_calls(harness) == [True])
    bus_daemon.stop()
    qtbot.waitUntil(lambda: ptt_calls(harness) == [True, False])
    assert window.global_ptt.limitation == focus_only()


def test_a_refusal_is_said_and_the_key_still_works_in_the_window(
    qtbot: QtBot,
    harness: Harness,
    portal: PortalStandIn,
    session_bus: str,
    wayland: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "voxroom.ui.keys")
    portal.answer = 1
    window = portal_window(qtbot, harness, session_bus)
    qtbot.waitUntil(lambda: window.global_ptt.limitation != "")
    assert window.global_ptt.limitation == focus_only()
    assert window.room.notice.label.text() == focus_only()
    assert f"{REFUSED} (response 1)" in caplog.text
    assert window.global_ptt.watching is None

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(
            window.room.chat.composer, QKeyEvent(kind, Qt.Key.Key_F8, Qt.KeyboardModifier.NoModifier)
        )
    assert ptt_calls(harness) == [True, False]


@pytest.mark.parametrize("desktop_portal", [True, False], ids=["interface-missing", "no-portal"])
def test_no_portal_is_said(
    qtbot: QtBot,
    harness: Harness,
    session_bus: str,
    wayland: None,
    desktop_portal: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A portal without GlobalShortcuts (an older desktop), or no portal on the bus at all."""
    caplog.set_level(logging.INFO, "voxroom.ui.keys")
    standin = PortalStandIn(session_bus, shortcuts=False) if desktop_portal else None
    try:
        if standin is not None:
            qtbot.waitUntil(lambda: standin.named)
        window = portal_window(qtbot, harness, session_bus)
        qtbot.waitUntil(lambda: window.global_ptt.limitation == focus_only())
        assert window.global_ptt.watching is None
        assert NO_PORTAL in caplog.text
    finally:
        if standin is not None:
            standin.close()


def test_preferred_triggers_in_the_shortcuts_format() -> None:
    assert preferred_trigger("F8") == "F8"
    assert preferred_trigger("Ctrl+Shift+F1") == "CTRL+SHIFT+F1"
    assert preferred_trigger("Alt+,") == "ALT+comma"
    assert preferred_trigger("Meta+A") == "LOGO+a"


def test_request_paths_follow_the_sender() -> None:
    assert request_path(":1.42", "voxroom_7") == "/org/freedesktop/portal/desktop/request/1_42/voxroom_7"


@pytest.mark.parametrize("platform", ["wayland", "xcb"])
def test_a_native_wayland_app_goes_to_the_portal_and_an_xwayland_one_to_x11(
    qtbot: QtBot,
    portal: PortalStandIn,
    session_bus: str,
    xserver: XServer,
    monkeypatch: pytest.MonkeyPatch,
    platform: str,
) -> None:
    """A Wayland client cannot ask the X server (XWayland's, here Xvfb) for keys; an app under
    XWayland (platform xcb) asks it, as on X11. Qt's platform is offscreen in tests, so its name
    is what the test says."""
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("DISPLAY", xserver.display)
    monkeypatch.setattr(QGuiApplication, "platformName", staticmethod(lambda: platform))
    watcher = GlobalPushToTalk(bus_address=session_bus)
    try:
        watcher.watch("F8")
        if platform == "wayland":
            qtbot.waitUntil(lambda: len(portal.bound) == 1)
        else:
            seen: list[bool] = []
            watcher.changed.connect(seen.append)
            xserver.xdotool("keydown", "F8")
            qtbot.waitUntil(lambda: seen == [True])
            xserver.xdotool("keyup", "F8")
            assert portal.bound == []
    finally:
        watcher.close()
