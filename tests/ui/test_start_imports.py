"""The app starts with what the login window needs: no call stack, no desktop links, no room view.

numpy, PyAV, aiortc, livekit, sounddevice and websockets were half of the
start-up time (docs/benchmarks.md, the desktop app's start). The app loads
them on a thread once its window is painted; importing ``client_desktop.app``
must not. python-xlib and jeepney (global push-to-talk, desktop
notifications) wait for the window too, or for the key's first watch. The
room view and the settings dialog (their modules and widgets) are built at
their first use, the name tables (homoglyph's data) and the package
metadata at theirs, and QtNetwork (the listener for other launches,
hosting's addresses) once the window is painted or when first asked. The
window reads the application's keys only in push-to-talk. Each import check
runs in a fresh interpreter, where nothing else has imported them yet.
"""

import subprocess
import sys

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from client_desktop.engine import events
from client_desktop.engine.shapes import AudioOptions, TalkMode
from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.preferences import AudioSettings
from client_desktop.ui.window import MainWindow

from .conftest import Harness, open_window

CALL_STACK = {"numpy", "av", "aiortc", "aioice", "livekit", "sounddevice", "websockets", "signaling_server"}
DESKTOP_LINKS = {"Xlib", "jeepney"}
ON_FIRST_USE = {
    "client_desktop.ui.room",
    "client_desktop.ui.chat_view",
    "client_desktop.ui.chat_document",
    "client_desktop.ui.users_panel",
    "client_desktop.ui.call_bar",
    "client_desktop.ui.moderation",
    "client_desktop.ui.announce",
    "client_desktop.ui.settings",
    "client_desktop.ui.driver",
    "homoglyph",
    "importlib.metadata",
    "PySide6.QtNetwork",
}
WATCHED = CALL_STACK | DESKTOP_LINKS | ON_FIRST_USE


def loaded_after(statements: str) -> set[str]:
    """Which of ``WATCHED`` (packages, or modules by their full name) ``statements`` load."""
    probe = f"import sys; {statements}; print(*sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    names = set(out.stdout.split())
    return (names | {name.split(".")[0] for name in names}) & WATCHED


def test_importing_the_app_loads_no_part_of_the_call_stack_nor_what_the_login_window_does_not_show() -> None:
    assert loaded_after("import client_desktop.app") == set()


def test_the_engine_loader_loads_what_a_call_needs() -> None:
    loaded = loaded_after("import client_desktop.app as app; app._load_engine()")
    assert {"numpy", "av", "aiortc", "livekit", "websockets"} <= loaded


def test_the_room_view_is_built_at_the_first_join(qtbot: QtBot, harness: Harness) -> None:
    window = open_window(qtbot, harness)
    made: list[bool] = []
    window.room_made.connect(lambda: made.append(True))
    assert window.stack.count() == 1  # the login form only
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    assert made == [True]
    assert window.stack.currentWidget() is window.room
    assert window.room.title.text() == "lobby"
    assert window.room.users.peer(harness.bridge.me.id) is not None  # type: ignore[union-attr]


def test_a_room_entered_after_a_failed_one_does_not_say_connected_again(
    window: MainWindow, harness: Harness
) -> None:
    """The window enters the room before the room's own ``joined`` slot runs (it is built later)."""
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    harness.engine.emit(events.ConnectionFailed(events.FailureCode.SUPERSEDED, "replaced"))
    assert window.room.status.isVisible()
    harness.bridge.leave()
    harness.bridge.join(JoinRequest("ws://h:1/ws", "attic", "alice"))
    assert window.room.title.text() == "attic"
    assert not window.room.status.isVisible()


def test_a_remembered_push_to_talk_reads_the_key_from_the_start(qtbot: QtBot, harness: Harness) -> None:
    harness.bridge.settings = AudioSettings(AudioOptions(talk_mode=TalkMode.PUSH_TO_TALK), ptt_key="F8")
    window = open_window(qtbot, harness)
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        key = QKeyEvent(kind, Qt.Key.Key_F8, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(window.room.chat.composer, key)
    assert [c for c in harness.engine.calls if c[0] == "ptt"] == [("ptt", True), ("ptt", False)]
