"""Push-to-talk while another program's window has focus, on a real X server (Xvfb) with xdotool."""

import pytest
from pytestqt.qtbot import QtBot

from client_desktop.engine.uplink import TalkMode
from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.global_ptt import GlobalPushToTalk, focus_only
from client_desktop.ui.window import MainWindow
from client_desktop.ui.x11_key import KeyUnavailableError, X11Key, keysym_for

from .conftest import Harness
from .xserver import XServer, xserver

__all__ = ["xserver"]  # the fixture, used by name


def choose(window: MainWindow, talk_mode: TalkMode, key: str = "F8") -> None:
    """As a person does: in the settings dialog."""
    dialog = window.open_settings()
    (dialog.ptt if talk_mode is TalkMode.PUSH_TO_TALK else dialog.vad).setChecked(True)
    dialog.key.setKeySequence(key)
    dialog.accept()


def ptt_calls(harness: Harness) -> list[object]:
    return [value for name, value in harness.engine.calls if name == "ptt"]


def test_the_key_is_seen_down_and_up_while_another_window_has_focus(
    qtbot: QtBot, harness: Harness, xserver: XServer
) -> None:
    window = MainWindow(harness.bridge, harness.prefs, global_ptt=GlobalPushToTalk(xserver.display))
    qtbot.addWidget(window)
    choose(window, TalkMode.PUSH_TO_TALK)
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    assert xserver.focused() == xserver.other_window  # not ours: the app is not even on this display

    xserver.xdotool("keydown", "a")  # another key: nothing happens
    xserver.xdotool("keyup", "a")
    xserver.xdotool("keydown", "F8")
    qtbot.waitUntil(lambda: ptt_calls(harness) == [True])
    assert window.global_ptt.limitation == ""
    xserver.xdotool("keyup", "F8")
    qtbot.waitUntil(lambda: ptt_calls(harness) == [True, False])
    assert xserver.focused() == xserver.other_window


def test_keys_are_not_watched_outside_a_room_or_push_to_talk(
    qtbot: QtBot, harness: Harness, xserver: XServer
) -> None:
    global_ptt = GlobalPushToTalk(xserver.display)
    window = MainWindow(harness.bridge, harness.prefs, global_ptt=global_ptt)
    qtbot.addWidget(window)
    choose(window, TalkMode.PUSH_TO_TALK)
    assert global_ptt.watching is None  # not in a room
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    assert global_ptt.watching == "F8"
    xserver.xdotool("keydown", "F8")
    qtbot.waitUntil(lambda: ptt_calls(harness) == [True])
    choose(window, TalkMode.VOICE_ACTIVITY)  # voice activity: stop, and the held key counts as released
    assert global_ptt.watching is None
    assert ptt_calls(harness) == [True, False]
    xserver.xdotool("keyup", "F8")


def test_a_key_and_a_release_seen_twice_move_push_to_talk_once(qtbot: QtBot, xserver: XServer) -> None:
    key = X11Key("F8", xserver.display)
    try:
        seen: list[bool] = []
        key.changed.connect(seen.append)
        for action in ("keydown", "keydown", "keyup", "keyup"):
            xserver.xdotool(action, "F8")
        qtbot.waitUntil(lambda: seen == [True, False])
        qtbot.wait(100)
        assert seen == [True, False]
    finally:
        key.close()


def test_no_display_means_focus_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    global_ptt = GlobalPushToTalk()
    assert global_ptt.limitation == focus_only()
    global_ptt.watch("F8")
    assert global_ptt.limitation == focus_only()


# python-xlib 0.33 leaves a failed connection's sockets unclosed (Xlib/support/unix_connect.py,
# _get_unix_socket and _get_tcp_socket): their ResourceWarning is its own, not ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_unreachable_display_is_said_in_words() -> None:
    with pytest.raises(KeyUnavailableError, match="no X11 display"):
        X11Key("F8", ":4242")


def test_keysyms_of_qt_key_names() -> None:
    assert keysym_for("F8") == 0xFFC5
    assert keysym_for("Space") == 0x20
    assert keysym_for("A") == ord("a")
    assert keysym_for("PgDown") == 0xFF56
    assert keysym_for("Ctrl+F1") == 0xFFBE  # a modifier is not required outside the window
    with pytest.raises(KeyUnavailableError):
        keysym_for("")
