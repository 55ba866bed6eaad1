"""SignalingClient against the real server: joining, chat exactly once, reconnects, refusals."""

import asyncio
import contextlib
import signal
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
import trustme

from client_desktop.engine.errors import JoinRefused, ServerUnreachable, TlsFailed
from client_desktop.engine.events import (
    ChatReceived,
    ConnectionFailed,
    ConnectionLost,
    FailureCode,
    HistoryPaged,
    PeerArrived,
    PeerDeparted,
    PeerUpdated,
    RoomJoined,
    ServerError,
    SessionEvent,
    SignalReceived,
)
from client_desktop.engine.signaling import SignalingClient
from signaling_server.app import RunningServer

from ..conftest import ServerFactory, ServerProcess, free_port
from ..wsclient import Client
from .netcut import netcut

E = TypeVar("E")
FAST_S = (0.05, 0.1, 0.2, 0.4)


class EventLog:
    """The event sink: keeps every event, and waits for the ones a test expects."""

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []

    def __call__(self, event: SessionEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    async def until(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.01)

    async def wait(self, kind: type[E], nth: int = 1, timeout: float = 5.0) -> E:
        """The ``nth`` event of ``kind`` (1-based), once it has come."""
        await self.until(lambda: len(self.of(kind)) >= nth, timeout)
        return self.of(kind)[nth - 1]

    async def wait_chat(self, nonce: str) -> None:
        await self.until(lambda: any(e.chat.nonce == nonce for e in self.of(ChatReceived)))

    def chat_ids(self) -> list[int]:
        return [e.chat.id for e in self.of(ChatReceived)]


class MakeClient(Protocol):
    def __call__(self, url: str, username: str, **kw: Any) -> tuple[SignalingClient, EventLog]: ...


@pytest.fixture
async def clients(make_server: ServerFactory, stack: contextlib.AsyncExitStack) -> AsyncIterator[MakeClient]:
    """Make clients in room ``den`` with fast backoff; all are closed before the servers."""
    made: list[SignalingClient] = []

    def make(url: str, username: str, **kw: Any) -> tuple[SignalingClient, EventLog]:
        recorder = EventLog()
        kw.setdefault("backoff", FAST_S)
        kw.setdefault("jitter", 0.0)
        kw.setdefault("timeout_s", 3.0)
        client = SignalingClient(url, kw.pop("room", "den"), username, on_event=recorder, **kw)
        made.append(client)
        return client, recorder

    yield make
    await asyncio.gather(*(c.close() for c in made))


async def barrier(sender: SignalingClient, *logs: EventLog) -> None:
    """Everything sent before has arrived: ``sender``'s next chat reached every log (chats are ordered)."""
    nonce = sender.send_chat("barrier")
    for log in logs:
        await log.wait_chat(nonce)


@pytest.fixture
async def stack() -> AsyncIterator[contextlib.AsyncExitStack]:
    """Proxies and the like, closed after the clients (fixtures tear down in reverse)."""
    async with contextlib.AsyncExitStack() as exits:
        yield exits


def signaling_tasks() -> list[str]:
    return [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("signaling")]


async def test_join_and_peer_events(server: RunningServer, clients: MakeClient) -> None:
    alice, a = clients(server.url, "alice")
    joined = await alice.start()
    assert joined.peers == ()
    assert joined.resumed is False
    assert joined.room == "den"
    assert joined.username == "alice"
    assert alice.self_id == joined.self_id
    assert alice.connected
    assert a.events == [joined]  # start() emits what it returns

    bob, _ = clients(server.url, "bob", voice=False)
    bj = await bob.start()
    assert [(p.id, p.username) for p in bj.peers] == [(alice.self_id, "alice")]
    came = await a.wait(PeerArrived)
    assert (came.peer.id, came.peer.username, came.peer.voice) == (bob.self_id, "bob", False)
    assert set(alice.peers) == {bj.self_id}

    await bob.leave()
    assert (await a.wait(PeerDeparted)).peer_id == bj.self_id
    assert alice.peers == {}
    assert not bob.connected


async def test_chat_echo_is_own_and_text_is_checked(server: RunningServer, clients: MakeClient) -> None:
    alice, a = clients(server.url, "alice")
    bob, b = clients(server.url, "bob")
    await alice.start()
    await bob.start()
    nonce = alice.send_chat("  hello bob \n")
    assert alice.pending_chats == (nonce,)
    echo = await a.wait(ChatReceived)
    assert (echo.chat.id, echo.chat.text, echo.chat.nonce) == (1, "hello bob", nonce)
    assert (echo.own, echo.from_history) == (True, False)
    assert echo.chat.from_ == alice.self_id
    heard = await b.wait(ChatReceived)
    assert (heard.chat.id, heard.own, heard.from_history) == (1, False, False)
    assert not alice.pending_chats
    assert alice.last_chat_id == bob.last_chat_id == 1

    with pytest.raises(ValueError, match="2000"):
        alice.send_chat("x" * 2001)
    with pytest.raises(ValueError, match="1-2000"):
        alice.send_chat(" \n\t ")
    with pytest.raises(ValueError, match="control"):
        alice.send_chat("a\x00b")
    assert not alice.pending_chats

    carol, c = clients(server.url, "carol")
    await carol.start()
    assert isinstance(c.events[0], RoomJoined)
    old = c.of(ChatReceived)
    assert [(e.chat.id, e.own, e.from_history) for e in old] == [(1, False, True)]


async def test_each_chat_arrives_once_in_order_across_an_abrupt_drop(
    server: RunningServer, clients: MakeClient, stack: contextlib.AsyncExitStack
) -> None:
    net = await stack.enter_async_context(netcut(server.url))
    alice, a = clients(net.url, "alice", backoff=(0.1,))
    bob, b = clients(server.url, "bob")
    await alice.start()
    await bob.start()
    count = 40

    async def chatter() -> None:
        for i in range(count):
            bob.send_chat(f"m{i}")
            await asyncio.sleep(0.01)

    talking = asyncio.create_task(chatter())
    await a.until(lambda: len(a.of(ChatReceived)) >= 8)
    net.cut()
    await a.until(lambda: len(a.of(ChatReceived)) >= count, timeout=10)
    await talking
    await barrier(bob, a, b)  # nothing more may come

    assert a.chat_ids() == list(range(1, count + 2))
    assert [e.chat.text for e in a.of(ChatReceived)] == [*(f"m{i}" for i in range(count)), "barrier"]
    assert any(e.from_history for e in a.of(ChatReceived))  # some came back through `since`
    assert b.chat_ids() == list(range(1, count + 2))
    lost = a.of(ConnectionLost)
    assert [(str(e.reason), e.retry_in_s) for e in lost] == [("the connection was lost", 0.1)]
    again = await a.wait(RoomJoined, 2)
    assert again.resumed is True
    assert again.self_id == alice.self_id == a.of(RoomJoined)[0].self_id
    assert b.of(PeerDeparted) == []
    assert b.of(PeerArrived) == []  # bob never heard that alice was gone


async def test_a_message_typed_while_disconnected_is_delivered_once(
    server: RunningServer, clients: MakeClient, stack: contextlib.AsyncExitStack
) -> None:
    net = await stack.enter_async_context(netcut(server.url))
    alice, a = clients(net.url, "alice", backoff=(0.3,))
    bob, b = clients(server.url, "bob")
    await alice.start()
    await bob.start()

    net.cut()
    await a.wait(ConnectionLost)
    assert not alice.connected
    nonce = alice.send_chat("typed offline")
    alice.send_signal(bob.self_id or "", {"kind": "bye"})  # dropped, not queued
    assert alice.pending_chats == (nonce,)
    assert (await a.wait(RoomJoined, 2)).resumed is True
    mine = await a.wait(ChatReceived)
    assert (mine.chat.id, mine.chat.nonce, mine.own, mine.from_history) == (1, nonce, True, False)
    assert (await b.wait(ChatReceived)).chat.text == "typed offline"

    # Sent and stored, but the echo never reached alice: the history settles it, no re-send.
    net.hold()
    nonce = alice.send_chat("echo lost")
    assert (await b.wait(ChatReceived, 2)).chat.nonce == nonce
    net.cut()
    net.release()
    await a.wait(RoomJoined, 3)
    second = await a.wait(ChatReceived, 2)
    assert (second.chat.id, second.chat.nonce, second.own, second.from_history) == (2, nonce, True, True)
    await barrier(bob, a, b)
    assert a.chat_ids() == b.chat_ids() == [1, 2, 3]
    assert b.of(SignalReceived) == []
    assert not alice.pending_chats


async def test_kill_9_and_restart_resumes_the_place_and_loses_no_chat(
    server_process: Callable[..., ServerProcess], clients: MakeClient
) -> None:
    proc = server_process("--grace", "10")
    proc.start()
    alice, a = clients(proc.url, "alice", backoff=(0.1, 0.2, 0.4))
    bob, b = clients(proc.url, "bob", backoff=(0.1, 0.2, 0.4))
    first_a, first_b = await alice.start(), await bob.start()
    alice.send_chat("before")
    await b.wait(ChatReceived)
    await a.wait(PeerArrived)
    marks = len(a.events), len(b.events)

    await proc.stop(signal.SIGKILL)
    await a.wait(ConnectionLost)
    await b.wait(ConnectionLost)
    nonce = bob.send_chat("while the server was down")
    await a.wait(ConnectionLost, 3)  # the connection and two failed attempts
    await asyncio.to_thread(proc.start)

    again_a, again_b = await a.wait(RoomJoined, 2), await b.wait(RoomJoined, 2)
    assert (again_a.resumed, again_a.self_id) == (True, first_a.self_id)
    assert (again_b.resumed, again_b.self_id) == (True, first_b.self_id)
    assert [p.id for p in again_a.peers] == [first_b.self_id]
    down = await a.wait(ChatReceived, 2)
    assert (down.chat.text, down.chat.nonce, down.own) == ("while the server was down", nonce, False)
    alice.send_chat("after")
    await barrier(alice, a, b)
    assert a.chat_ids() == b.chat_ids() == [1, 2, 3, 4]
    assert [e.own for e in b.of(ChatReceived)] == [False, True, False, False]
    delays = [e.retry_in_s for e in a.of(ConnectionLost)]
    assert delays[:3] == [0.1, 0.2, 0.4]
    assert set(delays[3:]) <= {0.4}  # the last delay repeats
    for r, mark in zip((a, b), marks, strict=True):  # no churn: nobody saw anybody leave
        assert not [e for e in r.events[mark:] if isinstance(e, PeerDeparted | PeerArrived)]


async def test_backoff_grows_while_the_server_is_down_then_resumes(
    make_server: ServerFactory, clients: MakeClient
) -> None:
    server = await make_server()
    alice, a = clients(server.url, "alice")
    first = await alice.start()
    port = server.port
    await server.close()  # says 1001, as a server that is being upgraded does
    await a.until(lambda: len(a.of(ConnectionLost)) >= 5)
    lost = a.of(ConnectionLost)
    assert [e.retry_in_s for e in lost[:5]] == [*FAST_S, FAST_S[-1]]
    assert str(lost[0].reason) == "the server is restarting"
    assert "refused the connection" in str(lost[1].reason)
    assert not alice.connected

    await make_server(port=port)
    again = await a.wait(RoomJoined, 2)
    assert (again.resumed, again.self_id) == (True, first.self_id)
    assert alice.connected


async def test_join_refusals_raise_typed_errors(make_server: ServerFactory, clients: MakeClient) -> None:
    server = await make_server(password="pw", max_room_size=2)
    intruder, i = clients(server.url, "mallory", password="nope")
    with pytest.raises(JoinRefused) as refused:
        await intruder.start()
    assert (refused.value.code, refused.value.message) == (FailureCode.AUTH_FAILED, "wrong password")
    assert i.events == []

    alice, _ = clients(server.url, "alice", password="pw")
    await alice.start()
    twin, _ = clients(server.url, "ALICE", password="pw")
    with pytest.raises(JoinRefused) as refused:
        await twin.start()
    assert refused.value.code == "name-taken"
    assert "taken" in str(refused.value)

    bob, _ = clients(server.url, "bob", password="pw")
    await bob.start()
    carol, _ = clients(server.url, "carol", password="pw")
    with pytest.raises(JoinRefused) as refused:
        await carol.start()
    assert refused.value.code == "room-full"
    assert alice.connected
    assert bob.connected


async def test_unreachable_and_wrong_address_raise_server_unreachable(
    server: RunningServer, clients: MakeClient
) -> None:
    nobody, _ = clients(f"ws://127.0.0.1:{free_port()}/ws", "alice")
    with pytest.raises(ServerUnreachable) as unreachable:
        await nobody.start()
    assert unreachable.value.code == "unreachable"
    assert "refused the connection" in str(unreachable.value.message)

    wrong, _ = clients(server.url.replace("/ws", "/chat"), "alice")
    with pytest.raises(ServerUnreachable, match="HTTP 404"):
        await wrong.start()

    with pytest.raises(ValueError, match="room"):
        clients(server.url, "alice", room="the den")
    with pytest.raises(ValueError, match="username"):
        clients(server.url, "   ")


async def test_an_untrusted_certificate_is_a_tls_failure(
    make_server: ServerFactory, clients: MakeClient, tmp_path: Path
) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    server = await make_server(tls_cert=tmp_path / "server.pem", tls_key=tmp_path / "key.pem")

    doubter, _ = clients(server.url, "alice")
    with pytest.raises(TlsFailed) as failed:
        await doubter.start()
    assert failed.value.code == "tls"
    assert "not trusted" in str(failed.value.message)

    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    believer, _ = clients(server.url, "alice", ssl=trusting)
    assert (await believer.start()).resumed is False


async def test_superseded_is_final(server: RunningServer, clients: MakeClient) -> None:
    alice, a = clients(server.url, "alice")
    await alice.start()
    usurper = await Client.open(server.url)
    taken = await usurper.join(room="den", username="alice", resume=alice.resume_token)
    assert taken["resumed"] is True
    failed = await a.wait(ConnectionFailed)
    assert failed.code is FailureCode.SUPERSEDED
    assert alice.closed  # for good: no attempt is scheduled
    assert a.of(ConnectionLost) == []
    assert len(a.of(RoomJoined)) == 1
    assert not alice.connected
    await a.until(lambda: signaling_tasks() == [])  # nothing left running
    await usurper.close()


async def test_leave_stops_and_close_keeps_the_place(server: RunningServer, clients: MakeClient) -> None:
    alice, a = clients(server.url, "alice")
    bob, b = clients(server.url, "bob")
    carol, _ = clients(server.url, "carol")
    for client in (alice, bob, carol):
        await client.start()
    await alice.leave()
    assert (await b.wait(PeerDeparted)).peer_id == alice.self_id
    assert not alice.connected
    assert alice.send_chat("after leave")  # queued, never sent: the client is stopped

    await carol.close()
    await b.until(lambda: server.relay.open_connections == 1)  # only bob's is left
    assert a.of(ConnectionLost) == []
    assert [e.peer_id for e in b.of(PeerDeparted)] == [alice.self_id]  # carol is in her grace period
    assert set(bob.peers) == {carol.self_id}
    await bob.close()
    await a.until(lambda: signaling_tasks() == [])  # nothing left running


async def test_signals_and_state_round_trip(server: RunningServer, clients: MakeClient) -> None:
    alice, a = clients(server.url, "alice")
    bob, b = clients(server.url, "bob")
    await alice.start()
    await bob.start()
    assert alice.self_id is not None
    assert bob.self_id is not None

    alice.send_signal(bob.self_id, {"kind": "offer", "sdp": "v=0\r\n"})
    offer = await b.wait(SignalReceived)
    assert (offer.from_id, offer.payload) == (alice.self_id, {"kind": "offer", "sdp": "v=0\r\n"})
    bob.send_signal(alice.self_id, {"kind": "answer", "sdp": "v=0\r\n"})
    assert (await a.wait(SignalReceived)).payload["kind"] == "answer"

    alice.set_state(muted=True)
    seen = await b.wait(PeerUpdated)
    assert (seen.peer.id, seen.peer.username, seen.peer.muted, seen.peer.voice) == (
        alice.self_id,
        "alice",
        True,
        True,
    )
    assert bob.peers[alice.self_id].muted is True
    own = await a.wait(PeerUpdated)  # peer-state goes to the sender too
    assert (own.peer.id, own.peer.muted) == (alice.self_id, True)

    alice.send_signal("nobody", {"kind": "bye"})
    error = await a.wait(ServerError)
    assert (error.code, error.ref) == ("unknown-target", "signal")
    with pytest.raises(ValueError, match="bytes"):
        alice.send_signal(bob.self_id, {"sdp": "x" * 40_000})


async def test_a_lost_place_rejoins_fresh_and_resends_the_state(
    make_server: ServerFactory, clients: MakeClient, stack: contextlib.AsyncExitStack
) -> None:
    server = await make_server(grace_s=0.3)
    net = await stack.enter_async_context(netcut(server.url))
    alice, a = clients(net.url, "alice", backoff=(1.0,))
    bob, b = clients(server.url, "bob")
    first = await alice.start()
    await bob.start()
    alice.send_chat("from my first life")
    await a.wait(ChatReceived)
    alice.set_state(muted=True)
    await b.wait(PeerUpdated)

    net.cut()
    assert (await b.wait(PeerDeparted, timeout=3)).peer_id == first.self_id
    again = await a.wait(RoomJoined, 2, timeout=3)
    assert again.resumed is False
    assert again.self_id != first.self_id
    assert [p.id for p in again.peers] == [bob.self_id]
    assert (await b.wait(PeerArrived)).peer.id == again.self_id
    state = await b.wait(PeerUpdated, 2)
    assert (state.peer.id, state.peer.muted) == (again.self_id, True)
    alice.send_chat("second life")
    second = await a.wait(ChatReceived, 2)
    assert (second.chat.id, second.own) == (2, True)
    assert a.chat_ids() == [1, 2]


async def test_a_ping_timeout_reconnects_and_takes_the_hung_place_over(
    server: RunningServer, clients: MakeClient, stack: contextlib.AsyncExitStack
) -> None:
    net = await stack.enter_async_context(netcut(server.url))
    alice, a = clients(net.url, "alice", ping_interval_s=0.2, ping_timeout_s=0.2)
    first = await alice.start()
    net.hold()  # nothing from the server reaches alice: her pings go unanswered
    bob, b = clients(server.url, "bob")
    await bob.start()
    bob.send_chat("while alice hangs")
    lost = await a.wait(ConnectionLost, timeout=3)
    assert str(lost.reason) == "the server stopped answering (ping timeout)"
    net.release()
    again = await a.wait(RoomJoined, 2)
    assert (again.resumed, again.self_id) == (True, first.self_id)
    bob.send_chat("after")
    await barrier(bob, a)
    assert a.chat_ids() == [1, 2, 3]
    assert b.of(PeerDeparted) == []


async def test_older_history_comes_page_by_page_after_the_joins(
    make_server: ServerFactory, clients: MakeClient
) -> None:
    server = await make_server(chat_rate_per_s=1000.0)
    bob, b = clients(server.url, "bob")
    await bob.start()
    for i in range(60):
        bob.send_chat(f"m{i}")
    await b.until(lambda: len(b.chat_ids()) == 60)
    alice, a = clients(server.url, "alice")
    await alice.start()
    await a.until(lambda: len(a.chat_ids()) == 50)
    alice.fetch_history(11)
    page = await a.wait(HistoryPaged)
    assert (page.before, page.more, page.error) == (11, False, None)
    assert [(r.chat.id, r.chat.text, r.own, r.from_history) for r in page.chats] == [
        (i + 1, f"m{i}", False, True) for i in range(10)
    ]
    assert a.chat_ids() == list(range(11, 61))  # the stream of live chats is untouched
