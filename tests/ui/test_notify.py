"""A mention while the window is not in front becomes a notification: not ours, not history, not a flood;
on the desktop's notification server (a real one, dunst) when there is one, else through the tray."""

import html
from collections.abc import Iterator
from xml.etree import ElementTree

import pytest
from pytestqt.qtbot import QtBot

from client_desktop.engine import events
from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.dbus_link import BusLink
from client_desktop.ui.desktop_notify import DesktopNotifier
from client_desktop.ui.notify import (
    NOTIFY_BURST,
    NOTIFY_WINDOW_S,
    MentionBudget,
    MentionNotifier,
    worth_notifying,
)
from client_desktop.ui.tray import Tray
from client_desktop.ui.window import MainWindow
from protocol import ChatPosted

from .conftest import Harness
from .dbus_session import Dunst, bus_daemon, dunst, session_bus
from .xserver import xserver

__all__ = ["bus_daemon", "dunst", "session_bus", "xserver"]  # the fixtures, used by name


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def received(text: str, *, own: bool = False, history: bool = False) -> events.ChatReceived:
    posted = ChatPosted(id=1, from_="id-bob", username="bob", text=text, ts=1_700_000_000_000)
    return events.ChatReceived(posted, own=own, from_history=history)


@pytest.mark.parametrize(
    ("event", "active", "wanted"),
    [
        (received("hey alice, look"), False, True),
        (received("hey alice, look"), True, False),  # they see it
        (received("hey alice", own=True), False, False),
        (received("hey alice", history=True), False, False),
        (received("hey malice"), False, False),  # a name is a word, not a substring
        (received("nothing for you"), False, False),
    ],
)
def test_the_decision(event: events.ChatReceived, active: bool, wanted: bool) -> None:
    assert worth_notifying(event, "alice", active) is wanted


def test_the_budget_allows_a_burst_then_one_as_each_ages_out() -> None:
    budget = MentionBudget(burst=3, window_s=60.0)
    assert [budget.take(t) for t in (0.0, 1.0, 2.0, 3.0, 59.9)] == [True, True, True, False, False]
    assert budget.take(60.0)  # the first aged out
    assert not budget.take(60.5)
    assert budget.take(61.0)


@pytest.fixture
def shown(qtbot: QtBot, window: MainWindow, harness: Harness) -> tuple[list[tuple[str, str]], Clock]:
    """A notifier on a tray that is there, our window not in front; what it showed."""
    tray = Tray(window, available=True)
    clock = Clock()
    notifier = MentionNotifier(harness.bridge, window, tray.icon, clock)
    seen: list[tuple[str, str]] = []
    notifier.notified.connect(lambda title, body: seen.append((title, body)))
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    window.hide()
    return seen, clock


def test_a_mention_in_the_room_is_shown_as_plain_text(
    shown: tuple[list[tuple[str, str]], Clock], harness: Harness
) -> None:
    seen, _clock = shown
    harness.engine.chat(5, "bob", "alice <img src=file:///etc/passwd> & **you**")
    harness.engine.chat(6, "bob", "no mention here")
    harness.engine.chat(7, "alice", "alice talks to herself", own=True)
    assert seen == [("bob mentioned you", "alice &lt;img src=file:///etc/passwd&gt; &amp; **you**")]


def test_a_flood_of_mentions_is_capped(shown: tuple[list[tuple[str, str]], Clock], harness: Harness) -> None:
    seen, clock = shown
    for n in range(20):
        harness.engine.chat(10 + n, "bob", f"alice {n}")
    assert [body for _title, body in seen] == [f"alice {n}" for n in range(NOTIFY_BURST)]
    clock.now += NOTIFY_WINDOW_S
    harness.engine.chat(40, "bob", "alice, later")
    assert seen[-1] == ("bob mentioned you", "alice, later")


def test_no_tray_no_notification(qtbot: QtBot, window: MainWindow, harness: Harness) -> None:
    notifier = MentionNotifier(harness.bridge, window, None)
    with qtbot.assertNotEmitted(notifier.notified):
        harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
        window.hide()
        harness.engine.chat(5, "bob", "alice?")


@pytest.fixture
def desktop(qtbot: QtBot, dunst: Dunst) -> Iterator[DesktopNotifier]:
    bus = BusLink(dunst.bus)
    notifier = DesktopNotifier(bus)
    qtbot.waitUntil(lambda: notifier.available)
    yield notifier
    bus.close()


def rendered(markup: str) -> str:
    """What markup shows: its text, tags gone, entities read (Pango's markup is XML's)."""
    return "".join(ElementTree.fromstring(f"<m>{markup}</m>").itertext())


def test_a_mention_is_one_desktop_notification_shown_literally_and_a_click_brings_the_window(
    qtbot: QtBot, window: MainWindow, harness: Harness, desktop: DesktopNotifier, dunst: Dunst
) -> None:
    MentionNotifier(harness.bridge, window, None).use_desktop(desktop)
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    window.hide()
    text = "alice <img src=file:///etc/passwd> & <b>look</b>"
    harness.engine.chat(5, "<i>bob</i>", text)
    harness.engine.chat(6, "bob", "no mention here")
    qtbot.waitUntil(lambda: dunst.ctl("count", "displayed") == "1")
    dunst.ctl("action", "0")  # a click on it
    qtbot.waitUntil(window.isVisible)
    (shown,) = dunst.history()
    assert shown["appname"] == "Voxroom"
    assert shown["summary"] == "<i>bob</i> mentioned you"
    assert shown["body"] == html.escape(text, quote=False)  # this server reads markup
    assert rendered(str(shown["message"])) == f"<i>bob</i> mentioned you|{text}"


def test_no_desktop_notification_while_the_window_is_in_front(
    qtbot: QtBot, window: MainWindow, harness: Harness, desktop: DesktopNotifier, dunst: Dunst
) -> None:
    notifier = MentionNotifier(harness.bridge, window, None)
    notifier.use_desktop(desktop)
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    with qtbot.assertNotEmitted(notifier.notified):
        harness.engine.chat(5, "bob", "alice, are you there?")
    window.hide()
    harness.engine.chat(6, "bob", "alice, now?")
    qtbot.waitUntil(lambda: dunst.ctl("count", "displayed") == "1")
    assert [entry["body"] for entry in dunst.history()] == ["alice, now?"]


def test_the_notifier_reaches_the_session_bus_of_this_login(
    qtbot: QtBot, window: MainWindow, harness: Harness, dunst: Dunst, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", dunst.bus)
    notifier = MentionNotifier(harness.bridge, window, None)
    desktop = notifier.reach_desktop()  # what the app does once its window is shown
    assert desktop is not None
    qtbot.waitUntil(lambda: desktop.available)
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    window.hide()
    harness.engine.chat(5, "bob", "alice, here?")
    qtbot.waitUntil(lambda: dunst.ctl("count", "displayed") == "1")
    assert [entry["body"] for entry in dunst.history()] == ["alice, here?"]


def test_without_a_session_bus_the_notifier_stays_with_the_tray(
    window: MainWindow, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    assert MentionNotifier(harness.bridge, window, None).reach_desktop() is None
