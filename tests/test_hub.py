"""Unit tests of the rooms core (``signaling_server.hub.Hub``) with an explicit clock.

No sockets and no sleeping: JSON text and a wall-clock ``now`` go in, effect
values come out, and the tests check them (their codes, ids and order).
"""

import itertools
import json
import logging
from typing import Any

import msgspec
import pytest
from websockets.frames import CloseCode

from protocol import (
    AppCloseCode,
    ErrorReported,
    IceServer,
    Joined,
    ModAction,
    Moderated,
    Peer,
    PeerJoined,
    PeerLeft,
    PeerStateChanged,
    Role,
    SelfInfo,
    ServerInfo,
    SignalRelayed,
    limits,
)
from signaling_server import turn
from signaling_server.effects import (
    Close,
    DropPlace,
    Effect,
    PauseReading,
    PostChat,
    SaveBan,
    SavePlace,
    Send,
    SendHistory,
    SendJoined,
)
from signaling_server.hub import (
    JOIN_DEADLINE_S,
    MAX_GRACE_PER_ADDRESS,
    MAX_UNJOINED_PER_ADDRESS,
    Hub,
    HubConfig,
    hash_token,
    new_peer_id,
)
from signaling_server.model import AddressBan, ChatDraft, ConnId, PeerId, Place
from signaling_server.ratelimit import AUTH_FORGET_S, AuthBackoff, TokenBucket

T0 = 1_700_000_000.0  # wall-clock seconds, as the transport passes them
GRACE = limits.DEFAULT_GRACE_S

A, B, C, D, E = (ConnId(n) for n in range(1, 6))
ADDR = "192.0.2.1"  # TEST-NET-1: every connection comes from here unless a test says otherwise


# --- helpers -------------------------------------------------------------------------------


def make_hub(**overrides: Any) -> Hub:
    """A hub whose peer ids are p1, p2, ... in creation order."""
    ids = itertools.count(1)
    return Hub(HubConfig(version="9.9.9", **overrides), make_peer_id=lambda: PeerId(f"p{next(ids)}"))


def send(hub: Hub, conn: ConnId, message: dict[str, Any], now: float = T0) -> list[Effect]:
    return hub.receive(conn, json.dumps(message), now)


def join_effects(
    hub: Hub, conn: ConnId, username: str, room: str = "lobby", now: float = T0, **extra: Any
) -> list[Effect]:
    assert hub.open(conn, now, ADDR) == []
    return send(hub, conn, {"type": "join", "room": room, "username": username, **extra}, now)


def joined_of(effects: list[Effect]) -> Joined:
    found = [e for e in effects if isinstance(e, SendJoined)]
    assert len(found) == 1, effects
    return found[0].message


def join(hub: Hub, conn: ConnId, username: str, room: str = "lobby", now: float = T0, **extra: Any) -> Joined:
    return joined_of(join_effects(hub, conn, username, room, now, **extra))


def error(code: str, message: str, ref: str | None = None, target: str | None = None) -> ErrorReported:
    return ErrorReported(code=code, message=message, ref=ref, target=target)


def only_error(effects: list[Effect], conn: ConnId) -> ErrorReported:
    """The effects are exactly one ``error`` sent to ``conn``; return it."""
    assert len(effects) == 1, effects
    effect = effects[0]
    assert isinstance(effect, Send)
    assert effect.conns == (conn,)
    assert isinstance(effect.message, ErrorReported)
    return effect.message


def kinds(effects: list[Effect]) -> list[str]:
    """Effect types, with the message type of each ``Send``: compact order checks."""
    out = []
    for effect in effects:
        if isinstance(effect, Send):
            tag = type(effect.message).__struct_config__.tag
            out.append(f"Send:{tag}")
        else:
            out.append(type(effect).__name__)
    return out


def peer(
    peer_id: str, username: str, muted: bool = False, deafened: bool = False, voice: bool = True
) -> Peer:
    return Peer(id=peer_id, username=username, muted=muted, deafened=deafened, voice=voice)


def chat(hub: Hub, conn: ConnId, text: str = "hi", now: float = T0) -> list[Effect]:
    return send(hub, conn, {"type": "chat", "text": text}, now)


# --- join ----------------------------------------------------------------------------------


def test_first_join_effects_and_joined_message() -> None:
    hub = make_hub()
    effects = join_effects(hub, A, "alice", since=5)
    assert kinds(effects) == ["Send:peer-joined", "SavePlace", "SendJoined"]
    announce, save, sent = effects
    assert announce == Send("lobby", (), PeerJoined(peer=peer("p1", "alice")))  # nobody else yet
    assert isinstance(save, SavePlace)
    assert isinstance(sent, SendJoined)
    assert (sent.room, sent.conn, sent.since) == ("lobby", A, 5)
    joined = sent.message
    assert joined.resume  # a fresh token
    assert msgspec.structs.replace(joined, resume="") == Joined(
        room="lobby",
        self_=SelfInfo(id="p1", username="alice"),
        peers=[],
        history=[],
        resume="",
        resumed=False,
        ice_servers=[],
        server=ServerInfo(version="9.9.9"),
    )
    # The persisted place holds a hash of the token, never the token itself.
    assert save.room == "lobby"
    assert save.place == Place(
        PeerId("p1"),
        "lobby",
        "alice",
        hash_token(joined.resume),
        voice=True,
        conn=A,
        grace_until=None,
        address=ADDR,
    )
    assert save.place.token_hash != joined.resume
    assert (hub.connections, hub.rooms, hub.peers) == (1, 1, 1)


def test_join_without_since_passes_none() -> None:
    hub = make_hub()
    effects = join_effects(hub, A, "alice")
    assert [e.since for e in effects if isinstance(e, SendJoined)] == [None]


def test_join_trims_username_and_respects_voice() -> None:
    hub = make_hub()
    effects = join_effects(hub, A, "  alice\u3000", voice=False)
    assert effects[0] == Send("lobby", (), PeerJoined(peer=peer("p1", "alice", voice=False)))
    assert joined_of(effects).self_ == SelfInfo(id="p1", username="alice")


def test_peers_listed_in_join_order_and_peer_joined_goes_first() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob", voice=False)
    send(hub, B, {"type": "state", "muted": True})
    effects = join_effects(hub, C, "carol")
    assert kinds(effects) == ["Send:peer-joined", "SavePlace", "SendJoined"]
    # peer-joined goes to the others before the newcomer gets `joined` (rule 3).
    assert effects[0] == Send("lobby", (A, B), PeerJoined(peer=peer("p3", "carol")))
    joined = joined_of(effects)
    assert joined.self_ == SelfInfo(id="p3", username="carol")
    assert joined.peers == [peer("p1", "alice"), peer("p2", "bob", muted=True, voice=False)]
    d_joined = join(hub, D, "dave")
    assert [p.id for p in d_joined.peers] == ["p1", "p2", "p3"]


def test_ice_servers_from_config() -> None:
    ice = (
        IceServer(urls=["stun:stun.example:3478"]),
        IceServer(urls=["turn:t"], username="u", credential="c"),
    )
    hub = make_hub(ice_servers=ice)
    assert join(hub, A, "alice").ice_servers == list(ice)


TURN_URLS = ("turn:turn.example:3478", "turn:turn.example:3478?transport=tcp", "turns:turn.example:443")


def test_fresh_and_resumed_joins_get_fresh_turn_credentials_after_the_ice_servers() -> None:
    stun = IceServer(urls=["stun:turn.example:3478"])
    hub = make_hub(ice_servers=(stun,), turn_urls=TURN_URLS, turn_secret="s3cret", turn_ttl_s=600)
    fresh = join(hub, A, "alice", now=T0 + 0.9)
    assert fresh.ice_servers[0] == stun
    expires = int(T0) + 600  # whole seconds: coturn compares with time(NULL)
    assert fresh.ice_servers[1] == IceServer(
        urls=list(TURN_URLS),
        username=f"{expires}:p1",
        credential=turn.credentials("s3cret", "p1", expires)[1],
    )
    assert len(fresh.ice_servers) == 2
    bob = join(hub, B, "bob", now=T0 + 5).ice_servers[1]
    assert bob.username == f"{expires + 5}:p2"  # one credential per peer, not one for the server
    hub.closed(A, T0 + 100)
    resumed = join(hub, C, "alice", now=T0 + 100, resume=fresh.resume)
    assert resumed.resumed
    assert resumed.ice_servers[1].username == f"{int(T0) + 700}:p1"  # renewed: a long call keeps a relay
    assert resumed.ice_servers[1].credential == turn.credentials("s3cret", "p1", int(T0) + 700)[1]
    assert resumed.ice_servers[1].credential != fresh.ice_servers[1].credential


def test_no_turn_entry_without_a_secret_or_without_urls() -> None:
    assert join(make_hub(turn_urls=TURN_URLS), A, "alice").ice_servers == []
    assert join(make_hub(turn_secret="s3cret"), A, "alice").ice_servers == []


def test_rooms_are_separate_and_case_sensitive() -> None:
    hub = make_hub()
    join(hub, A, "alice", room="Lobby")
    effects = join_effects(hub, B, "alice", room="lobby")  # same name, other room: fine
    assert effects[0] == Send("lobby", (), PeerJoined(peer=peer("p2", "alice")))
    assert joined_of(effects).peers == []
    assert hub.rooms == 2


def test_message_before_join_is_not_joined() -> None:
    hub = make_hub()
    hub.open(A, T0, ADDR)
    expected: dict[str, dict[str, Any]] = {
        "chat": {"type": "chat", "text": "hi"},
        "state": {"type": "state", "muted": True},
        "signal": {"type": "signal", "target": "p1", "payload": {}},
        "leave": {"type": "leave"},
    }
    for ref, message in expected.items():
        effects = send(hub, A, message)
        assert effects == [Send(None, (A,), error("not-joined", "send `join` first", ref))]


def test_malformed_before_join_is_bad_message_not_not_joined() -> None:
    hub = make_hub()
    hub.open(A, T0, ADDR)
    assert only_error(send(hub, A, {"type": "chat", "text": ""}), A).code == "bad-message"
    err = only_error(hub.receive(A, "not json", T0), A)
    assert (err.code, err.ref) == ("bad-message", None)
    err = only_error(send(hub, A, {"type": "dance"}), A)
    assert (err.code, err.ref) == ("bad-message", "dance")


def test_binary_message_is_bad_message_and_stays_open() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    effects = hub.receive(A, b'{"type":"chat","text":"hi"}', T0)
    assert effects == [Send("lobby", (A,), error("bad-message", "binary messages are not accepted"))]
    assert not any(isinstance(e, Close) for e in effects)
    assert kinds(chat(hub, A)) == ["PostChat"]  # still joined and working


def test_deeply_nested_json_is_bad_message_and_stays_open() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    effects = hub.receive(A, "[" * 2000 + "]" * 2000, T0)
    assert only_error(effects, A).code == "bad-message"


def test_second_join_is_already_joined_and_stays_open() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    effects = send(hub, A, {"type": "join", "room": "other", "username": "alice2"})
    assert effects == [Send("lobby", (A,), error("already-joined", "already joined", "join"))]
    assert hub.rooms == 1
    assert kinds(chat(hub, A)) == ["PostChat"]


@pytest.mark.parametrize("second", ["alice", "ALICE", "Alice", " alice ", "aLiCe\t"])
def test_name_taken_case_insensitive(second: str) -> None:
    hub = make_hub()
    join(hub, A, "Alice")
    effects = join_effects(hub, B, second)
    assert kinds(effects) == ["Send:error", "Close"]
    assert only_error(effects[:1], B).code == "name-taken"
    assert only_error(effects[:1], B).ref == "join"
    assert effects[1] == Close(None, B, CloseCode.POLICY_VIOLATION, "name-taken")
    assert hub.peers == 1


def test_name_taken_uses_casefold() -> None:
    hub = make_hub()
    join(hub, A, "Straße")
    effects = join_effects(hub, B, "STRASSE")
    assert only_error(effects[:1], B).code == "name-taken"
    assert effects[1] == Close(None, B, CloseCode.POLICY_VIOLATION, "name-taken")


def test_name_taken_by_a_peer_in_grace() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    hub.closed(A, T0 + 1)
    effects = join_effects(hub, B, "ALICE", now=T0 + 2)
    assert only_error(effects[:1], B).code == "name-taken"
    assert effects[1] == Close(None, B, CloseCode.POLICY_VIOLATION, "name-taken")


def test_name_free_again_after_leave() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    send(hub, A, {"type": "leave"})
    assert join(hub, B, "Alice").self_ == SelfInfo(id="p2", username="Alice")


def test_room_full_at_default_max_room_size() -> None:
    hub = make_hub()
    for n in range(limits.DEFAULT_MAX_ROOM_SIZE):
        join(hub, ConnId(100 + n), f"user{n}")
    effects = join_effects(hub, ConnId(999), "late")
    assert kinds(effects) == ["Send:error", "Close"]
    err = only_error(effects[:1], ConnId(999))
    assert (err.code, err.ref) == ("room-full", "join")
    assert effects[1] == Close(None, ConnId(999), CloseCode.POLICY_VIOLATION, "room-full")
    assert hub.peers == limits.DEFAULT_MAX_ROOM_SIZE
    # Another room is not affected.
    assert join(hub, ConnId(1000), "late", room="other").peers == []


def test_room_full_counts_places_in_grace() -> None:
    hub = make_hub(max_room_size=2)
    join(hub, A, "alice")
    join(hub, B, "bob")
    hub.closed(B, T0 + 1)  # bob in grace: still holds a seat
    effects = join_effects(hub, C, "carol", now=T0 + 2)
    assert only_error(effects[:1], C).code == "room-full"
    assert effects[1:] == [Close(None, C, CloseCode.POLICY_VIOLATION, "room-full")]
    # Once bob's grace is over, there is room.
    hub.tick(T0 + 1 + GRACE)
    assert join(hub, D, "dave", now=T0 + 1 + GRACE).peers == [peer("p1", "alice")]


def test_a_refused_join_still_gives_up_the_place_whose_grace_just_ended() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob")
    hub.closed(B, T0 + 1)
    # Bob's grace is over but no tick came yet: a join refused for its name still announces him gone.
    effects = join_effects(hub, C, "Alice", now=T0 + 1 + GRACE)
    assert kinds(effects) == ["Send:peer-left", "DropPlace", "Send:error", "Close"]
    assert only_error(effects[2:3], C).code == "name-taken"
    assert hub.peers == 1


def test_resume_into_a_full_room_works() -> None:
    hub = make_hub(max_room_size=2)
    join(hub, A, "alice")
    token = join(hub, B, "bob").resume
    hub.closed(B, T0 + 1)
    assert only_error(join_effects(hub, C, "carol", now=T0 + 2)[:1], C).code == "room-full"
    resumed = join(hub, D, "bob", now=T0 + 3, resume=token)
    assert (resumed.self_.id, resumed.resumed) == ("p2", True)


# --- password ------------------------------------------------------------------------------


@pytest.mark.parametrize("given", [None, "", "wrong", "s3cret ", "S3CRET"])
def test_auth_failed_without_the_right_password(given: str | None) -> None:
    hub = make_hub(password="s3cret")
    extra: dict[str, Any] = {} if given is None else {"password": given}
    effects = join_effects(hub, A, "alice", **extra)
    assert effects == [
        Send(None, (A,), error("auth-failed", "wrong password", "join")),
        Close(None, A, CloseCode.POLICY_VIOLATION, "auth-failed"),
    ]
    assert (hub.rooms, hub.peers) == (0, 0)


def test_right_password_joins() -> None:
    hub = make_hub(password="s3cret")
    assert join(hub, A, "alice", password="s3cret").self_ == SelfInfo(id="p1", username="alice")


def test_password_ignored_when_server_has_none() -> None:
    hub = make_hub()
    joined = join(hub, A, "alice", password="anything")
    assert (joined.self_.id, joined.resumed) == ("p1", False)


def test_password_checked_on_resume_too() -> None:
    hub = make_hub(password="pw")
    token = join(hub, A, "alice", password="pw").resume
    hub.closed(A, T0)
    effects = join_effects(hub, B, "alice", now=T0 + 1, resume=token)
    assert only_error(effects[:1], B).code == "auth-failed"
    assert effects[1] == Close(None, B, CloseCode.POLICY_VIOLATION, "auth-failed")


# --- connections ---------------------------------------------------------------------------


def test_server_full_beyond_max_connections() -> None:
    hub = make_hub(max_connections=2)
    assert hub.open(A, T0, ADDR) == []
    assert hub.open(B, T0, ADDR) == []
    effects = hub.open(C, T0, ADDR)
    assert effects == [
        Send(None, (C,), error("server-full", "the server is full, try again later")),
        Close(None, C, CloseCode.TRY_AGAIN_LATER, "server full"),
    ]
    assert hub.connections == 2
    # The refused connection has no session: what it sends is ignored.
    assert send(hub, C, {"type": "join", "room": "lobby", "username": "carol"}) == []
    assert hub.closed(C, T0) == []
    # A closed connection frees its slot.
    hub.closed(A, T0)
    assert hub.open(D, T0, ADDR) == []


def test_closed_before_join_has_no_effects() -> None:
    hub = make_hub()
    hub.open(A, T0, ADDR)
    assert hub.closed(A, T0) == []
    assert hub.connections == 0


def test_default_peer_ids_are_random_and_distinct() -> None:
    ids = {new_peer_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)


# --- chat, state, signal: identity is the server's -----------------------------------------


def test_chat_goes_to_everyone_including_sender() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob")
    join(hub, C, "eve", room="other")
    effects = send(hub, B, {"type": "chat", "text": "  hello\n\tworld  ", "nonce": "n1"}, T0 + 1.2345)
    assert effects == [
        PostChat(
            ChatDraft("lobby", PeerId("p2"), "bob", "hello\n\tworld", 1_700_000_001_234, "n1"),
            B,
            (A, B),
        )
    ]


def test_chat_without_nonce() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    (effect,) = chat(hub, A, "x")
    assert isinstance(effect, PostChat)
    assert effect.draft.nonce is None


def test_chat_skips_peers_in_grace() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob")
    join(hub, C, "carol")
    hub.closed(B, T0)
    (effect,) = chat(hub, C)
    assert isinstance(effect, PostChat)
    assert effect.conns == (A, C)


def test_spoofed_chat_identity_ignored() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob")
    message = {"type": "chat", "text": "i am bob", "from": "p2", "id": "p2", "username": "bob"}
    (effect,) = send(hub, A, message)
    assert isinstance(effect, PostChat)
    assert (effect.draft.from_id, effect.draft.username, effect.sender) == ("p1", "alice", A)


def test_state_broadcast_to_all_including_sender_with_full_state() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob")
    effects = send(hub, B, {"type": "state", "muted": True})
    assert kinds(effects) == ["Send:peer-state", "SavePlace"]
    assert effects[0] == Send(
        "lobby", (A, B), PeerStateChanged(id="p2", muted=True, deafened=False, voice=True)
    )
    save = effects[1]
    assert isinstance(save, SavePlace)
    assert (save.place.peer_id, save.place.muted, save.place.deafened, save.place.voice) == (
        "p2",
        True,
        False,
        True,
    )
    # A subset keeps the other fields; the broadcast always carries all three.
    effects = send(hub, B, {"type": "state", "voice": False})
    assert effects[0] == Send(
        "lobby", (A, B), PeerStateChanged(id="p2", muted=True, deafened=False, voice=False)
    )
    effects = send(hub, B, {"type": "state"})
    assert effects[0] == Send(
        "lobby", (A, B), PeerStateChanged(id="p2", muted=True, deafened=False, voice=False)
    )
    effects = send(hub, B, {"type": "state", "deafened": True, "muted": False})
    assert effects[0] == Send(
        "lobby", (A, B), PeerStateChanged(id="p2", muted=False, deafened=True, voice=False)
    )
    # A newcomer sees the state.
    assert join(hub, C, "carol").peers == [
        peer("p1", "alice"),
        peer("p2", "bob", muted=False, deafened=True, voice=False),
    ]


def test_spoofed_state_identity_ignored() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob")
    effects = send(hub, A, {"type": "state", "id": "p2", "from": "p2", "username": "bob", "muted": True})
    assert effects[0] == Send(
        "lobby", (A, B), PeerStateChanged(id="p1", muted=True, deafened=False, voice=True)
    )
    assert join(hub, C, "carol").peers == [peer("p1", "alice", muted=True), peer("p2", "bob")]


def test_signal_relayed_to_target_only() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob")
    join(hub, C, "carol")
    payload = {"kind": "offer", "sdp": "v=0\r\n"}
    effects = send(hub, A, {"type": "signal", "target": "p2", "payload": payload})
    assert effects == [Send("lobby", (B,), SignalRelayed(from_="p1", payload=payload))]


def test_spoofed_signal_from_ignored() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob")
    join(hub, C, "carol")
    message = {"type": "signal", "target": "p2", "payload": {"kind": "bye"}, "from": "p3", "id": "p3"}
    effects = send(hub, A, message)
    assert effects == [Send("lobby", (B,), SignalRelayed(from_="p1", payload={"kind": "bye"}))]


@pytest.mark.parametrize("target", ["p1", "p99", "", "P2", "p3"])
def test_signal_unknown_target(target: str) -> None:
    """Self (p1), unknown ids and a peer of another room (p3) are all `unknown-target`."""
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob")
    join(hub, C, "carol", room="elsewhere")
    effects = send(hub, A, {"type": "signal", "target": target, "payload": {"kind": "bye"}})
    assert effects == [
        Send("lobby", (A,), error("unknown-target", "no such peer in this room", "signal", target))
    ]


def test_signal_to_a_peer_in_grace_is_dropped_silently() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob")
    hub.closed(B, T0)
    assert send(hub, A, {"type": "signal", "target": "p2", "payload": {"kind": "bye"}}, T0 + 1) == []


def test_signal_to_a_peer_that_left_is_unknown_target() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob")
    send(hub, B, {"type": "leave"})
    err = only_error(send(hub, A, {"type": "signal", "target": "p2", "payload": {}}), A)
    assert (err.code, err.target, err.ref) == ("unknown-target", "p2", "signal")


# --- leave, disconnect, grace ----------------------------------------------------------------


def test_leave_announces_and_closes_1000() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob")
    join(hub, C, "carol")
    effects = send(hub, B, {"type": "leave"})
    assert kinds(effects) == ["Send:peer-left", "DropPlace", "Close"]
    assert effects[0] == Send("lobby", (A, C), PeerLeft(id="p2"))
    drop = effects[1]
    assert isinstance(drop, DropPlace)
    assert (drop.room, drop.place.peer_id) == ("lobby", "p2")
    assert effects[2] == Close("lobby", B, CloseCode.NORMAL_CLOSURE, "left")
    # The connection closing afterwards changes nothing more.
    assert hub.closed(B, T0) == []
    assert hub.tick(T0 + 10 * GRACE) == []
    assert hub.peers == 2


def test_last_leave_removes_the_room() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    effects = send(hub, A, {"type": "leave"})
    assert effects[0] == Send("lobby", (), PeerLeft(id="p1"))
    assert (hub.rooms, hub.peers) == (0, 0)


def test_closed_starts_grace_and_tick_gives_the_place_up() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    join(hub, B, "bob")
    effects = hub.closed(B, T0 + 3)
    assert len(effects) == 1
    save = effects[0]
    assert isinstance(save, SavePlace)
    assert (save.room, save.place.peer_id, save.place.conn, save.place.grace_until) == (
        "lobby",
        "p2",
        None,
        T0 + 3 + GRACE,
    )
    # No peer-left during the grace period; the peer is still listed.
    assert hub.tick(T0 + 3) == []
    assert hub.tick(T0 + 3 + GRACE - 0.001) == []
    assert [p.id for p in join(hub, C, "carol", now=T0 + 4).peers] == ["p1", "p2"]
    effects = hub.tick(T0 + 3 + GRACE)
    assert kinds(effects) == ["Send:peer-left", "DropPlace"]
    assert effects[0] == Send("lobby", (A, C), PeerLeft(id="p2"))
    drop = effects[1]
    assert isinstance(drop, DropPlace)
    assert drop.place.peer_id == "p2"
    assert hub.tick(T0 + 100) == []  # once only
    assert hub.peers == 2


def test_grace_period_from_config() -> None:
    hub = make_hub(grace_s=2.5)
    join(hub, A, "alice")
    hub.closed(A, T0)
    assert hub.tick(T0 + 2.4) == []
    assert kinds(hub.tick(T0 + 2.5)) == ["Send:peer-left", "DropPlace"]
    assert hub.rooms == 0


def join_from(hub: Hub, conn: ConnId, address: str, username: str, now: float = T0, **extra: Any) -> Joined:
    assert hub.open(conn, now, address) == []
    return joined_of(send(hub, conn, {"type": "join", "room": "lobby", "username": username, **extra}, now))


def test_an_address_holds_8_places_in_grace_and_its_oldest_goes_first() -> None:
    hub = make_hub()
    join_from(hub, A, "198.51.100.7", "watcher")
    join_from(hub, B, "198.51.100.8", "other")
    tokens = [join(hub, ConnId(10 + i), f"user{i}").resume for i in range(MAX_GRACE_PER_ADDRESS + 1)]
    hub.closed(B, T0)  # another address's place in grace is not counted with them
    for i in range(MAX_GRACE_PER_ADDRESS):
        assert kinds(hub.closed(ConnId(10 + i), T0 + i)) == ["SavePlace"]
    # A 9th place in grace from the address: its oldest is given up, as when grace ends.
    effects = hub.closed(ConnId(10 + MAX_GRACE_PER_ADDRESS), T0 + 9)
    assert kinds(effects) == ["SavePlace", "Send:peer-left", "DropPlace"]
    save, left, drop = effects
    assert isinstance(save, SavePlace)
    assert (save.place.peer_id, save.place.address) == ("p11", ADDR)
    assert left == Send("lobby", (A,), PeerLeft(id="p3"))
    assert isinstance(drop, DropPlace)
    assert (drop.room, drop.place.peer_id) == ("lobby", "p3")
    assert (hub.rooms, hub.peers) == (1, 10)
    # Its token died with it; a resumed place no longer counts, so the next one fits.
    assert join(hub, C, "user0", now=T0 + 10, resume=tokens[0]).resumed is False
    assert join(hub, D, "user1", now=T0 + 10, resume=tokens[1]).resumed is True
    assert kinds(hub.closed(C, T0 + 11)) == ["SavePlace"]


def test_the_server_holds_max_connections_places_in_grace_and_its_oldest_go_first() -> None:
    hub = make_hub(max_connections=3)
    join_from(hub, A, "198.51.100.1", "a")
    join_from(hub, B, "198.51.100.2", "b")
    join_from(hub, C, "198.51.100.3", "c")
    assert kinds(hub.closed(A, T0 + 1)) == ["SavePlace"]
    assert kinds(hub.closed(B, T0 + 2)) == ["SavePlace"]
    join_from(hub, D, "198.51.100.4", "d")
    join_from(hub, E, "198.51.100.5", "e")
    assert kinds(hub.closed(C, T0 + 3)) == ["SavePlace"]
    effects = hub.closed(D, T0 + 4)  # a 4th in grace: the first to enter grace (a's) goes
    assert kinds(effects) == ["SavePlace", "Send:peer-left", "DropPlace"]
    assert effects[1] == Send("lobby", (E,), PeerLeft(id="p1"))
    assert [p.id for p in join_from(hub, A, "198.51.100.1", "f", now=T0 + 5).peers] == [
        "p2",
        "p3",
        "p4",
        "p5",
    ]


def test_restored_places_count_toward_the_cap_of_their_address() -> None:
    hub = make_hub()
    restored = [
        Place(
            PeerId(f"old{i}"), "lobby", f"old{i}", hash_token(f"t{i}"), grace_until=T0 + 10 - i, address=ADDR
        )
        for i in range(MAX_GRACE_PER_ADDRESS)
    ]
    hub.restore(restored, T0)
    join(hub, A, "alice")
    effects = hub.closed(A, T0 + 1)
    # old7 has the earliest deadline: it is the oldest in grace.
    assert kinds(effects) == ["SavePlace", "Send:peer-left", "DropPlace"]
    assert effects[1] == Send("lobby", (), PeerLeft(id="old7"))


# --- resume --------------------------------------------------------------------------------


def test_resume_within_grace_keeps_the_place_without_churn() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    token = join(hub, B, "bob").resume
    hub.closed(B, T0 + 1)
    effects = join_effects(hub, C, "bob", now=T0 + 10, resume=token)
    assert kinds(effects) == ["SavePlace", "SendJoined"]  # no peer-joined, no peer-left
    joined = joined_of(effects)
    assert joined.resumed is True
    assert joined.self_ == SelfInfo(id="p2", username="bob")
    assert joined.peers == [peer("p1", "alice")]
    assert joined.resume not in ("", token)
    save = effects[0]
    assert isinstance(save, SavePlace)
    assert (save.place.peer_id, save.place.conn, save.place.grace_until) == ("p2", C, None)
    assert save.place.token_hash == hash_token(joined.resume)
    # The grace period is over for good: no peer-left later.
    assert hub.tick(T0 + 1000) == []
    # Signals reach the new connection.
    effects = send(hub, A, {"type": "signal", "target": "p2", "payload": {"kind": "bye"}}, T0 + 11)
    assert effects == [Send("lobby", (C,), SignalRelayed(from_="p1", payload={"kind": "bye"}))]
    # And the peer count did not change.
    assert hub.peers == 2


def test_resume_keeps_the_places_username() -> None:
    hub = make_hub()
    token = join(hub, A, "alice").resume
    hub.closed(A, T0)
    joined = join(hub, B, "someone-else", now=T0 + 1, resume=token)
    assert joined.self_ == SelfInfo(id="p1", username="alice")
    assert joined.resumed is True


def test_resume_keeps_state_and_announces_a_voice_change() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    token = join(hub, B, "bob").resume
    send(hub, B, {"type": "state", "muted": True})
    hub.closed(B, T0)
    effects = join_effects(hub, C, "bob", now=T0 + 1, resume=token, voice=False)
    assert kinds(effects) == ["Send:peer-state", "SavePlace", "SendJoined"]
    assert effects[0] == Send(
        "lobby", (A,), PeerStateChanged(id="p2", muted=True, deafened=False, voice=False)
    )
    assert joined_of(effects).resumed is True


def test_resume_token_is_rotated() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    first = join(hub, B, "bob").resume
    hub.closed(B, T0 + 1)
    second = join(hub, C, "bob", now=T0 + 2, resume=first).resume
    assert second != first
    hub.closed(C, T0 + 3)
    # The old token no longer resumes: the join is a fresh one, which then collides
    # on the name, since bob's place is still held (in grace).
    effects = join_effects(hub, D, "bob", now=T0 + 4, resume=first)
    assert kinds(effects) == ["Send:error", "Close"]
    err = only_error(effects[:1], D)
    assert (err.code, err.ref) == ("name-taken", "join")
    assert effects[1] == Close(None, D, CloseCode.POLICY_VIOLATION, "name-taken")
    # Under another name the stale token gives a fresh place, resumed false.
    effects = join_effects(hub, E, "robert", now=T0 + 5, resume=first)
    assert kinds(effects) == ["Send:peer-joined", "SavePlace", "SendJoined"]
    assert effects[0] == Send("lobby", (A,), PeerJoined(peer=peer("p3", "robert")))
    fresh = joined_of(effects)
    assert (fresh.self_.id, fresh.resumed) == ("p3", False)
    assert [p.id for p in fresh.peers] == ["p1", "p2"]
    # The current token still resumes bob's place.
    again = join(hub, ConnId(6), "bob", now=T0 + 6, resume=second)
    assert (again.self_.id, again.resumed) == ("p2", True)


def test_resume_while_the_old_connection_still_hangs() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    token = join(hub, B, "bob").resume
    effects = join_effects(hub, C, "bob", now=T0 + 1, resume=token)
    assert kinds(effects) == ["Close", "SavePlace", "SendJoined"]
    assert effects[0] == Close("lobby", B, AppCloseCode.SUPERSEDED, "superseded")
    joined = joined_of(effects)
    assert (joined.self_.id, joined.resumed, joined.peers) == ("p2", True, [peer("p1", "alice")])
    # The superseded connection no longer holds the place, and is no longer answered: it is closing.
    assert send(hub, B, {"type": "chat", "text": "ghost"}, T0 + 2) == []
    # Its close starts no grace period and announces nothing.
    assert hub.closed(B, T0 + 2) == []
    assert hub.tick(T0 + 1000) == []
    (effect,) = chat(hub, A, now=T0 + 3)
    assert isinstance(effect, PostChat)
    assert effect.conns == (A, C)


@pytest.mark.parametrize("token", ["", "no-such-token", "x" * 200])
def test_unknown_token_is_a_fresh_join(token: str) -> None:
    hub = make_hub()
    join(hub, A, "alice")
    effects = join_effects(hub, B, "bob", resume=token)
    assert kinds(effects) == ["Send:peer-joined", "SavePlace", "SendJoined"]
    joined = joined_of(effects)
    assert (joined.self_.id, joined.resumed) == ("p2", False)


def test_other_room_token_is_a_fresh_join() -> None:
    hub = make_hub()
    token = join(hub, A, "alice", room="one").resume
    hub.closed(A, T0)
    effects = join_effects(hub, B, "alice", room="two", now=T0 + 1, resume=token)
    assert kinds(effects) == ["Send:peer-joined", "SavePlace", "SendJoined"]
    joined = joined_of(effects)
    assert (joined.room, joined.self_.id, joined.resumed) == ("two", "p2", False)
    # The place in room "one" is untouched and still times out.
    effects = hub.tick(T0 + GRACE)
    assert kinds(effects) == ["Send:peer-left", "DropPlace"]
    assert effects[0] == Send("one", (), PeerLeft(id="p1"))


def test_token_of_a_left_place_is_a_fresh_join() -> None:
    hub = make_hub()
    token = join(hub, A, "alice").resume
    send(hub, A, {"type": "leave"})
    joined = join(hub, B, "alice", now=T0 + 1, resume=token)
    assert (joined.self_.id, joined.resumed) == ("p2", False)


def test_token_of_an_expired_place_is_a_fresh_join() -> None:
    hub = make_hub()
    token = join(hub, A, "alice").resume
    hub.closed(A, T0)
    hub.tick(T0 + GRACE)
    joined = join(hub, B, "alice", now=T0 + GRACE + 1, resume=token)
    assert (joined.self_.id, joined.resumed) == ("p2", False)


def test_expired_token_before_the_next_tick_does_not_resume() -> None:
    hub = make_hub()
    token = join(hub, A, "alice").resume
    hub.closed(A, T0)
    # The grace period ended 5 s ago; the transport's tick has not run yet.
    effects = join_effects(hub, B, "alice", now=T0 + GRACE + 5, resume=token)
    sent = [e for e in effects if isinstance(e, SendJoined)]
    assert not any(s.message.resumed for s in sent)


def test_restore_seats_persisted_places_in_grace() -> None:
    hub = make_hub()
    token_b = "token-of-bob"
    places = [
        Place(PeerId("old1"), "lobby", "alice", hash_token("token-of-alice"), muted=True, conn=ConnId(77)),
        Place(PeerId("old2"), "lobby", "bob", hash_token(token_b), voice=False, grace_until=T0 + 3),
    ]
    hub.restore(places, T0)
    assert (hub.rooms, hub.peers, hub.connections) == (1, 2, 0)
    assert places[0].conn is None  # no connection survives a restart
    assert places[0].grace_until == T0 + GRACE
    assert places[1].grace_until == T0 + 3  # an earlier deadline is kept
    # They are listed, keep their names, and count toward the room size.
    joined = join(hub, A, "carol", now=T0 + 1)
    assert joined.peers == [peer("old1", "alice", muted=True), peer("old2", "bob", voice=False)]
    assert only_error(join_effects(hub, B, "ALICE", now=T0 + 1)[:1], B).code == "name-taken"
    # Signals to them are dropped.
    assert send(hub, A, {"type": "signal", "target": "old1", "payload": {}}, T0 + 1) == []
    # bob's deadline passes first.
    effects = hub.tick(T0 + 3)
    assert kinds(effects) == ["Send:peer-left", "DropPlace"]
    assert effects[0] == Send("lobby", (A,), PeerLeft(id="old2"))
    # alice resumes with her persisted token: same id, no churn.
    effects = join_effects(hub, C, "alice", now=T0 + 4, resume="token-of-alice")
    assert kinds(effects) == ["SavePlace", "SendJoined"]
    resumed = joined_of(effects)
    assert (resumed.self_, resumed.resumed) == (SelfInfo(id="old1", username="alice"), True)
    assert hub.tick(T0 + 100) == []


def test_restore_then_no_one_returns() -> None:
    hub = make_hub()
    hub.restore([Place(PeerId("old1"), "lobby", "alice", hash_token("t"))], T0)
    assert hub.tick(T0 + GRACE - 1) == []
    effects = hub.tick(T0 + GRACE)
    assert kinds(effects) == ["Send:peer-left", "DropPlace"]
    assert effects[0] == Send("lobby", (), PeerLeft(id="old1"))
    assert hub.rooms == 0
    # The token died with the place.
    joined = join(hub, A, "alice", now=T0 + GRACE + 1, resume="t")
    assert (joined.self_.id, joined.resumed) == ("p1", False)


# --- rate limits ---------------------------------------------------------------------------


def test_chat_burst_40_then_rate_limited_at_most_once_per_second() -> None:
    hub = make_hub()
    join(hub, A, "alice", now=T0 - 100)
    for _ in range(40):
        assert kinds(chat(hub, A)) == ["PostChat"]
    assert chat(hub, A) == [
        Send("lobby", (A,), error("rate-limited", "too many messages, slow down", "chat"))
    ]
    assert chat(hub, A) == []  # dropped, silently: one error per second at most
    assert send(hub, A, {"type": "state", "muted": True}) == []  # state shares the budget
    # 0.99 s later 19.8 tokens have come back: 19 pass, the 20th is dropped without an error.
    results = [kinds(chat(hub, A, now=T0 + 0.99)) for _ in range(20)]
    assert results == [["PostChat"]] * 19 + [[]]
    # 1.52 s after the first error: 0.8 + 0.53 * 20 = 11.4 tokens; 11 pass, then one error.
    results = [kinds(chat(hub, A, now=T0 + 1.52)) for _ in range(13)]
    assert results == [["PostChat"]] * 11 + [["Send:error"], []]


def test_rate_limited_ref_is_the_type() -> None:
    hub = make_hub()
    join(hub, A, "alice", now=T0 - 100)
    for _ in range(40):
        send(hub, A, {"type": "state", "muted": True})
    err = only_error(send(hub, A, {"type": "state", "muted": False}), A)
    assert (err.code, err.ref) == ("rate-limited", "state")


def test_signal_budget_is_separate() -> None:
    hub = make_hub()
    join(hub, A, "alice", now=T0 - 100)
    join(hub, B, "bob", now=T0 - 100)
    for _ in range(40):
        chat(hub, A)
    assert only_error(chat(hub, A), A).code == "rate-limited"
    # The chat budget is spent, the signal budget (burst 400) is not.
    sig = {"type": "signal", "target": "p2", "payload": {"kind": "bye"}}
    for _ in range(400):
        assert kinds(send(hub, A, sig)) == ["Send:signal"]
    # Now the signal budget is spent too; the error was sent less than 1 s ago.
    assert send(hub, A, sig) == []
    later = send(hub, A, sig, T0 + 1.0)  # 100 signal tokens back
    assert kinds(later) == ["Send:signal"]
    # B's budgets are its own.
    assert kinds(chat(hub, B)) == ["PostChat"]


def test_signal_burst_then_rate_limited_with_ref_signal() -> None:
    hub = make_hub()
    join(hub, A, "alice", now=T0 - 100)
    join(hub, B, "bob", now=T0 - 100)
    sig = {"type": "signal", "target": "p2", "payload": {"kind": "bye"}}
    for _ in range(400):
        send(hub, A, sig)
    err = only_error(send(hub, A, sig), A)
    assert (err.code, err.ref) == ("rate-limited", "signal")
    assert kinds(chat(hub, A)) == ["PostChat"]  # chat is unaffected


def test_bursts_follow_rates_set_by_flag() -> None:
    hub = make_hub(chat_rate_per_s=5.0, signal_rate_per_s=10.0)
    join(hub, A, "alice", now=T0 - 100)
    join(hub, B, "bob", now=T0 - 100)
    assert [kinds(chat(hub, A)) for _ in range(11)] == [["PostChat"]] * 10 + [["Send:error"]]
    sig = {"type": "signal", "target": "p2", "payload": {"kind": "bye"}}
    assert [kinds(send(hub, A, sig)) for _ in range(41)] == [["Send:signal"]] * 40 + [[]]


def test_malformed_messages_count_against_the_chat_budget() -> None:
    hub = make_hub()
    join(hub, A, "alice", now=T0 - 100)
    join(hub, B, "bob", now=T0 - 100)
    for _ in range(40):
        assert only_error(hub.receive(A, "garbage", T0), A).code == "bad-message"
    assert only_error(hub.receive(A, "garbage", T0), A) == error(
        "rate-limited", "too many messages, slow down", None
    )
    assert chat(hub, A) == []  # the chat budget is spent
    sig = {"type": "signal", "target": "p2", "payload": {}}
    assert kinds(send(hub, A, sig)) == ["Send:signal"]  # the signal budget is not


def test_leave_is_never_rate_limited() -> None:
    hub = make_hub()
    join(hub, A, "alice", now=T0 - 100)
    join(hub, B, "bob", now=T0 - 100)
    for _ in range(41):
        chat(hub, A)
    assert chat(hub, A) == []
    assert kinds(send(hub, A, {"type": "leave"})) == ["Send:peer-left", "DropPlace", "Close"]


def _chat_at_rate(hub: Hub, per_second: int, seconds: int, start: float = T0) -> list[tuple[float, Effect]]:
    """Send ``per_second`` chats in each of ``seconds`` seconds; stop at the first Close."""
    closes: list[tuple[float, Effect]] = []
    for second in range(seconds):
        for i in range(per_second):
            now = start + second + i / per_second
            for effect in chat(hub, A, now=now):
                if isinstance(effect, Close):
                    closes.append((now, effect))
                    return closes
    return closes


def test_flood_over_ten_times_the_budget_for_10s_closes_1008() -> None:
    hub = make_hub()
    join(hub, A, "alice", now=T0 - 100)
    closes = _chat_at_rate(hub, 250, 12)  # 12.5x the chat rate of 20/s
    assert len(closes) == 1
    when, close = closes[0]
    assert close == Close("lobby", A, CloseCode.POLICY_VIOLATION, "flooding")
    assert T0 + 10.0 <= when < T0 + 10.1


def test_flood_before_join_closes_too() -> None:
    hub = make_hub()
    hub.open(A, T0 - 100, ADDR)
    first_close: tuple[float, Effect] | None = None
    for n in range(12 * 250):
        now = T0 + n // 250 + (n % 250) / 250
        closes = [e for e in hub.receive(A, "garbage", now) if isinstance(e, Close)]
        if closes:
            assert len(closes) == 1
            first_close = (now, closes[0])
            break
    assert first_close is not None
    assert first_close[1] == Close(None, A, CloseCode.POLICY_VIOLATION, "flooding")
    assert T0 + 10.0 <= first_close[0] < T0 + 10.1


def test_sending_within_ten_times_the_budget_is_not_a_flood() -> None:
    hub = make_hub()
    join(hub, A, "alice", now=T0 - 100)
    assert _chat_at_rate(hub, 200, 20) == []  # exactly 10x for 20 s: rate-limited, not closed


def test_a_pause_resets_flood_detection() -> None:
    hub = make_hub()
    join(hub, A, "alice", now=T0 - 100)
    assert _chat_at_rate(hub, 250, 9) == []
    # 2 s of silence, then another 9 s of flooding: never 10 s in a row.
    assert _chat_at_rate(hub, 250, 9, start=T0 + 11) == []


# --- abuse ---------------------------------------------------------------------------------

OTHER_ADDR = "198.51.100.7"  # TEST-NET-2


def test_join_costs_no_chat_token_so_a_fresh_peer_has_its_whole_burst() -> None:
    hub = make_hub()
    join(hub, A, "alice")
    assert [kinds(chat(hub, A)) for _ in range(41)] == [["PostChat"]] * 40 + [["Send:error"]]


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"type": "leave"}, "not-joined"),
        ({"type": "signal", "target": "p1", "payload": {}}, "not-joined"),
        ({"type": "chat", "text": "hi"}, "not-joined"),
        ({"type": "state", "muted": True}, "not-joined"),
        ("garbage", "bad-message"),
    ],
)
def test_before_join_every_message_spends_the_chat_budget(message: dict[str, Any] | str, code: str) -> None:
    hub = make_hub()
    hub.open(A, T0, ADDR)
    data = message if isinstance(message, str) else json.dumps(message)
    assert [only_error(hub.receive(A, data, T0), A).code for _ in range(40)] == [code] * 40
    assert only_error(hub.receive(A, data, T0), A).code == "rate-limited"
    assert hub.receive(A, data, T0) == []  # dropped, unanswered
    assert kinds(send(hub, A, {"type": "join", "room": "lobby", "username": "alice"})) == [
        "Send:peer-joined",
        "SavePlace",
        "SendJoined",
    ]  # the join itself is free


def test_a_leave_flood_before_join_is_closed_and_then_ignored(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "voxroom.server")
    hub = make_hub()
    hub.open(A, T0, ADDR)
    leave = json.dumps({"type": "leave"})
    effects: list[Effect] = []
    n = 0
    while not any(isinstance(e, Close) for e in effects):
        effects = hub.receive(A, leave, T0 + n / 250)  # 250/s: 12.5x the chat budget
        n += 1
        assert n <= 11 * 250
    assert effects == [Close(None, A, CloseCode.POLICY_VIOLATION, "flooding")]
    assert T0 + 10.0 <= T0 + (n - 1) / 250 < T0 + 10.1
    # The verdict is given once: what the flooder sent after it is neither read nor answered.
    assert [hub.receive(A, leave, T0 + 11 + i) for i in range(3)] == [[], [], []]
    floods = [r.getMessage() for r in caplog.records if r.getMessage().startswith("flood")]
    assert floods == [f"flood disconnect room=None addr={ADDR} conn={A}"]


def _refused(conn: ConnId, code: str, message: str) -> list[Effect]:
    return [
        Send(None, (conn,), error(code, message, "join")),
        Close(None, conn, CloseCode.POLICY_VIOLATION, code),
    ]


@pytest.mark.parametrize("refusal", ["auth-failed", "name-taken", "room-full"])
def test_after_a_refusal_nothing_more_is_answered(refusal: str) -> None:
    hub = make_hub(password="pw", max_room_size=2)
    join(hub, A, "alice", room="full", password="pw")
    join(hub, C, "carol", room="full", password="pw")
    join(hub, D, "alice", room="named", password="pw")
    hub.open(B, T0, ADDR)
    refused = {
        "auth-failed": ({"room": "lobby", "username": "bob", "password": "guess"}, "wrong password"),
        "name-taken": (
            {"room": "named", "username": "ALICE", "password": "pw"},
            "the name ALICE is taken in this room",
        ),
        "room-full": ({"room": "full", "username": "bob", "password": "pw"}, "room full is full"),
    }
    fields, message = refused[refusal]
    assert send(hub, B, {"type": "join", **fields}) == _refused(B, refusal, message)
    # Pipelined behind it: a join that would be seated, and more.
    good = {"type": "join", "room": "lobby", "username": "bob", "password": "pw"}
    assert [send(hub, B, m) for m in (good, {"type": "chat", "text": "x"}, {"type": "leave"})] == [[], [], []]
    assert hub.peers == 3


def test_wrong_passwords_back_off_per_address() -> None:
    hub = make_hub(password="pw")
    conns = (ConnId(n) for n in itertools.count(10))

    def attempt(password: str, now: float, address: str = ADDR) -> list[Effect]:
        conn = next(conns)
        assert hub.open(conn, now, address) == []
        join = {"type": "join", "room": "r", "username": f"u{conn}", "password": password}
        return [e for e in send(hub, conn, join, now) if not isinstance(e, SavePlace)]

    for _ in range(4):  # three free failures; the fourth starts a 1 s wait
        assert kinds(attempt("guess", T0)) == ["Send:error", "Close"]
    # During the wait even the right password is refused, unchecked.
    assert attempt("pw", T0 + 0.5) == _refused(
        ConnId(14), "auth-failed", "too many wrong passwords, try again in 1 s"
    )
    # Another address is not held back.
    assert kinds(attempt("pw", T0 + 0.5, OTHER_ADDR)) == ["Send:peer-joined", "SendJoined"]
    # Once the wait is over the right password works, and starts the count afresh.
    assert kinds(attempt("pw", T0 + 1)) == ["Send:peer-joined", "SendJoined"]
    assert [kinds(attempt("guess", T0 + 1)) for _ in range(4)] == [["Send:error", "Close"]] * 4
    assert attempt("guess", T0 + 1.5)[0] == Send(
        None, (ConnId(21),), error("auth-failed", "too many wrong passwords, try again in 1 s", "join")
    )


def test_auth_backoff_doubles_up_to_a_minute_and_is_forgotten() -> None:
    backoff = AuthBackoff()
    waits = []
    for n in range(11):
        backoff.failed(ADDR, T0 + n)
        waits.append(backoff.wait_s(ADDR, T0 + n))
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.wait_s(OTHER_ADDR, T0 + 10) == 0
    backoff.forget(T0 + 10 + AUTH_FORGET_S - 1)
    assert backoff.wait_s(ADDR, T0 + 10) == 60  # still remembered
    backoff.forget(T0 + 10 + AUTH_FORGET_S)
    backoff.failed(ADDR, T0 + 10 + AUTH_FORGET_S)
    assert backoff.wait_s(ADDR, T0 + 10 + AUTH_FORGET_S) == 0  # forgotten: a fresh count


def test_a_connection_that_does_not_join_within_10s_is_closed() -> None:
    hub = make_hub()
    hub.open(A, T0, ADDR)
    join(hub, B, "bob")
    # Messages before join do not extend the deadline.
    assert only_error(chat(hub, A, now=T0 + 9), A).code == "not-joined"
    assert hub.tick(T0 + JOIN_DEADLINE_S - 0.01) == []
    assert hub.tick(T0 + JOIN_DEADLINE_S) == [Close(None, A, CloseCode.POLICY_VIOLATION, "join timeout")]
    assert hub.tick(T0 + JOIN_DEADLINE_S + 1) == []  # once; the joined one stays
    assert send(hub, A, {"type": "join", "room": "lobby", "username": "alice"}, T0 + 11) == []
    assert hub.closed(A, T0 + 11) == []
    assert hub.connections == 1


def test_connections_waiting_to_join_are_capped_per_address() -> None:
    hub = make_hub()
    waiting = [ConnId(n) for n in range(10, 10 + MAX_UNJOINED_PER_ADDRESS)]
    assert [hub.open(conn, T0, ADDR) for conn in waiting] == [[]] * MAX_UNJOINED_PER_ADDRESS
    refused = [
        Send(None, (A,), error("server-full", "too many connections from your address are waiting to join")),
        Close(None, A, CloseCode.TRY_AGAIN_LATER, "server full"),
    ]
    assert hub.open(A, T0, ADDR) == refused
    assert hub.open(B, T0, OTHER_ADDR) == []  # other addresses are not held back
    # A join, a close or the deadline frees a slot.
    send(hub, waiting[0], {"type": "join", "room": "lobby", "username": "alice"})
    assert hub.open(C, T0, ADDR) == []
    hub.closed(waiting[1], T0)
    assert hub.open(D, T0, ADDR) == []
    assert kinds(hub.open(E, T0, ADDR)) == ["Send:error", "Close"]
    closed = hub.tick(T0 + JOIN_DEADLINE_S)
    assert {e.conn for e in closed if isinstance(e, Close)} == {*waiting[2:], B, C, D}
    assert hub.open(ConnId(99), T0 + JOIN_DEADLINE_S, ADDR) == []


def test_refusals_and_auth_failures_log_the_address(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "voxroom.server")
    hub = make_hub(password="pw", max_connections=1)
    hub.open(A, T0, ADDR)
    send(hub, A, {"type": "join", "room": "lobby", "username": "alice", "password": "guess"})
    hub.open(B, T0, OTHER_ADDR)
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(" ")[:2] for line in lines] == [
        ["auth", "failed"],
        ["error", "code=auth-failed"],
        ["error", "code=server-full"],
    ]
    assert [
        ("addr=" + ADDR) in lines[0],
        ("addr=" + ADDR) in lines[1],
        ("addr=" + OTHER_ADDR) in lines[2],
    ] == [True] * 3


# --- TokenBucket -------------------------------------------------------------------------------


def test_token_bucket_burst_and_refill() -> None:
    bucket = TokenBucket(rate_per_s=20.0, burst=40.0)
    assert bucket.tokens == 40.0
    assert [bucket.take(100.0) for _ in range(41)] == [True] * 40 + [False]
    # Times are binary fractions so that the float arithmetic is exact.
    # 0.125 s at 20/s is 2.5 tokens: two pass, half a token is left.
    assert [bucket.take(100.125) for _ in range(3)] == [True, True, False]
    assert bucket.tokens == 0.5
    # 0.015625 s adds 0.3125: 0.8125 is not enough; another 0.015625 s makes 1.125.
    assert bucket.take(100.140625) is False
    assert bucket.take(100.15625) is True
    assert bucket.tokens == 0.125
    # A long pause refills up to the burst, never beyond.
    assert [bucket.take(1000.0) for _ in range(41)] == [True] * 40 + [False]


def test_token_bucket_first_take_does_not_refill() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=2.0)
    assert [bucket.take(1e9) for _ in range(3)] == [True, True, False]
    assert bucket.take(1e9 + 0.5) is False
    assert bucket.take(1e9 + 1.0) is True


def test_token_bucket_flooding_after_ten_seconds_over_ten_times() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=1.0)
    for second in range(10):
        for i in range(11):  # 11 per 1 s window: over 10x the rate of 1/s
            bucket.take(second + i / 11)
        assert bucket.flooding(second + 0.99) is False
    bucket.take(10.0)  # closes the tenth window
    assert bucket.flooding(10.0) is True


def test_token_bucket_ten_times_exactly_is_not_flooding() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=1.0)
    for second in range(15):
        for i in range(10):
            bucket.take(second + i / 10)
    bucket.take(15.0)
    assert bucket.flooding(15.0) is False


def test_reading_pauses_for_the_rest_of_a_window_already_over_ten_times_the_budget() -> None:
    hub = make_hub(chat_rate_per_s=2.0)  # so a burst of 4
    hub.open(A, T0, ADDR)
    pauses = []
    for i in range(25):  # 20 is ten times the budget of a one-second window
        effects = hub.receive(A, "junk", T0 + i * 0.01)
        pauses += [e for e in effects if isinstance(e, PauseReading)]
    assert len(pauses) == 5  # the 21st..25th messages; never before the window was over
    assert pauses[0].conn == A
    assert pauses[0].seconds == pytest.approx(1.0 - 0.20)


# --- moderation ------------------------------------------------------------------------------

ADMIN = "b0ss"
MOD_ADDR, BOB_ADDR = "203.0.113.1", "203.0.113.2"  # TEST-NET-3


def moderated_room(**overrides: Any) -> tuple[Hub, str]:
    """mia (A, p1) the moderator from MOD_ADDR, bob (B, p2) from BOB_ADDR, cat (C, p3); bob's resume token."""
    hub = make_hub(admin_password=ADMIN, **overrides)
    for conn, address in ((A, MOD_ADDR), (B, BOB_ADDR), (C, ADDR)):
        assert hub.open(conn, T0, address) == []
    send(hub, A, {"type": "join", "room": "lobby", "username": "mia", "admin_password": ADMIN})
    token = joined_of(send(hub, B, {"type": "join", "room": "lobby", "username": "bob"})).resume
    send(hub, C, {"type": "join", "room": "lobby", "username": "cat"})
    return hub, token


def notice(
    action: str, target: str | None = "p2", target_username: str | None = "bob", **what: Any
) -> Moderated:
    return Moderated(
        action=ModAction(action),
        by="p1",
        by_username="mia",
        target=target,
        target_username=target_username,
        **what,
    )


def join_at(hub: Hub, conn: ConnId, address: str, now: float = T0, **fields: Any) -> list[Effect]:
    assert hub.open(conn, now, address) == []
    return send(hub, conn, {"type": "join", "room": "lobby", "username": "dan", **fields}, now)


def test_the_admin_password_makes_a_moderator_whom_everyone_sees_as_such() -> None:
    hub = make_hub(admin_password=ADMIN)
    assert join(hub, A, "mia", admin_password=ADMIN).self_ == SelfInfo(
        id="p1", username="mia", role=Role.MODERATOR
    )
    assert join(hub, B, "bob").peers == [Peer("p1", "mia", False, False, True, role=Role.MODERATOR)]
    assert join(hub, C, "cat", admin_password=None).self_.role is Role.MEMBER


def test_a_wrong_admin_password_is_refused_and_counts_in_the_back_off() -> None:
    hub = make_hub(admin_password=ADMIN)
    for n in range(3):
        assert join_at(hub, ConnId(10 + n), ADDR, admin_password="guess") == _refused(
            ConnId(10 + n), "auth-failed", "wrong admin password"
        )
    assert kinds(join_at(hub, ConnId(13), ADDR, admin_password="guess")) == ["Send:error", "Close"]
    assert join_at(hub, ConnId(14), ADDR, T0 + 0.5, admin_password=ADMIN) == _refused(
        ConnId(14), "auth-failed", "too many wrong passwords, try again in 1 s"
    )


def test_an_admin_password_is_ignored_by_a_server_without_one() -> None:
    assert join(make_hub(), A, "mia", admin_password="anything").self_.role is Role.MEMBER


@pytest.mark.parametrize(
    "request_",
    [
        {"type": "kick", "target": "p1"},
        {"type": "ban", "target": "p1"},
        {"type": "server-mute", "target": "p1", "muted": True},
        {"type": "lock-room", "locked": True},
    ],
)
def test_only_moderators_moderate(request_: dict[str, Any]) -> None:
    hub, _ = moderated_room()
    assert only_error(send(hub, B, request_), B) == error(
        "not-moderator", "only moderators may do that", request_["type"]
    )


@pytest.mark.parametrize("target", ["p1", "p9"])
def test_a_moderator_acts_only_on_another_peer_of_its_room(target: str) -> None:
    hub, _ = moderated_room()
    join(hub, D, "dan", room="other")  # p4
    for who in (target, "p4"):
        assert only_error(send(hub, A, {"type": "kick", "target": who}), A) == error(
            "unknown-target", "no such peer in this room", "kick", who
        )


def test_a_kick_tells_the_room_then_removes_the_peer_who_may_come_back() -> None:
    hub, _ = moderated_room()
    effects = send(hub, A, {"type": "kick", "target": "p2", "reason": " spam "})
    bob = Place(PeerId("p2"), "lobby", "bob", effects[3].place.token_hash, conn=B, address=BOB_ADDR)  # type: ignore[union-attr]
    assert effects == [
        Send("lobby", (A, B, C), notice("kick", reason="spam")),
        Send("lobby", (B,), error("kicked", "mia kicked you: spam", "kick")),
        Send("lobby", (A, C), PeerLeft(id="p2")),
        DropPlace("lobby", bob),
        Close("lobby", B, AppCloseCode.KICKED, "kicked"),
    ]
    assert send(hub, B, {"type": "chat", "text": "still here?"}) == []  # closed: not read
    assert hub.closed(B, T0) == []  # no grace: the place is gone
    assert kinds(join_at(hub, D, BOB_ADDR, T0 + 1)) == ["Send:peer-joined", "SavePlace", "SendJoined"]


def test_a_peer_in_grace_is_kicked_without_a_connection_to_close() -> None:
    hub, _ = moderated_room()
    hub.closed(B, T0)
    assert kinds(send(hub, A, {"type": "kick", "target": "p2"})) == [
        "Send:moderated",
        "Send:peer-left",
        "DropPlace",
    ]


def test_a_ban_refuses_the_address_until_it_expires_but_not_moderators_or_others() -> None:
    hub, _ = moderated_room()
    effects = send(hub, A, {"type": "ban", "target": "p2", "reason": "spam", "duration_s": 60})
    assert effects[0] == Send("lobby", (A, B, C), notice("ban", reason="spam", duration_s=60))
    assert effects[1] == Send("lobby", (B,), error("banned", "mia banned you: spam", "ban"))
    assert effects[4] == Close("lobby", B, AppCloseCode.BANNED, "banned")
    assert effects[5:] == [SaveBan("lobby", AddressBan(BOB_ADDR, T0 + 60, "spam"))]
    assert kinds(effects) == [
        "Send:moderated",
        "Send:error",
        "Send:peer-left",
        "DropPlace",
        "Close",
        "SaveBan",
    ]
    assert join_at(hub, D, BOB_ADDR, T0 + 59.5) == _refused(
        D, "banned", "your address is banned for 1 s more: spam"
    )
    assert kinds(join_at(hub, E, ADDR, T0 + 59.5)) == ["Send:peer-joined", "SavePlace", "SendJoined"]
    as_mod = join_at(hub, ConnId(6), BOB_ADDR, T0 + 59.5, username="eve", admin_password=ADMIN)
    assert kinds(as_mod) == ["Send:peer-joined", "SavePlace", "SendJoined"]
    assert kinds(join_at(hub, ConnId(7), BOB_ADDR, T0 + 60, username="bob")) == [
        "Send:peer-joined",
        "SavePlace",
        "SendJoined",
    ]


def test_bans_saved_by_a_previous_run_are_enforced() -> None:
    hub = make_hub()
    hub.restore_bans([AddressBan(BOB_ADDR, T0 + 10, "")])
    assert join_at(hub, A, BOB_ADDR) == _refused(A, "banned", "your address is banned for 10 s more")
    assert kinds(join_at(hub, B, BOB_ADDR, T0 + 10)) == ["Send:peer-joined", "SavePlace", "SendJoined"]


def test_a_server_muted_peer_stays_muted_until_a_moderator_lifts_it() -> None:
    hub, _ = moderated_room()
    muted = PeerStateChanged(id="p2", muted=True, deafened=False, voice=True, server_muted=True)
    effects = send(hub, A, {"type": "server-mute", "target": "p2", "muted": True})
    assert effects[:2] == [
        Send("lobby", (A, B, C), notice("server-mute", muted=True)),
        Send("lobby", (A, B, C), muted),
    ]
    assert kinds(effects[2:]) == ["SavePlace"]
    assert send(hub, B, {"type": "state", "muted": False, "deafened": True})[0] == Send(
        "lobby",
        (A, B, C),
        PeerStateChanged(id="p2", muted=True, deafened=True, voice=True, server_muted=True),
    )
    assert join(hub, D, "dan").peers[1] == Peer("p2", "bob", True, True, True, server_muted=True)
    lifted = send(hub, A, {"type": "server-mute", "target": "p2", "muted": False})
    assert lifted[:2] == [
        Send("lobby", (A, B, C, D), notice("server-mute", muted=False)),
        Send("lobby", (A, B, C, D), PeerStateChanged(id="p2", muted=False, deafened=True, voice=True)),
    ]


def test_a_locked_room_refuses_new_joins_but_not_a_resume_or_a_moderator() -> None:
    hub, token = moderated_room()
    assert send(hub, A, {"type": "lock-room", "locked": True, "password": "ignored?"})[0] == Send(
        "lobby", (A, B, C), notice("lock-room", None, None, locked=True, with_password=True)
    )
    assert send(hub, A, {"type": "lock-room", "locked": True}) == [
        Send("lobby", (A, B, C), notice("lock-room", None, None, locked=True, with_password=False))
    ]
    assert join_at(hub, D, ADDR) == _refused(D, "room-locked", "room lobby is locked")
    hub.closed(B, T0)
    resumed = join_at(hub, E, BOB_ADDR, T0 + 1, username="bob", resume=token)
    assert joined_of(resumed).resumed
    as_mod = join_at(hub, ConnId(6), MOD_ADDR, T0 + 1, username="max", admin_password=ADMIN)
    assert kinds(as_mod) == ["Send:peer-joined", "SavePlace", "SendJoined"]
    assert send(hub, A, {"type": "lock-room", "locked": False, "password": "x"}) == [
        Send(
            "lobby", (A, E, C, ConnId(6)), notice("lock-room", None, None, locked=False, with_password=False)
        )
    ]
    assert kinds(join_at(hub, ConnId(7), ADDR, T0 + 1)) == ["Send:peer-joined", "SavePlace", "SendJoined"]


def test_a_room_password_is_asked_of_new_joins_and_counts_in_the_back_off() -> None:
    hub, _ = moderated_room()
    send(hub, A, {"type": "lock-room", "locked": True, "password": "open sesame"})
    assert join_at(hub, D, ADDR, room_password="guess") == _refused(D, "auth-failed", "wrong room password")
    assert kinds(join_at(hub, E, ADDR, room_password="open sesame")) == [
        "Send:peer-joined",
        "SavePlace",
        "SendJoined",
    ]
    for n in range(4):
        join_at(hub, ConnId(10 + n), OTHER_ADDR)
    assert join_at(hub, ConnId(14), OTHER_ADDR, T0 + 0.5, room_password="open sesame") == _refused(
        ConnId(14), "auth-failed", "too many wrong passwords, try again in 1 s"
    )


def test_moderation_spends_the_chat_budget() -> None:
    hub, _ = moderated_room(chat_rate_per_s=1.0)  # burst 2
    kick = {"type": "kick", "target": "p9"}
    assert [only_error(send(hub, A, kick), A).code for _ in range(2)] == ["unknown-target"] * 2
    assert only_error(send(hub, A, kick), A) == error("rate-limited", "too many messages, slow down", "kick")


def test_a_history_request_reads_the_members_own_room_and_spends_a_chat_token() -> None:
    hub = make_hub(chat_rate_per_s=1.0)  # burst 2
    join(hub, A, "alice", room="den")
    assert send(hub, A, {"type": "history", "before": 71}) == [SendHistory("den", A, 71, 50)]
    assert send(hub, A, {"type": "history", "before": 9, "limit": 3, "room": "hall"}) == [
        SendHistory("den", A, 9, 3)  # a room in the request is an unknown field, ignored
    ]
    assert only_error(send(hub, A, {"type": "history", "before": 9}), A).code == "rate-limited"


# --- saved and loaded (a new instance of several starts from it) ---------------------------------


def test_a_loaded_hub_decides_as_the_saved_one_would() -> None:
    hub = make_hub(password="pw", admin_password="boss", grace_s=10.0)
    mod = join(hub, A, "mod", password="pw", admin_password="boss")
    join(hub, B, "bob", password="pw")
    carol = join(hub, C, "carol", password="pw")
    send(hub, A, {"type": "lock-room", "locked": True, "password": "door"})
    hub.closed(C, T0 + 1)  # carol's place waits in grace
    assert hub.open(D, T0 + 2, "198.51.100.7") == []  # opened, not joined yet
    send(hub, D, {"type": "join", "room": "x", "username": "guesser", "password": "no"}, T0 + 2)
    assert hub.open(E, T0 + 3, "198.51.100.7") == []

    copy = make_hub(password="pw", admin_password="boss", grace_s=10.0)
    copy.load(hub.save())
    assert copy.save() == hub.save()
    assert (copy.connections, copy.peers, copy.rooms) == (hub.connections, hub.peers, hub.rooms)
    for h in (hub, copy):
        # the same decisions: carol resumes, a stranger meets the lock, the guesser's address waits
        assert join(h, ConnId(9), "carol", password="pw", resume=carol.resume, now=T0 + 4).resumed is True
        refused = only_error(join_effects(h, ConnId(10), "dan", password="pw", now=T0 + 4)[:1], ConnId(10))
        assert refused.code == "auth-failed"
        assert kinds(h.tick(T0 + JOIN_DEADLINE_S + 3.5)) == ["Close"]  # E was late to join
    assert mod.self_.role == "moderator"
