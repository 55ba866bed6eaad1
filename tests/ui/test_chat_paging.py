"""Paging back in the chat view, against a real server holding 300 chats.

pytest-qt runs no asyncio loop, so the real signaling core (``Session``) is
driven over a blocking websocket here, as ``signaling.py`` drives it over
asyncio; the server is a real ``voxroom-server`` process. The room's wiring
(older_wanted -> fetch_history, HistoryPaged -> add_older) is tested with the
fake engine at the end.
"""

import itertools
import json
import math
import time
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot
from websockets.sync.client import ClientConnection, connect

from client_desktop.engine import events
from client_desktop.engine.session import Emit, Session, SessionAction, Transmit
from client_desktop.ui import chat_view
from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.chat_view import MAX_SHOWN, TRIM_STEP, ChatView, Delivered, Line, beginning
from protocol import ChatPosted, Join

from ..support.server import ServerProcess
from .conftest import Harness, open_window

CHATS = 300
TIMEOUT_S = 10.0


def text_of(i: int) -> str:
    """Lengths vary, so lines wrap to different heights and a wrong offset shows."""
    return f"message {i}" + " and some more words" * (i % 9)


@pytest.fixture(scope="module")
def room_of_300(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose room ``den`` holds chats 1..300; its URL."""
    server = ServerProcess(tmp_path_factory.mktemp("paging"), "--chat-rate", "1000")
    server.start()
    try:
        with connect(server.url, subprotocols=["voxroom.v1"]) as ws:  # type: ignore[list-item]
            ws.send(json.dumps({"type": "join", "room": "den", "username": "bob"}))
            assert json.loads(ws.recv(TIMEOUT_S))["type"] == "joined"
            for i in range(1, CHATS + 1):
                ws.send(json.dumps({"type": "chat", "text": text_of(i)}))
            echoed = [json.loads(ws.recv(TIMEOUT_S))["id"] for _ in range(CHATS)]
            assert echoed == list(range(1, CHATS + 1))
        yield server.url
    finally:
        server.close()


class Wire:
    """``Session`` over a blocking websocket, its events shown in ``view`` as the room does."""

    def __init__(self, ws: ClientConnection, view: ChatView) -> None:
        numbers = itertools.count()
        self.session = Session(
            Join(room="den", username="alice"), make_nonce=lambda: f"n{next(numbers)}", jitter=lambda: 0.0
        )
        self.view = view
        self.asked: list[int] = []
        self.paged: list[events.HistoryPaged] = []
        view.older_wanted.connect(self.asked.append)
        self.ws = ws
        self.session.start()
        self.run(self.session.opened(time.monotonic()))
        self.pump_until(lambda: self.session.connected)

    def run(self, actions: list[SessionAction]) -> None:
        for action in actions:
            if isinstance(action, Transmit):
                self.ws.send(action.data.decode())
            elif isinstance(action, Emit):
                self.show(action.event)

    def show(self, event: events.SessionEvent) -> None:
        match event:
            case events.ChatReceived(chat=c):
                self.view.add_chat(
                    c.id, c.username, c.text, c.ts, event.own, c.nonce, defer=event.from_history
                )
            case events.HistoryPaged():
                self.paged.append(event)
                self.view.add_older(
                    event.before, [Line.delivered(r.chat, r.own) for r in event.chats], event.more
                )

    def pump_until(self, done: "object") -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while not done():  # type: ignore[operator]
            data = self.ws.recv(max(0.0, deadline - time.monotonic()))
            self.run(self.session.received(data, time.monotonic()))

    def fetch_asked(self) -> None:
        """Send the page the view asked for and show the answer."""
        before = self.asked.pop()
        pages = len(self.paged)
        self.run(self.session.fetch_history(before, time.monotonic()))
        self.pump_until(lambda: len(self.paged) > pages)


def chat(i: int) -> ChatPosted:
    return ChatPosted(id=i, from_="p9", username="bob", text=text_of(i), ts=1_700_000_000_000 + i * 1000)


def ids(view: ChatView) -> list[int]:
    return [line.key.chat_id for line in view.lines() if isinstance(line.key, Delivered)]


def top_of(view: ChatView, chat_id: int) -> float:
    """Where message ``chat_id`` is drawn, in the viewport's pixels."""
    number = ids(view).index(chat_id)
    layout = view.browser.document().documentLayout()
    return (
        layout.blockBoundingRect(view.document.block(number)).top() - view.browser.verticalScrollBar().value()
    )


def scroll_to_top(qtbot: QtBot, view: ChatView, wire: Wire) -> None:
    bar = view.browser.verticalScrollBar()
    bar.triggerAction(bar.SliderAction.SliderToMinimum)
    qtbot.waitUntil(lambda: bool(wire.asked))


def test_scrolling_up_pages_in_older_history_and_keeps_the_readers_place(
    qtbot: QtBot, room_of_300: str
) -> None:
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.show()
    with connect(room_of_300, subprotocols=["voxroom.v1"]) as ws:  # type: ignore[list-item]
        page_back_to_the_beginning(qtbot, view, Wire(ws, view))


def page_back_to_the_beginning(qtbot: QtBot, view: ChatView, wire: Wire) -> None:
    qtbot.waitUntil(lambda: not view.render_pending and len(view.lines()) == 50)
    assert ids(view) == list(range(251, 301))
    for page in range(5):
        scroll_to_top(qtbot, view, wire)
        first = ids(view)[0]
        assert wire.asked == [first]
        reading = top_of(view, first)
        wire.fetch_asked()
        assert ids(view) == list(range(first - 50, 301)), page  # in order, gapless, no duplicates
        assert abs(top_of(view, first) - reading) <= 1  # the line being read did not move
        assert view.browser.verticalScrollBar().value() > 0
    assert (wire.paged[-1].more, view.at_beginning) == (False, True)
    assert view.plain_text().startswith(beginning())
    assert [line.text for line in view.lines()[:2]] == [text_of(1), text_of(2)]
    view.want_older()
    assert wire.asked == []  # at the beginning nothing more is asked


def test_the_room_asks_the_engine_and_shows_its_page(qtbot: QtBot, harness: Harness) -> None:
    window = open_window(qtbot, harness)
    window.resize(640, 480)
    harness.history = tuple(chat(i) for i in range(61, 121))
    harness.bridge.join(JoinRequest("ws://h:1/ws", "den", "alice"))
    view = window.room.chat
    qtbot.waitUntil(lambda: not view.render_pending)
    scroll_bar = view.browser.verticalScrollBar()
    scroll_bar.triggerAction(scroll_bar.SliderAction.SliderToMinimum)
    qtbot.waitUntil(lambda: harness.engine.calls[-1:] == [("history", 61)])
    older = tuple(events.ChatReceived(chat(i), own=False, from_history=True) for i in range(11, 61))
    harness.engine.emit(events.HistoryPaged(61, older, True))
    assert ids(view) == list(range(11, 121))
    scroll_bar.triggerAction(scroll_bar.SliderAction.SliderToMinimum)
    qtbot.waitUntil(lambda: harness.engine.calls[-1:] == [("history", 11)])
    harness.engine.emit(events.HistoryPaged(11, (), False, "Invalid value 'history'"))  # an old server
    assert not view.at_beginning
    view.want_older()
    assert harness.engine.calls[-1:] == [("history", 11)]  # not asked again


def test_lines_paged_in_stay_while_the_reader_is_up_and_go_once_back_at_the_end(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_view, "SLICE_S", math.inf)  # every line drawn at once: the trim is looked at
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.show()
    for i in range(MAX_SHOWN - 50 + 1, MAX_SHOWN + 1):
        view.add_chat(i, "bob", text_of(i), 1_700_000_000_000, False, None)
    view.browser.verticalScrollBar().setValue(0)
    view.want_older()
    view.add_older(451, [Line.delivered(chat(i), False) for i in range(1, 451)], False)
    assert (len(view.lines()), view.at_beginning) == (MAX_SHOWN, True)
    for i in range(MAX_SHOWN + 1, MAX_SHOWN + TRIM_STEP + 1):  # the reader is up: nothing is taken away
        view.add_chat(i, "bob", text_of(i), 1_700_000_000_000, False, None)
    assert ids(view) == list(range(1, MAX_SHOWN + TRIM_STEP + 1))
    view.scroll_to_end()
    view.add_chat(MAX_SHOWN + TRIM_STEP + 1, "bob", "back", 1_700_000_000_000, False, None)
    assert ids(view) == list(range(TRIM_STEP + 2, MAX_SHOWN + TRIM_STEP + 2))
    assert not view.at_beginning
    assert not view.plain_text().startswith(beginning())
    view.browser.verticalScrollBar().setValue(0)
    view.want_older()  # the lines that went can be paged in again
    view.add_older(TRIM_STEP + 2, [Line.delivered(chat(i), False) for i in range(52, TRIM_STEP + 2)], True)
    assert ids(view)[:2] == [52, 53]
