"""Unit tests of the signaling session's core (``client_desktop.engine.session.Session``).

No sockets and no sleeping: server messages (built from the protocol's
structs), connection reports and a float ``now`` go in, action values come
out, and the tests compare the whole lists. Nonces are ``n1``, ``n2`` … and
the backoff's jitter is whatever the test hands in.
"""

import itertools
from collections.abc import Callable, Sequence

import msgspec
import pytest
from websockets.frames import CloseCode

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
    RoomModerated,
    ServerError,
    SignalReceived,
)
from client_desktop.engine.problems import LinkProblem, LinkTrouble, Reason
from client_desktop.engine.session import (
    DEFAULT_BACKOFF_S,
    DEFAULT_TIMEOUT_S,
    PACE_BURST,
    PACE_PER_S,
    Connect,
    Disconnect,
    Emit,
    Phase,
    Refused,
    Session,
    SessionAction,
    Transmit,
)
from protocol import (
    AppCloseCode,
    ChatPosted,
    ClientMessage,
    ErrorReported,
    FetchHistory,
    HistoryFetched,
    IceServer,
    Join,
    Joined,
    Kick,
    Leave,
    LockRoom,
    ModAction,
    Moderated,
    ModRequest,
    Peer,
    PeerJoined,
    PeerLeft,
    PeerStateChanged,
    Role,
    SelfInfo,
    SendChat,
    SendSignal,
    ServerInfo,
    ServerMute,
    SetState,
    SignalRelayed,
    decode_client,
    encode,
    limits,
)

T0 = 1000.0
TIMEOUT = DEFAULT_TIMEOUT_S
FIRST_DELAY = DEFAULT_BACKOFF_S[0]
LOST = LinkProblem(LinkTrouble.LOST)
GAP = 1.0 / PACE_PER_S  # between paced frames once the burst is spent
JOIN = Join(room="lobby", username="ann")
BOB = Peer(id="p2", username="bob", muted=False, deafened=False, voice=True)
ICE = IceServer(urls=["stun:stun.example:3478"])


# --- helpers -------------------------------------------------------------------------------


def make_session(
    jitter: Callable[[], float] = lambda: 0.0,
    backoff: Sequence[float] = DEFAULT_BACKOFF_S,
    where: str = "the server",
) -> Session:
    """A session whose nonces are n1, n2, … in the order asked for."""
    numbers = itertools.count(1)
    return Session(JOIN, make_nonce=lambda: f"n{next(numbers)}", jitter=jitter, backoff=backoff, where=where)


def joined(
    self_id: str = "p1",
    peers: Sequence[Peer] = (BOB,),
    history: Sequence[ChatPosted] = (),
    resume: str = "r1",
    resumed: bool = False,
) -> bytes:
    """A ``joined`` message as the server sends it."""
    return encode(
        Joined(
            room="lobby",
            self_=SelfInfo(id=self_id, username="ann"),
            peers=list(peers),
            history=list(history),
            resume=resume,
            resumed=resumed,
            ice_servers=[ICE],
            server=ServerInfo(version="9.9.9"),
        )
    )


def room_joined(self_id: str = "p1", peers: Sequence[Peer] = (BOB,), resumed: bool = False) -> Emit:
    return Emit(RoomJoined("lobby", self_id, "ann", tuple(peers), resumed, (ICE,)))


def chat(chat_id: int, from_id: str = "p2", nonce: str | None = None, text: str = "hi") -> ChatPosted:
    username = "bob" if from_id == "p2" else "ann"
    return ChatPosted(id=chat_id, from_=from_id, username=username, text=text, ts=1, nonce=nonce)


def join_frame(**fields: object) -> Transmit:
    return Transmit(encode(msgspec.structs.replace(JOIN, **fields)))


def chat_frame(nonce: str, text: str = "hi") -> Transmit:
    return Transmit(encode(SendChat(text=text, nonce=nonce)))


def state_frame(muted: bool = False, deafened: bool = False, voice: bool = True) -> Transmit:
    return Transmit(encode(SetState(muted=muted, deafened=deafened, voice=voice)))


def sent(actions: Sequence[SessionAction]) -> list[ClientMessage]:
    """The client messages among the actions, decoded as the server would."""
    return [decode_client(a.data) for a in actions if isinstance(a, Transmit)]


def in_room(session: Session | None = None, message: bytes | None = None, now: float = T0) -> Session:
    """A session joined, or re-joined at its reconnect deadline, with ``message`` (default ``joined()``)."""
    session = session or make_session()
    if session.phase is Phase.IDLE:
        assert session.start() == [Connect()]
    else:
        assert session.handle_timer(now) == [Connect()]
    assert len(session.opened(now)) == 1
    session.received(joined() if message is None else message, now)
    assert session.connected
    return session


def lose(session: Session, now: float = T0) -> float:
    """The connection is lost; return the time of the next attempt."""
    actions = session.connection_closed(None, None, now)
    assert actions[0] == Disconnect()
    deadline = session.get_timer()
    assert deadline is not None
    return deadline


# --- construction and start ----------------------------------------------------------------


@pytest.mark.parametrize("backoff", [(), (1.0, -0.5)], ids=["empty", "negative"])
def test_backoff_needs_a_delay_and_none_negative(backoff: Sequence[float]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        make_session(backoff=backoff)


def test_start_connects_once_only() -> None:
    session = make_session()
    assert session.start() == [Connect()]
    assert session.phase is Phase.CONNECTING
    with pytest.raises(RuntimeError):
        session.start()
    closed = make_session()
    closed.close()
    with pytest.raises(RuntimeError):
        closed.start()


def test_opened_sends_join_and_arms_the_join_timeout() -> None:
    session = make_session()
    session.start()
    assert session.opened(T0) == [Transmit(encode(JOIN))]
    assert session.phase is Phase.JOINING
    assert session.get_timer() == T0 + TIMEOUT
    assert session.opened(T0) == []  # not connecting any more


def test_join_carries_the_voice_chosen_before_joining() -> None:
    session = make_session()
    assert session.set_state(T0, voice=False) == []
    session.start()
    assert session.opened(T0) == [join_frame(voice=False)]


# --- joining ---------------------------------------------------------------------------------


def test_joined_tells_the_room_and_history_and_takes_the_place() -> None:
    session = make_session()
    session.start()
    session.opened(T0)
    history = [chat(3), chat(4, "p1", nonce="old")]
    actions = session.received(joined(history=history), T0 + 1)
    assert actions == [
        room_joined(),
        Emit(ChatReceived(history[0], own=False, from_history=True)),
        Emit(ChatReceived(history[1], own=True, from_history=True)),
    ]
    assert session.connected
    assert session.phase is Phase.JOINED
    assert (session.self_id, session.resume_token, session.last_chat_id) == ("p1", "r1", 4)
    assert session.peers == {"p2": BOB}
    assert session.get_timer() is None


def test_before_joined_other_messages_are_ignored() -> None:
    session = make_session()
    session.start()
    assert session.received(encode(PeerJoined(peer=BOB)), T0) == []  # not before `opened` either
    session.opened(T0)
    assert session.received(encode(PeerJoined(peer=BOB)), T0) == []
    assert session.received(encode(ErrorReported(code="rate-limited", message="slow")), T0) == []
    assert session.phase is Phase.JOINING
    assert session.peers == {}


def test_unreadable_server_messages_are_ignored() -> None:
    session = make_session()
    session.start()
    session.opened(T0)
    assert session.received(b'{"type": "newfangled"}', T0) == []
    assert session.received("not json", T0) == []
    assert session.received(joined(), T0) == [room_joined()]
    assert session.received(b'{"type": "joined"}', T0) == []


@pytest.mark.parametrize(
    "code", ["auth-failed", "name-taken", "room-full", "server-full", "bad-message", "banned", "room-locked"]
)
def test_a_refused_first_join_is_refused_to_start(code: str) -> None:
    session = make_session()
    session.start()
    session.opened(T0)
    actions = session.received(encode(ErrorReported(code=code, message="no")), T0)
    assert actions == [Disconnect(), Refused(FailureCode(code), "no")]
    assert session.phase is Phase.CLOSED
    assert session.get_timer() is None


@pytest.mark.parametrize("code", [FailureCode.UNREACHABLE, FailureCode.TLS])
def test_a_first_connection_that_fails_is_refused_to_start(code: FailureCode) -> None:
    session = make_session()
    session.start()
    assert session.connect_failed(code, "nope", T0) == [Refused(code, "nope")]
    assert session.phase is Phase.CLOSED
    assert session.connect_failed(code, "nope", T0) == []  # not connecting any more


CLOSED_EARLY = LinkProblem(LinkTrouble.CLOSED_BEFORE_JOIN, "wss://vox")


@pytest.mark.parametrize(
    ("received", "code", "message", "english"),
    [
        (
            (CloseCode.TRY_AGAIN_LATER, ""),
            FailureCode.SERVER_FULL,
            LinkProblem(LinkTrouble.SERVER_FULL),
            "the server is full, try again later",
        ),
        (
            (CloseCode.POLICY_VIOLATION, "room-full"),
            FailureCode.ROOM_FULL,
            LinkProblem(LinkTrouble.JOIN_REFUSED, detail="room-full"),
            "the server refused to join: room-full",
        ),
        (
            (CloseCode.POLICY_VIOLATION, "go away"),
            FailureCode.UNREACHABLE,
            CLOSED_EARLY,
            "wss://vox closed the connection before the room was joined",
        ),
        (
            (CloseCode.NORMAL_CLOSURE, "room-full"),
            FailureCode.UNREACHABLE,
            CLOSED_EARLY,
            "wss://vox closed the connection before the room was joined",
        ),
        (
            None,
            FailureCode.UNREACHABLE,
            CLOSED_EARLY,
            "wss://vox closed the connection before the room was joined",
        ),
    ],
    ids=["try-again-later", "policy-refusal", "policy-other", "normal-close", "no-close-frame"],
)
def test_a_close_before_joined_says_why_by_close_code(
    received: tuple[int, str] | None, code: FailureCode, message: LinkProblem, english: str
) -> None:
    session = make_session(where="wss://vox")
    session.start()
    session.opened(T0)
    assert session.connection_closed(received, None, T0) == [Disconnect(), Refused(code, message)]
    assert str(message) == english


def test_a_join_left_unanswered_times_out() -> None:
    session = make_session()
    session.start()
    session.opened(T0)
    assert session.handle_timer(T0 + TIMEOUT - 0.01) == []
    assert session.handle_timer(T0 + TIMEOUT) == [
        Disconnect(),
        Refused(FailureCode.UNREACHABLE, LinkProblem(LinkTrouble.JOIN_UNANSWERED, "the server", seconds=10)),
    ]


# --- in the room -------------------------------------------------------------------------------


def test_chat_is_delivered_once_per_id_in_id_order() -> None:
    session = in_room()
    assert session.received(encode(chat(5)), T0) == [
        Emit(ChatReceived(chat(5), own=False, from_history=False))
    ]
    assert session.received(encode(chat(5)), T0) == []
    assert session.received(encode(chat(4)), T0) == []
    assert session.last_chat_id == 5


def test_a_chat_stays_pending_until_the_server_echoes_it() -> None:
    session = in_room()
    nonce, actions = session.send_chat("  hello ", T0)
    assert (nonce, actions) == ("n1", [chat_frame("n1", "hello")])
    assert session.pending_chats == ("n1",)
    echo = chat(1, "p1", nonce="n1", text="hello")
    assert session.received(encode(echo), T0) == [Emit(ChatReceived(echo, own=True, from_history=False))]
    assert not session.pending_chats


def test_a_peers_chat_with_our_nonce_is_not_our_echo() -> None:
    session = in_room()
    session.send_chat("hello", T0)
    session.received(encode(chat(1, "p2", nonce="n1")), T0)
    assert session.pending_chats == ("n1",)


def test_a_chat_the_protocol_refuses_raises() -> None:
    session = in_room()
    with pytest.raises(ValueError, match="characters"):
        session.send_chat("   ", T0)
    assert session.pending_chats == ()


def test_signals_go_out_at_once_when_joined_and_are_dropped_otherwise() -> None:
    session = make_session()
    assert session.send_signal("p2", {"kind": "bye"}, T0) == []
    in_room(session)
    assert session.send_signal("p2", {"kind": "bye"}, T0) == [
        Transmit(encode(SendSignal(target="p2", payload={"kind": "bye"})))
    ]
    with pytest.raises(ValueError, match="bytes"):
        session.send_signal("p2", {"sdp": "x" * limits.MAX_SIGNAL_PAYLOAD_BYTES}, T0)


def test_a_relayed_signal_is_emitted() -> None:
    session = in_room()
    relayed = SignalRelayed(from_="p2", payload={"kind": "offer", "sdp": "s"})
    assert session.received(encode(relayed), T0) == [
        Emit(SignalReceived("p2", {"kind": "offer", "sdp": "s"}))
    ]


def test_peers_arriving_and_departing_keep_the_peer_list_current() -> None:
    session = in_room()
    carol = Peer(id="p3", username="carol", muted=True, deafened=False, voice=False)
    assert session.received(encode(PeerJoined(peer=carol)), T0) == [Emit(PeerArrived(carol))]
    assert session.peers == {"p2": BOB, "p3": carol}
    assert session.received(encode(PeerLeft(id="p2")), T0) == [Emit(PeerDeparted("p2"))]
    assert session.received(encode(PeerLeft(id="p2")), T0) == [Emit(PeerDeparted("p2"))]
    assert session.peers == {"p3": carol}


def test_peer_state_updates_a_known_peer_and_our_own_place() -> None:
    session = in_room()
    bob_muted = Peer(id="p2", username="bob", muted=True, deafened=False, voice=True)
    change = PeerStateChanged(id="p2", muted=True, deafened=False, voice=True)
    assert session.received(encode(change), T0) == [Emit(PeerUpdated(bob_muted))]
    assert session.peers == {"p2": bob_muted}
    mine = PeerStateChanged(id="p1", muted=False, deafened=True, voice=False)
    assert session.received(encode(mine), T0) == [
        Emit(PeerUpdated(Peer(id="p1", username="ann", muted=False, deafened=True, voice=False)))
    ]
    stranger = PeerStateChanged(id="p9", muted=True, deafened=True, voice=True)
    assert session.received(encode(stranger), T0) == []


def test_a_server_error_in_the_room_is_reported() -> None:
    session = in_room()
    error = ErrorReported(code="rate-limited", message="slow down", ref="chat")
    assert session.received(encode(error), T0) == [Emit(ServerError("rate-limited", "slow down", "chat"))]
    assert session.connected


def test_a_second_joined_in_the_room_is_ignored() -> None:
    session = in_room()
    assert session.received(joined(self_id="p7", peers=()), T0) == []
    assert (session.self_id, session.peers) == ("p1", {"p2": BOB})


def test_set_state_sends_the_whole_state_when_joined() -> None:
    session = in_room()
    assert session.set_state(T0, muted=True) == [state_frame(muted=True)]
    assert session.set_state(T0, deafened=True) == [state_frame(muted=True, deafened=True)]
    assert session.set_state(T0, voice=False, muted=False) == [state_frame(deafened=True, voice=False)]


# --- losing the connection -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "sent_code", "reason", "english"),
    [
        (None, None, LinkProblem(LinkTrouble.LOST), "the connection was lost"),
        (
            None,
            CloseCode.INTERNAL_ERROR,
            LinkProblem(LinkTrouble.PING_TIMEOUT),
            "the server stopped answering (ping timeout)",
        ),
        ((CloseCode.GOING_AWAY, ""), None, LinkProblem(LinkTrouble.RESTARTING), "the server is restarting"),
        (
            (CloseCode.NORMAL_CLOSURE, "bye"),
            None,
            LinkProblem(LinkTrouble.CLOSED, detail="1000", reason="bye"),
            "the server closed the connection (code 1000: bye)",
        ),
        (
            (CloseCode.INTERNAL_ERROR, ""),
            None,
            LinkProblem(LinkTrouble.CLOSED, detail="1011"),
            "the server closed the connection (code 1011)",
        ),
    ],
    ids=["lost", "ping-timeout", "restarting", "closed-with-reason", "closed"],
)
def test_a_lost_connection_is_retried_after_the_first_delay(
    received: tuple[int, str] | None, sent_code: int | None, reason: LinkProblem, english: str
) -> None:
    session = in_room()
    actions = session.connection_closed(received, sent_code, T0 + 5)
    assert actions == [Disconnect(), Emit(ConnectionLost(reason, FIRST_DELAY))]
    assert str(reason) == english
    assert (session.phase, session.connected) == (Phase.WAITING, False)
    assert session.get_timer() == T0 + 5 + FIRST_DELAY
    assert session.handle_timer(T0 + 5) == []
    assert session.handle_timer(T0 + 5 + FIRST_DELAY) == [Connect()]
    assert session.phase is Phase.CONNECTING


def test_superseded_is_final() -> None:
    session = in_room()
    actions = session.connection_closed((AppCloseCode.SUPERSEDED, "superseded"), None, T0)
    reason = LinkProblem(LinkTrouble.SUPERSEDED)
    assert actions == [Disconnect(), Emit(ConnectionFailed(FailureCode.SUPERSEDED, reason))]
    assert str(reason) == "this place was taken over by another connection (joined again elsewhere?)"
    assert session.phase is Phase.CLOSED
    assert session.get_timer() is None


def test_a_close_report_while_not_connected_is_ignored() -> None:
    session = make_session()
    assert session.connection_closed(None, None, T0) == []
    in_room(session)
    lose(session)
    assert session.connection_closed(None, None, T0) == []
    assert session.phase is Phase.WAITING


def test_reconnect_resumes_the_place_from_the_last_chat_seen() -> None:
    session = in_room()
    session.received(encode(chat(7)), T0)
    at = lose(session)
    assert session.handle_timer(at) == [Connect()]
    assert session.opened(at) == [join_frame(resume="r1", since=7)]


def test_reconnect_without_any_chat_asks_for_history_since_zero() -> None:
    session = in_room()
    at = lose(session)
    session.handle_timer(at)
    assert session.opened(at) == [join_frame(resume="r1", since=0)]


def test_backoff_delays_are_stretched_by_the_jitter_and_the_last_one_repeats() -> None:
    session = in_room(make_session(jitter=lambda: 0.5, backoff=(1.0, 2.0)))
    assert session.connection_closed(None, None, T0) == [
        Disconnect(),
        Emit(ConnectionLost(LOST, 1.5)),
    ]
    now = T0 + 1.5
    for delay in (3.0, 3.0):
        assert session.get_timer() == now
        assert session.handle_timer(now) == [Connect()]
        assert session.connect_failed(FailureCode.UNREACHABLE, "refused", now) == [
            Emit(ConnectionLost("refused", delay))
        ]
        now += delay


def test_the_reported_delay_is_rounded_to_milliseconds() -> None:
    session = in_room(make_session(jitter=lambda: 1 / 3, backoff=(1.0,)))
    actions = session.connection_closed(None, None, T0)
    assert actions == [Disconnect(), Emit(ConnectionLost(LOST, 1.333))]
    assert session.get_timer() == T0 + 1.0 * (1 + 1 / 3)


def test_the_backoff_starts_over_after_a_join() -> None:
    session = in_room(make_session(backoff=(1.0, 2.0, 4.0)))
    at = lose(session)
    session.handle_timer(at)
    assert session.connect_failed(FailureCode.UNREACHABLE, "x", at) == [Emit(ConnectionLost("x", 2.0))]
    in_room(session, joined(resumed=True), now=at + 2.0)
    assert session.connection_closed(None, None, at + 3) == [
        Disconnect(),
        Emit(ConnectionLost(LOST, 1.0)),
    ]


@pytest.mark.parametrize(
    ("fail", "message"),
    [
        (
            lambda s, now: s.received(encode(ErrorReported(code="server-full", message="full")), now),
            "full",
        ),
        (
            lambda s, now: s.connection_closed(None, None, now),
            LinkProblem(LinkTrouble.CLOSED_BEFORE_JOIN, "the server"),
        ),
        (
            lambda s, now: s.handle_timer(now + TIMEOUT),
            LinkProblem(LinkTrouble.JOIN_UNANSWERED, "the server", seconds=TIMEOUT),
        ),
    ],
    ids=["server-full", "closed-before-joined", "join-timeout"],
)
def test_a_rejoin_that_fails_for_a_passing_reason_waits_and_tries_again(
    fail: Callable[[Session, float], list[SessionAction]], message: Reason
) -> None:
    session = in_room()
    at = lose(session)
    session.handle_timer(at)
    session.opened(at)
    assert fail(session, at) == [Disconnect(), Emit(ConnectionLost(message, DEFAULT_BACKOFF_S[1]))]
    assert session.phase is Phase.WAITING


def test_an_untrusted_certificate_on_reconnect_is_final() -> None:
    session = in_room()
    at = lose(session)
    session.handle_timer(at)
    assert session.connect_failed(FailureCode.TLS, "untrusted", at) == [
        Emit(ConnectionFailed(FailureCode.TLS, "untrusted"))
    ]
    assert session.phase is Phase.CLOSED
    assert session.get_timer() is None


def test_a_refused_rejoin_is_final() -> None:
    session = in_room()
    at = lose(session)
    session.handle_timer(at)
    session.opened(at)
    refusal = encode(ErrorReported(code="auth-failed", message="wrong password"))
    assert session.received(refusal, at) == [
        Disconnect(),
        Emit(ConnectionFailed(FailureCode.AUTH_FAILED, "wrong password")),
    ]
    assert session.phase is Phase.CLOSED


# --- re-joining ------------------------------------------------------------------------------


def test_a_resumed_rejoin_tells_the_room_again_and_only_new_history() -> None:
    session = in_room(message=joined(history=[chat(1)]))
    at = lose(session)
    rejoin = joined(peers=(), history=[chat(1), chat(2)], resume="r2", resumed=True)
    session.handle_timer(at)
    session.opened(at)
    assert session.received(rejoin, at) == [
        room_joined(peers=(), resumed=True),
        Emit(ChatReceived(chat(2), own=False, from_history=True)),
    ]
    assert (session.resume_token, session.last_chat_id, session.peers) == ("r2", 2, {})


def test_chats_typed_offline_are_sent_once_after_the_join_unless_the_history_has_them() -> None:
    session = in_room()
    session.send_chat("one", T0)  # n1: transmitted, but the echo never came
    at = lose(session)
    assert session.send_chat("two", at) == ("n2", [])
    assert session.send_chat("three", at) == ("n3", [])
    assert list(session.pending_chats) == ["n1", "n2", "n3"]
    echo = chat(1, "p1", nonce="n1", text="one")
    session.handle_timer(at)
    session.opened(at)
    assert session.received(joined(history=[echo], resumed=True), at) == [
        room_joined(resumed=True),
        Emit(ChatReceived(echo, own=True, from_history=True)),
        chat_frame("n2", "two"),
        chat_frame("n3", "three"),
    ]
    assert session.pending_chats == ("n2", "n3")


def test_after_a_fresh_rejoin_chats_from_our_old_id_are_still_ours() -> None:
    session = in_room()
    session.send_chat("one", T0)
    at = lose(session)
    echo = chat(1, "p1", nonce="n1", text="one")
    in_room(session, joined(self_id="p5", history=[echo], resume="r9"), now=at)
    assert session.self_id == "p5"
    assert session.pending_chats == ()
    mine = chat(2, "p1", text="late echo")
    assert session.received(encode(mine), at) == [Emit(ChatReceived(mine, own=True, from_history=False))]


def test_chats_queued_before_the_first_join_go_out_after_it() -> None:
    session = make_session()
    session.send_chat("early", T0)
    session.start()
    session.opened(T0)
    assert session.received(joined(), T0) == [room_joined(), chat_frame("n1", "early")]


def test_state_set_offline_is_sent_after_the_rejoin() -> None:
    session = in_room()
    at = lose(session)
    assert session.set_state(at, muted=True) == []
    session.handle_timer(at)
    assert session.opened(at) == [join_frame(resume="r1", since=0)]
    assert session.received(joined(resumed=True), at) == [room_joined(resumed=True), state_frame(muted=True)]


def test_state_is_not_resent_when_the_servers_view_already_matches() -> None:
    session = in_room()
    session.set_state(T0, muted=True)
    session.received(encode(PeerStateChanged(id="p1", muted=True, deafened=False, voice=True)), T0)
    at = lose(session)
    session.set_state(at, voice=False)  # the join carries voice
    session.handle_timer(at)
    assert session.opened(at) == [join_frame(voice=False, resume="r1", since=0)]
    assert session.received(joined(resumed=True), at) == [room_joined(resumed=True)]


def test_state_is_resent_when_the_server_kept_an_older_one() -> None:
    session = in_room()
    session.set_state(T0, muted=True)
    session.received(encode(PeerStateChanged(id="p1", muted=True, deafened=False, voice=True)), T0)
    at = lose(session)
    session.set_state(at, muted=False)
    session.handle_timer(at)
    session.opened(at)
    assert session.received(joined(resumed=True), at) == [room_joined(resumed=True), state_frame()]


def test_a_fresh_place_gets_our_whole_state_again() -> None:
    session = in_room()
    session.set_state(T0, deafened=True)
    session.received(encode(PeerStateChanged(id="p1", muted=False, deafened=True, voice=True)), T0)
    at = lose(session)
    session.handle_timer(at)
    session.opened(at)
    assert session.received(joined(self_id="p5"), at) == [
        room_joined(self_id="p5"),
        state_frame(deafened=True),
    ]


def test_state_sent_but_never_echoed_is_resent_when_it_changed_back_offline() -> None:
    session = in_room()
    assert session.set_state(T0, muted=True) == [state_frame(muted=True)]  # the server applies it
    at = lose(session)  # before its peer-state echo reached us
    session.set_state(at, muted=False)
    session.handle_timer(at)
    session.opened(at)
    assert session.received(joined(resumed=True), at) == [room_joined(resumed=True), state_frame()]


# --- leaving and closing ---------------------------------------------------------------------


def test_leave_says_leave_and_is_closed_when_the_server_closes() -> None:
    session = in_room()
    assert session.leave(T0) == [Transmit(encode(Leave()))]
    assert (session.phase, session.connected) == (Phase.LEAVING, False)
    assert session.get_timer() == T0 + TIMEOUT
    assert session.received(encode(chat(1)), T0) == [
        Emit(ChatReceived(chat(1), own=False, from_history=False))
    ]
    assert session.send_chat("bye all", T0) == ("n1", [])
    assert session.connection_closed((CloseCode.NORMAL_CLOSURE, "left"), None, T0 + 0.1) == []
    assert session.phase is Phase.CLOSED
    assert session.get_timer() is None


def test_leave_closes_by_itself_when_the_server_does_not() -> None:
    session = in_room()
    session.leave(T0)
    assert session.handle_timer(T0 + TIMEOUT - 0.01) == []
    assert session.handle_timer(T0 + TIMEOUT) == [Disconnect()]
    assert session.phase is Phase.CLOSED


@pytest.mark.parametrize("phase", [Phase.IDLE, Phase.JOINING, Phase.WAITING])
def test_leave_when_not_in_the_room_just_closes(phase: Phase) -> None:
    session = make_session()
    if phase is not Phase.IDLE:
        in_room(session)
        lose(session)
        if phase is Phase.JOINING:
            session.handle_timer(T0 + FIRST_DELAY)
            session.opened(T0 + FIRST_DELAY)
    assert session.phase is phase
    assert session.leave(T0 + 1) == [Disconnect()]
    assert session.phase is Phase.CLOSED
    assert session.get_timer() is None
    assert session.leave(T0 + 2) == []
    assert session.close() == []


def test_close_in_the_room_disconnects_without_leave() -> None:
    session = in_room()
    assert session.close() == [Disconnect()]
    assert session.phase is Phase.CLOSED
    assert session.received(encode(chat(1)), T0) == []
    assert session.opened(T0) == []


# --- pacing ----------------------------------------------------------------------------------


def spend_burst(session: Session, now: float = T0) -> None:
    """Send chats until the pacing budget is spent."""
    for _ in range(PACE_BURST):
        _, actions = session.send_chat("x", now)
        assert len(actions) == 1


def test_paced_frames_go_out_in_a_burst_then_one_per_gap() -> None:
    session = in_room()
    spend_burst(session)
    assert session.set_state(T0, muted=True) == []
    assert session.send_chat("later", T0) == (f"n{PACE_BURST + 1}", [])
    assert session.get_timer() == T0 + GAP
    assert session.handle_timer(T0 + GAP - 0.001) == []
    assert session.handle_timer(T0 + GAP) == [state_frame(muted=True)]
    assert session.get_timer() == T0 + 2 * GAP
    assert session.handle_timer(T0 + 2 * GAP) == [chat_frame(f"n{PACE_BURST + 1}", "later")]
    assert session.get_timer() is None


def test_unpaced_frames_wait_behind_a_waiting_paced_one() -> None:
    session = in_room()
    spend_burst(session)
    session.send_chat("paced", T0)
    assert session.send_signal("p2", {"kind": "bye"}, T0) == []
    assert session.handle_timer(T0 + GAP) == [
        chat_frame(f"n{PACE_BURST + 1}", "paced"),
        Transmit(encode(SendSignal(target="p2", payload={"kind": "bye"}))),
    ]


def test_the_budget_refills_with_time() -> None:
    session = in_room()
    spend_burst(session)
    later = T0 + 3 * GAP
    actions = [session.send_chat("x", later)[1] for _ in range(4)]
    assert [len(a) for a in actions] == [1, 1, 1, 0]
    assert session.get_timer() == later + GAP


def test_a_long_outbox_is_paced_after_the_join() -> None:
    session = make_session()
    for _ in range(PACE_BURST + 1):
        session.send_chat("queued", T0)
    session.start()
    session.opened(T0)
    actions = session.received(joined(), T0)
    assert actions == [room_joined(), *(chat_frame(f"n{i}", "queued") for i in range(1, PACE_BURST + 1))]
    assert session.get_timer() == T0 + GAP
    assert session.handle_timer(T0 + GAP) == [chat_frame(f"n{PACE_BURST + 1}", "queued")]


def test_frames_waiting_when_the_connection_drops_are_discarded_and_chats_resent() -> None:
    session = in_room()
    spend_burst(session)
    session.send_chat("waiting", T0)
    session.send_signal("p2", {"kind": "bye"}, T0)
    at = lose(session, T0 + 0.01)
    assert at == T0 + 0.01 + FIRST_DELAY  # the pacing timer is gone
    session.handle_timer(at)
    session.opened(at)
    history = [chat(i, "p1", nonce=f"n{i}", text="x") for i in range(1, PACE_BURST + 1)]
    assert session.received(joined(history=history, resumed=True), at)[-1] == chat_frame(
        f"n{PACE_BURST + 1}", "waiting"
    )
    assert session.pending_chats == (f"n{PACE_BURST + 1}",)


def test_leave_waits_behind_paced_frames() -> None:
    session = in_room()
    spend_burst(session)
    session.send_chat("last words", T0)
    assert session.leave(T0) == []
    assert session.get_timer() == T0 + GAP
    assert session.handle_timer(T0 + GAP) == [
        chat_frame(f"n{PACE_BURST + 1}", "last words"),
        Transmit(encode(Leave())),
    ]
    assert session.get_timer() == T0 + TIMEOUT


# --- moderation ------------------------------------------------------------------------------


def test_moderation_requests_go_out_paced_when_joined_and_are_dropped_otherwise() -> None:
    session = make_session()
    kick = Kick(target="p2", reason="spam")
    assert session.moderate(kick, T0) == []
    in_room(session)
    requests: list[ModRequest] = [
        kick,
        ServerMute(target="p2", muted=True),
        LockRoom(locked=True, password="pw"),
    ]
    assert [a for r in requests for a in session.moderate(r, T0)] == [Transmit(encode(r)) for r in requests]
    for _ in range(PACE_BURST - len(requests)):
        session.moderate(kick, T0)
    assert session.moderate(kick, T0) == []  # over the pace: waits like a chat
    assert session.get_timer() == pytest.approx(T0 + GAP)


def test_our_role_and_the_peers_come_from_joined() -> None:
    mia = Peer(id="p3", username="mia", muted=False, deafened=False, voice=True, role=Role.MODERATOR)
    message = joined(peers=(BOB, mia))
    assert make_session().role is Role.MEMBER
    moderator = msgspec.json.decode(message, type=Joined)
    moderator.self_.role = Role.MODERATOR
    session = in_room(message=encode(moderator))
    assert session.role is Role.MODERATOR
    assert session.peers["p3"].role is Role.MODERATOR
    seated = make_session()
    seated.start()
    seated.opened(T0)
    emitted = seated.received(encode(moderator), T0)
    assert [a.event.role for a in emitted if isinstance(a, Emit) and isinstance(a.event, RoomJoined)] == [
        Role.MODERATOR
    ]  # the owner learns it too: the app shows moderators their menus


def test_a_moderated_notice_is_emitted_and_a_server_mute_shows_in_the_peer() -> None:
    session = in_room()
    notice = Moderated(
        action=ModAction.SERVER_MUTE,
        by="p3",
        by_username="mia",
        target="p2",
        target_username="bob",
        muted=True,
    )
    assert session.received(encode(notice), T0) == [Emit(RoomModerated(notice))]
    assert RoomModerated(notice).text == "mia muted bob"
    change = PeerStateChanged(id="p2", muted=True, deafened=False, voice=True, server_muted=True)
    bob_muted = Peer(id="p2", username="bob", muted=True, deafened=False, voice=True, server_muted=True)
    assert session.received(encode(change), T0) == [Emit(PeerUpdated(bob_muted))]


@pytest.mark.parametrize(
    ("code", "failure"),
    [(AppCloseCode.KICKED, FailureCode.KICKED), (AppCloseCode.BANNED, FailureCode.BANNED)],
)
def test_a_kick_or_a_ban_is_final(code: AppCloseCode, failure: FailureCode) -> None:
    session = in_room()
    actions = session.connection_closed((code, failure.value), None, T0)
    reason = LinkProblem(LinkTrouble.REMOVED, detail=failure.value)
    assert actions == [Disconnect(), Emit(ConnectionFailed(failure, reason))]
    assert str(reason) == f"a moderator removed you from the room: {failure.value}"
    assert session.phase is Phase.CLOSED


# --- paging back (docs/protocol.md, "Paging back") ---------------------------------------


def test_a_history_page_is_asked_once_and_handed_over_apart_from_the_live_chats() -> None:
    session = in_room()
    assert sent(session.fetch_history(71, T0)) == [FetchHistory(before=71)]
    assert session.fetch_history(71, T0) == []  # one request at a time
    page = HistoryFetched(before=71, history=[chat(69), chat(70, from_id="p1")], more=True)
    older = (ChatReceived(chat(69), False, True), ChatReceived(chat(70, from_id="p1"), True, True))
    assert session.received(encode(page), T0) == [Emit(HistoryPaged(71, older, True))]
    assert session.last_chat_id is None  # older chats are not part of the exactly-once stream
    assert session.received(encode(page), T0) == []  # not asked for
    assert sent(session.fetch_history(69, T0)) == [FetchHistory(before=69)]


def test_a_server_without_paging_says_bad_message_and_paging_stops_without_an_error_shown() -> None:
    session = in_room()
    session.fetch_history(71, T0)
    old = ErrorReported(code="bad-message", message="Invalid value 'history'", ref="history")
    assert session.received(encode(old), T0) == [Emit(HistoryPaged(71, (), False, "Invalid value 'history'"))]
    session.fetch_history(71, T0)
    slow = ErrorReported(code="rate-limited", message="slow down", ref="history")
    assert session.received(encode(slow), T0) == [Emit(HistoryPaged(71, (), True, "slow down"))]


def test_a_page_lost_with_the_connection_is_answered_and_none_is_asked_while_away() -> None:
    session = in_room()
    session.fetch_history(71, T0)
    actions = session.connection_closed(None, None, T0)
    assert Emit(HistoryPaged(71, (), True, "the connection was lost")) in actions
    assert session.fetch_history(71, T0) == []
