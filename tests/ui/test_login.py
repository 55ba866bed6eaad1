"""The login form: protocol rules inline, Enter submits, refusals in plain words, values remembered."""

import errno
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from client_desktop.engine.errors import JoinRefused
from client_desktop.engine.events import FailureCode
from client_desktop.ui.bridge import Hosted, JoinProblem, plain_words
from client_desktop.ui.login import normalize_server
from client_desktop.ui.preferences import LoginValues
from client_desktop.ui.window import MainWindow

from .conftest import Harness, open_window


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("192.168.1.20", "ws://192.168.1.20:8765/ws"),
        ("example.org:9000", "ws://example.org:9000/ws"),
        ("wss://voice.example.org/ws", "wss://voice.example.org/ws"),
        (" ws://h:1/custom ", "ws://h:1/custom"),
    ],
)
def test_server_addresses_are_accepted_as_people_type_them(typed: str, url: str) -> None:
    assert normalize_server(typed) == url


@pytest.mark.parametrize("typed", ["", "http://example.org", "ws://", "host:99999"])
def test_bad_server_addresses_are_refused(typed: str) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        normalize_server(typed)


def fill(window: MainWindow, qtbot: QtBot, room: str = "lobby", name: str = "alice") -> None:
    login = window.login
    login.server.setText("127.0.0.1:8765")
    login.room.setText(room)
    login.username.clear()
    QTest.keyClicks(login.username, name)


def test_enter_in_a_field_joins_and_the_room_opens(
    window: MainWindow, qtbot: QtBot, harness: Harness
) -> None:
    fill(window, qtbot)
    QTest.keyClick(window.login.username, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.room
    assert harness.engine.request.server == "ws://127.0.0.1:8765/ws"
    assert harness.engine.request.username == "alice"
    assert window.windowTitle() == "lobby on 127.0.0.1:8765 — Voxroom"


@pytest.mark.parametrize(
    ("room", "name", "words"),
    [
        ("no spaces", "alice", "Room names use"),
        ("lobby", "   ", "Names are 1-32"),
        ("lobby", "a\x07b", "Names"),
    ],
)
def test_invalid_values_are_explained_inline_and_nothing_is_sent(
    window: MainWindow, qtbot: QtBot, harness: Harness, room: str, name: str, words: str
) -> None:
    fill(window, qtbot, room, "x")
    window.login.username.setText(name)
    window.login.submit()
    assert window.login.error.isVisible()
    assert words in window.login.error.text()
    assert harness.engines == []


def test_a_refusal_is_shown_in_plain_words_and_the_form_stays_usable(
    window: MainWindow, qtbot: QtBot, harness: Harness
) -> None:
    harness.refuse = JoinRefused(FailureCode.NAME_TAKEN, "username is taken in this room")
    fill(window, qtbot)
    window.login.submit()
    assert window.stack.currentWidget() is window.login
    assert window.login.error.text() == "Someone in this room already uses that name. Pick another one."
    assert window.login.join_button.isEnabled()


def test_details_the_engine_cannot_use_are_not_called_unreachable(
    window: MainWindow, qtbot: QtBot, harness: Harness
) -> None:
    harness.refuse = ValueError("not a WebSocket address (ws://… or wss://…): ws://[::1")
    failures: list[object] = []
    harness.bridge.join_failed.connect(lambda code, _message: failures.append(code))
    fill(window, qtbot)
    window.login.submit()
    assert failures == [JoinProblem.BAD_DETAILS]
    assert window.login.error.text() == (
        "These details cannot be used: not a WebSocket address (ws://… or wss://…): ws://[::1"
    )
    assert window.login.join_button.isEnabled()


def test_the_last_values_are_remembered(window: MainWindow, qtbot: QtBot, harness: Harness) -> None:
    fill(window, qtbot, "team-1", "bob")
    window.login.submit()
    assert harness.prefs.login() == LoginValues("127.0.0.1:8765", "team-1", "bob", False, False)


def test_hosting_for_the_network_is_remembered(window: MainWindow, qtbot: QtBot, harness: Harness) -> None:
    fill(window, qtbot)
    window.login.host.setChecked(True)
    window.login.hosting_box.network.setChecked(True)
    window.login.submit()
    assert harness.prefs.login().host_network
    again = MainWindow(harness.bridge, harness.prefs)
    qtbot.addWidget(again)
    assert again.login.hosting_box.network.isChecked()


def test_hosting_disables_the_address_and_shows_where_others_join(window: MainWindow) -> None:
    window.login.host.setChecked(True)
    window.login.hosting_box.network.setChecked(True)
    assert not window.login.server.isEnabled()
    window.login.show_hosting("192.168.1.5:8765")
    assert window.login.hosting.text() == "Hosting. Others can join at 192.168.1.5:8765."
    assert window.login.hosting.isVisible()


def test_hosting_starts_the_server_then_joins_it_and_shows_the_address(qtbot: QtBot, tmp_path: Path) -> None:
    hosted: list[str] = []

    async def host() -> Hosted:
        hosted.append("started")
        return Hosted("ws://127.0.0.1:8765/ws", "10.0.0.5:8765", "admin-secret")

    harness = Harness(tmp_path, host)
    window = open_window(qtbot, harness)
    fill(window, qtbot)
    window.login.host.setChecked(True)
    window.login.submit()
    assert hosted == ["started"]
    assert harness.engine.request.server == "ws://127.0.0.1:8765/ws"
    assert harness.engine.request.admin_password == "admin-secret"  # the host moderates its room
    assert "10.0.0.5:8765" in window.room.notice.label.text()


def test_a_port_in_use_when_hosting_says_the_server_did_not_start(qtbot: QtBot, tmp_path: Path) -> None:
    async def host() -> Hosted:
        raise OSError(errno.EADDRINUSE, "Address already in use")

    harness = Harness(tmp_path, host)
    window = open_window(qtbot, harness)
    fill(window, qtbot)
    window.login.host.setChecked(True)
    window.login.submit()
    assert harness.engines == []
    assert window.login.error.text() == (
        "Could not start a server on this computer: its port is already in use "
        "(is Voxroom already hosting, or another program on that port?)."
    )


def test_hosting_where_it_is_not_available_says_so(
    window: MainWindow, qtbot: QtBot, harness: Harness
) -> None:
    fill(window, qtbot)
    window.login.host.setChecked(True)
    window.login.submit()
    assert harness.engines == []
    assert window.login.error.text() == "Hosting is not available in this copy of Voxroom."


@pytest.mark.parametrize("code", list(FailureCode))
def test_every_failure_has_plain_words_without_the_bare_code(code: FailureCode) -> None:
    words = plain_words(code, "detail")
    assert words.endswith((".", ")"))
    assert code.value not in words
