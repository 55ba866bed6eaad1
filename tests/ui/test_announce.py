"""A chat flood does not queue a screen reader's speech: one announcement a second at most, several
messages said as their count."""

from pytestqt.qtbot import QtBot

from client_desktop.ui.announce import SpeechGate
from client_desktop.ui.window import MainWindow

from .conftest import Harness
from .test_access import join


def test_the_gate_says_the_first_line_and_holds_the_rest_for_the_gap() -> None:
    gate = SpeechGate(lambda n: f"{n} new messages", gap_s=1.0)
    assert gate.offer(10.0, "carol joined", message=False) == "carol joined"
    assert gate.offer(10.1, "carol says: hi", message=True) is None
    assert gate.wait_s(10.5) == 0.5
    assert gate.due(10.5) is None
    assert gate.due(11.0) == "carol says: hi"
    assert gate.wait_s(11.0) is None  # nothing held
    assert gate.offer(11.5, "bob joined", message=False) is None  # still within the gap of the last
    assert gate.due(12.0) == "bob joined"
    assert gate.offer(13.5, "dave left", message=False) == "dave left"  # a quiet second: said at once


def test_several_messages_are_said_as_their_count_after_the_other_news() -> None:
    gate = SpeechGate(lambda n: f"{n} new messages", gap_s=1.0)
    gate.offer(0.0, "first", message=True)
    for i in range(200):
        gate.offer(0.001 * i, f"line {i}", message=True)
    gate.offer(0.5, "carol left", message=False)
    assert gate.due(1.0) == "carol left\n200 new messages"
    assert gate.due(5.0) is None


def test_a_flood_in_the_room_makes_two_announcements(
    window: MainWindow, harness: Harness, qtbot: QtBot
) -> None:
    said: list[str] = []
    window.room.announcer.announced.connect(said.append)
    join(harness)
    for i in range(1, 101):
        harness.engine.chat(i, "bob", f"flood {i}")
    assert said == ["bob says: flood 1"]
    qtbot.waitUntil(lambda: len(said) == 2)
    assert said[1] == "99 new messages"
    assert window.room.announcer.ready() is False  # just spoke: the next line will wait
