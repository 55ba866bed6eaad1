"""Each person's call path in the people list: the icon, the words, and the polling behind them."""

from collections.abc import Coroutine
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QListWidgetItem
from pytestqt.qtbot import QtBot

from client_desktop.engine import events
from client_desktop.engine.call_stats import CandidateType, PeerCallStats, TransportProtocol
from client_desktop.ui import call_path
from client_desktop.ui.call_path import PathLook
from client_desktop.ui.stats_poll import POLL_EVERY_MS, StatsPoller
from client_desktop.ui.users_panel import PATH_ROLE, UsersPanel
from client_desktop.ui.window import MainWindow

from .conftest import Harness, run_now
from .fakes import call, peer
from .test_room import enter

HOST, SRFLX, RELAY = CandidateType.HOST, CandidateType.SERVER_REFLEXIVE, CandidateType.RELAYED
UDP, TCP, TLS = TransportProtocol.UDP, TransportProtocol.TCP, TransportProtocol.TLS
REST = "loss 0.0 % · jitter 3 ms · buffer 60 ms"
FIGURES = f"round trip 12 ms · {REST}"


@pytest.mark.parametrize(
    ("stats", "look", "words"),
    [
        (call("bob", HOST, UDP), PathLook.DIRECT, f"Direct connection (UDP) · {FIGURES}"),
        (call("bob", SRFLX, TCP, remote=SRFLX), PathLook.DIRECT, f"Direct connection (TCP) · {FIGURES}"),
        (call("bob", RELAY, TCP), PathLook.RELAYED, f"Through the relay server (TCP) · {FIGURES}"),
        (call("bob", RELAY, TLS), PathLook.RELAYED, f"Through the relay server (TLS) · {FIGURES}"),
        (
            call("bob", HOST, UDP, remote=RELAY),
            PathLook.RELAYED,
            f"Through the relay server (UDP) · {FIGURES}",
        ),
        (
            call("bob", RELAY, UDP, rtt_ms=None),
            PathLook.RELAYED,
            f"Through the relay server (UDP) · round trip measuring… · {REST}",
        ),
        (call("bob", None, state=events.CallState.CONNECTING), PathLook.CONNECTING, "Connecting the call…"),
        (call("bob", None, state=events.CallState.FAILED), PathLook.FAILED, "The call could not connect"),
    ],
)
def test_a_call_s_path_in_an_icon_and_in_words(stats: PeerCallStats, look: PathLook, words: str) -> None:
    assert call_path.look(stats) is look
    assert call_path.words(stats) == words


def test_figures_not_known_yet_are_left_out_but_the_round_trip_says_it_is_measuring() -> None:
    bare = PeerCallStats("id-bob", events.CallState.CONNECTED, call("bob").path, None, None, None, None)
    assert call_path.words(bare) == "Direct connection (UDP) · round trip measuring…"


def shown_tooltip(item: QListWidgetItem) -> str:
    """The tooltip's text as Qt would show it (as HTML when it looks like HTML, as Qt decides)."""
    doc = QTextDocument()
    doc.setHtml(item.toolTip())
    return doc.toPlainText()


def row(users: UsersPanel, peer_id: str) -> QListWidgetItem:
    return users.item(users.order().index(peer_id))


def test_the_people_list_shows_each_call_s_path(window: MainWindow, harness: Harness) -> None:
    engine = enter(
        window, harness, peer("bob"), peer("carl"), peer("dora"), peer("eve", voice=False), peer("finn")
    )
    engine.stats = [
        call("bob", HOST),
        call("carl", RELAY, TCP, rtt_ms=None),
        call("dora", None),
        call("finn", HOST, state=events.CallState.CLOSED),  # on its way out: shown as no call
    ]
    harness.bridge.stats.poll()
    users = window.room.users
    assert [row(users, pid).data(PATH_ROLE) for pid in users.order()] == [
        None,  # you: no call with yourself
        PathLook.DIRECT,
        PathLook.RELAYED,
        PathLook.CONNECTING,
        None,  # finn's call closed
        None,  # eve is not in the call
    ]
    assert shown_tooltip(row(users, "id-bob")) == f"bob, in the call\nDirect connection (UDP) · {FIGURES}"
    assert "Through the relay server (TCP) · round trip measuring…" in shown_tooltip(row(users, "id-carl"))
    assert shown_tooltip(row(users, "id-eve")) == "eve, chat only"
    assert row(users, "id-bob").data(Qt.ItemDataRole.AccessibleTextRole) == (
        f"bob, in the call. Direct connection (UDP) · {FIGURES}"
    )
    window.room.users.grab()  # the delegate paints every look without error


def test_markup_in_a_name_stays_literal_in_the_tooltip(window: MainWindow, harness: Harness) -> None:
    engine = enter(window, harness, peer("<b>bob</b>"))
    engine.stats = [call("<b>bob</b>", RELAY, UDP)]
    harness.bridge.stats.poll()
    item = row(window.room.users, "id-<b>bob</b>")
    assert "<b>bob</b>" not in item.toolTip()
    assert shown_tooltip(item).startswith("<b>bob</b>, in the call\nThrough the relay server (UDP)")


def test_polling_runs_only_in_a_room_and_the_icons_go_when_we_leave(
    window: MainWindow, harness: Harness, qtbot: QtBot
) -> None:
    assert not harness.bridge.stats.timer.isActive()
    engine = enter(window, harness, peer("bob"))
    timer = harness.bridge.stats.timer
    assert timer.isActive()
    assert timer.interval() == POLL_EVERY_MS
    engine.stats = [call("bob", RELAY, TLS)]
    timer.setInterval(10)
    qtbot.waitUntil(lambda: row(window.room.users, "id-bob").data(PATH_ROLE) is PathLook.RELAYED)
    reads = engine.stats_reads
    qtbot.waitUntil(lambda: engine.stats_reads >= reads + 2)
    window.room.calls.leave.click()
    assert not timer.isActive()
    assert row(window.room.users, "id-bob").data(PATH_ROLE) is None
    reads = engine.stats_reads
    qtbot.wait(50)
    assert engine.stats_reads == reads


def test_a_failed_poll_is_logged_and_the_next_one_still_runs(
    window: MainWindow, harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    engine = enter(window, harness, peer("bob"))
    engine.stats_error = RuntimeError("getStats broke")
    harness.bridge.stats.poll()
    harness.bridge.stats.poll()
    assert [r.getMessage() for r in caplog.records if "call stats" in r.getMessage()] == [
        "reading the call stats failed: RuntimeError('getStats broke')"  # once, not every 2 s
    ]
    assert harness.bridge.stats.timer.isActive()
    engine.stats_error = None
    engine.stats = [call("bob")]
    harness.bridge.stats.poll()
    assert row(window.room.users, "id-bob").data(PATH_ROLE) is PathLook.DIRECT


def test_a_call_state_change_asks_for_the_path_at_once(window: MainWindow, harness: Harness) -> None:
    engine = enter(window, harness, peer("bob"))
    engine.stats = [call("bob", RELAY, UDP)]
    engine.emit(events.CallStateChanged("id-bob", events.CallState.CONNECTED))
    assert row(window.room.users, "id-bob").data(PATH_ROLE) is PathLook.RELAYED


class Calls:
    async def call_stats(self) -> list[PeerCallStats]:
        return [call("bob")]


def test_a_late_answer_from_a_room_we_left_is_dropped(qtbot: QtBot) -> None:
    pending: list[Coroutine[Any, Any, None]] = []
    poller = StatsPoller(pending.append)
    got: list[object] = []
    poller.rows.connect(got.append)
    poller.start(Calls())
    poller.poll()  # the first is still under way: no second read
    assert len(pending) == 1
    poller.stop()
    assert got == [[]]
    run_now(pending.pop())
    assert got == [[]]
    assert not poller.active
