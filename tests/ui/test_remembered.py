"""What the app remembers per server: each name's volume, and the last room."""

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtTest import QTest

from client_desktop.engine import events
from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.preferences import Preferences
from client_desktop.ui.window import MainWindow
from protocol import Peer

from .conftest import Harness
from .fakes import FakeEngine, peer


def join(harness: Harness, server: str = "ws://h:1/ws", room: str = "lobby", *others: Peer) -> FakeEngine:
    harness.peers = others
    harness.bridge.join(JoinRequest(server, room, "alice"))
    return harness.engine


def gains(engine: FakeEngine) -> list[object]:
    return [args for name, args in engine.calls if name == "gain"]


def test_a_volume_comes_back_when_the_name_does(window: MainWindow, harness: Harness) -> None:
    join(harness, "ws://h:1/ws", "lobby", peer("bob"))
    window.room.users.set_gain("id-bob", 0.5)
    window.room.calls.leave.click()

    again = join(harness, "ws://h:1/ws", "lobby", Peer("new-id", "Bob", False, False, True))
    assert gains(again) == [("new-id", 0.5)]  # the server's name rules: Bob is bob
    assert "volume 50%" in window.room.users.describe(Peer("new-id", "Bob", False, False, True))

    window.room.calls.leave.click()
    later = join(harness, "ws://H:1/ws/", "lobby")  # the same server, typed differently
    later.emit(events.PeerArrived(Peer("third-id", "bob", False, False, True)))
    assert gains(later) == [("third-id", 0.5)]


def test_another_server_s_bob_is_another_person(window: MainWindow, harness: Harness) -> None:
    join(harness, "ws://h:1/ws", "lobby", peer("bob"))
    window.room.users.set_gain("id-bob", 1.5)
    window.room.calls.leave.click()
    elsewhere = join(harness, "ws://other:1/ws", "lobby", peer("bob"))
    assert gains(elsewhere) == []
    assert "volume" not in window.room.users.describe(peer("bob"))


def test_back_to_100_percent_is_forgotten_and_odd_names_are_kept_apart(
    window: MainWindow, harness: Harness, tmp_path: Path
) -> None:
    odd = Peer("id-odd", "a/b <i>c</i>", False, False, True)
    join(harness, "ws://h:1/ws", "lobby", peer("bob"), odd)
    window.room.users.set_gain("id-odd", 0.25)
    window.room.users.set_gain("id-bob", 0.5)
    window.room.users.set_gain("id-bob", 1.0)
    reread = Preferences(QSettings(str(tmp_path / "voxroom.ini"), QSettings.Format.IniFormat))
    assert reread.peer_gain("ws://h:1/ws", "a/b <i>c</i>") == 0.25
    assert reread.peer_gain("ws://h:1/ws", "a/b") is None
    assert reread.peer_gain("ws://h:1/ws", "bob") is None


def test_the_last_room_per_server_fills_the_form(window: MainWindow, harness: Harness) -> None:
    join(harness, "ws://h:1/ws", "lobby")
    window.room.calls.leave.click()
    join(harness, "ws://other:2/ws", "den")
    window.room.calls.leave.click()
    login = window.login
    for typed, room in (("h:1", "lobby"), ("other:2", "den"), ("nowhere:3", "den")):
        login.server.setText(typed)
        login.server.editingFinished.emit()
        assert login.room.text() == room
    login.room.clear()
    QTest.keyClicks(login.room, "mine")  # typed by hand: the person's choice wins
    login.server.setText("h:1")
    login.server.editingFinished.emit()
    assert login.room.text() == "mine"
