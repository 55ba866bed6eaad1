"""The rooms core: protocol v1's rules as messages and a clock in, effects out.

It knows no transport and does no I/O, so every rule is testable without a
socket or a sleep. Time is wall-clock seconds (``time.time()``), because
grace deadlines are persisted and must mean the same after a restart.
"""

import hashlib
import hmac
import logging
import math
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import assert_never

import msgspec
from websockets.frames import CloseCode

from protocol import (
    AnswerMedia,
    AppCloseCode,
    Ban,
    ClientMessage,
    ErrorCode,
    ErrorReported,
    FetchHistory,
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
    ProtocolError,
    PublishMedia,
    Role,
    SelfInfo,
    SendChat,
    SendSignal,
    ServerInfo,
    ServerMute,
    SetState,
    SignalRelayed,
    decode_client,
    limits,
    name_key,
)

from . import __version__, turn
from .effects import (
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
from .media_rooms import MediaRooms
from .model import AddressBan, ChatDraft, ConnId, PeerId, Place
from .ratelimit import AuthBackoff, TokenBucket

log = logging.getLogger("voxroom.server.rooms")
"""The rooms' decisions; an instance of several logs only those its own connections caused."""

RATE_LIMITED_EVERY_S = 1.0
JOIN_DEADLINE_S = 10.0
"""A connection not joined this long after it opened is closed; messages before ``join`` do not extend it."""
MAX_UNJOINED_PER_ADDRESS = 8
"""Connections from one address that may wait to join at once (see docs/protocol.md for why 8)."""
MAX_GRACE_PER_ADDRESS = 8
"""Places in grace one client address may hold; past it, its oldest is given up (docs/protocol.md)."""
DEFAULT_MESH_LIMIT = 6
"""Voices a mesh carries before the media server does: 5 streams up per client (docs/benchmarks.md)."""


@dataclass(frozen=True, slots=True)
class HubConfig:
    """The rooms' rules; ``ServerConfig`` extends it, so each setting is declared once."""

    version: str = __version__
    password: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    """Who joins with it is a moderator (docs/protocol.md, "Moderation")."""
    max_room_size: int = limits.DEFAULT_MAX_ROOM_SIZE
    max_connections: int = limits.DEFAULT_MAX_CONNECTIONS
    chat_rate_per_s: float = limits.DEFAULT_CHAT_RATE_PER_S
    signal_rate_per_s: float = limits.DEFAULT_SIGNAL_RATE_PER_S
    grace_s: float = limits.DEFAULT_GRACE_S
    ice_servers: tuple[IceServer, ...] = ()
    turn_urls: tuple[str, ...] = ()
    """Given after ``ice_servers`` with credentials from ``turn_secret`` (docs/operations.md, "TURN")."""
    turn_secret: str | None = field(default=None, repr=False)
    turn_ttl_s: int = turn.DEFAULT_TTL_S
    media_server: str | None = None
    """Janus's WebSocket API (docs/protocol.md, "Media server"); None: every call is a mesh."""
    mesh_limit: int = DEFAULT_MESH_LIMIT
    """A room's call moves to the media server once it has more voices than this (0: always)."""

    def ice_servers_for(self, peer_id: str, now: float) -> list[IceServer]:
        """What a ``joined`` carries: the configured servers, then TURN with credentials for this join."""
        servers = list(self.ice_servers)
        if self.turn_urls and self.turn_secret is not None:
            servers.append(turn.ice_server(self.turn_urls, self.turn_secret, peer_id, now, self.turn_ttl_s))
        return servers

    @property
    def chat_burst(self) -> float:
        return limits.CHAT_BURST_PER_RATE * self.chat_rate_per_s

    @property
    def signal_burst(self) -> float:
        return limits.SIGNAL_BURST_PER_RATE * self.signal_rate_per_s


@dataclass(slots=True)
class _Session:
    """One open connection: its client's address, its budgets and, once joined, its place."""

    address: str
    chat_budget: TokenBucket
    signal_budget: TokenBucket
    place: Place | None = None
    rate_limited_at: float = float("-inf")
    ending: bool = False
    """The core has closed it: nothing more from it is read or answered."""
    flooding: bool = False
    """The gate has closed it for flooding (kept apart from the rooms' state, which replicas share)."""


@dataclass(slots=True)
class _Room:
    places: dict[PeerId, Place] = field(default_factory=dict)  # in join order
    by_name: dict[str, PeerId] = field(default_factory=dict)
    locked: bool = False
    """New joins are refused, or with ``password`` need it; it lasts while the room has places."""
    password: str | None = None


class _SavedRoom(msgspec.Struct, array_like=True):
    name: str
    places: list[Place]  # in join order
    locked: bool
    password: str | None


class _SavedSession(msgspec.Struct, array_like=True):
    conn: int
    address: str
    peer: str | None
    ending: bool


class _Saved(msgspec.Struct, array_like=True):
    """What a ``Hub`` decides with; not the budgets, which only the gate of the connection's instance uses."""

    rooms: list[_SavedRoom]
    sessions: list[_SavedSession]
    unjoined: list[tuple[int, float]]  # in opening order
    grace: list[str]  # in the order places entered it
    auth: list[tuple[str, int, float, float]]
    bans: list[AddressBan]


_saved_decoder = msgspec.msgpack.Decoder(_Saved)


def hash_token(token: str) -> str:
    """Tokens are kept (and persisted) only as hashes."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_peer_id() -> PeerId:
    """64 random bits: unique across restarts without a persisted counter."""
    return PeerId(secrets.token_hex(8))


def new_token() -> str:
    """A resume token: 192 random bits."""
    return secrets.token_urlsafe(24)


class Hub:
    """Every room of one server, and every connection's session."""

    def __init__(
        self,
        config: HubConfig,
        make_peer_id: Callable[[], PeerId] = new_peer_id,
        make_token: Callable[[], str] = new_token,
    ) -> None:
        """``make_peer_id`` and ``make_token`` are its only randomness: replicas pass seeded ones."""
        self.config = config
        self._make_peer_id = make_peer_id
        self._make_token = make_token
        self._sessions: dict[ConnId, _Session] = {}
        self._rooms: dict[str, _Room] = {}
        self._by_token: dict[str, Place] = {}
        self._unjoined: dict[ConnId, float] = {}  # opened at, in opening order
        self._unjoined_per_address: dict[str, int] = {}
        self._grace: dict[PeerId, Place] = {}  # places in grace, in the order they entered it
        self._grace_per_address: dict[str, dict[PeerId, Place]] = {}  # the same, by address
        self._auth = AuthBackoff()
        self._bans: dict[str, AddressBan] = {}  # by address
        self.media = MediaRooms(config.media_server is not None, config.mesh_limit)

    # --- introspection (health, metrics) -----------------------------------

    @property
    def connections(self) -> int:
        return len(self._sessions)

    @property
    def rooms(self) -> int:
        return len(self._rooms)

    @property
    def room_names(self) -> Collection[str]:
        """The rooms with places (a live view)."""
        return self._rooms.keys()

    @property
    def peers(self) -> int:
        return sum(len(room.places) for room in self._rooms.values())

    def conn_of(self, room: str, peer: PeerId) -> ConnId | None:
        """The connection of ``peer``'s place in ``room``; None if it has none (in grace) or is gone."""
        place = self._rooms[room].places.get(peer) if room in self._rooms else None
        return place.conn if place is not None else None

    @property
    def conns(self) -> Collection[ConnId]:
        """Every open connection (a live view)."""
        return self._sessions.keys()

    # --- inputs ----------------------------------------------------------------

    def restore(self, places: list[Place], now: float) -> None:
        """Seat the places persisted by a previous run, all in their grace period.

        They are not held to the caps on places in grace: they met them when
        they were saved, and all of them are gone within one grace period.
        """
        for place in places:
            place.conn = None
            deadline = now + self.config.grace_s
            place.grace_until = deadline if place.grace_until is None else min(place.grace_until, deadline)
            self._seat(place)
        for place in sorted(places, key=lambda p: p.grace_until or now):
            self._track_grace(place)
        log.info("restored %d places in %d rooms", len(places), len(self._rooms))

    def save(self) -> bytes:
        """The rooms and sessions, for an instance that starts from here instead of the log's beginning."""
        rooms = [
            _SavedRoom(name, list(room.places.values()), room.locked, room.password)
            for name, room in self._rooms.items()
        ]
        sessions = [
            _SavedSession(conn, s.address, s.place.peer_id if s.place else None, s.ending)
            for conn, s in self._sessions.items()
        ]
        saved = _Saved(
            rooms,
            sessions,
            list(self._unjoined.items()),
            list(self._grace),
            self._auth.saved(),
            list(self._bans.values()),
        )
        return msgspec.msgpack.encode(saved)

    def load(self, data: bytes) -> None:
        """Take up what ``save`` gave (on a Hub that holds nothing yet)."""
        saved = _saved_decoder.decode(data)
        places: dict[str, Place] = {}
        for room in saved.rooms:
            for place in room.places:
                self._seat(place)
                places[place.peer_id] = place
            self._rooms[room.name].locked, self._rooms[room.name].password = room.locked, room.password
        for saved_session in saved.sessions:
            session = self._sessions[ConnId(saved_session.conn)] = self._new_session(saved_session.address)
            session.place = places[saved_session.peer] if saved_session.peer is not None else None
            session.ending = saved_session.ending
        for conn, opened in saved.unjoined:
            address = self._sessions[ConnId(conn)].address
            self._unjoined[ConnId(conn)] = opened
            self._unjoined_per_address[address] = self._unjoined_per_address.get(address, 0) + 1
        for peer in saved.grace:
            self._track_grace(places[peer])
        self._auth.load(saved.auth)
        self.restore_bans(saved.bans)

    def restore_bans(self, bans: list[AddressBan]) -> None:
        """Enforce the bans persisted by a previous run (those not yet over)."""
        self._bans.update((ban.address, ban) for ban in bans)

    def open(self, conn: ConnId, now: float, address: str) -> list[Effect]:
        """A connection from ``address`` was accepted; refuse it when the server, or its address, is full.

        It must join within ``JOIN_DEADLINE_S``; ``tick`` closes it otherwise.
        """
        if len(self._sessions) >= self.config.max_connections:
            message = "the server is full, try again later"
        elif self._unjoined_per_address.get(address, 0) >= MAX_UNJOINED_PER_ADDRESS:
            message = "too many connections from your address are waiting to join"
        else:
            self._sessions[conn] = self._new_session(address)
            self._unjoined[conn] = now
            self._unjoined_per_address[address] = self._unjoined_per_address.get(address, 0) + 1
            return []
        error = _error(ErrorCode.SERVER_FULL, message)
        _log_error(error, None, address, conn)
        return [
            Send(None, (conn,), error),
            Close(None, conn, CloseCode.TRY_AGAIN_LATER, "server full"),
        ]

    def receive(self, conn: ConnId, data: str | bytes, now: float) -> list[Effect]:
        """One WebSocket message from ``conn``: text holds JSON, binary is refused."""
        screened = self.screen(conn, data, now)
        return screened if isinstance(screened, list) else self.act(conn, screened, now)

    def screen(self, conn: ConnId, data: str | bytes, now: float) -> ClientMessage | list[Effect]:
        """The gate: the message if it is well formed and within its budget, else what to answer.

        It changes nothing but the connection's budgets, so a replica runs it
        alone on the instance holding the socket: garbage and floods never
        reach the shared log (docs/architecture.md), and ``act`` follows.
        """
        session = self._sessions.get(conn)
        if session is None or session.ending or session.flooding:
            return []
        try:
            if isinstance(data, bytes):
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "binary messages are not accepted")
            message = decode_client(data)
        except ProtocolError as exc:
            if session.chat_budget.take(now):
                room = session.place.room if session.place else None
                return self._logged(
                    conn, session, [Send(room, (conn,), _error(exc.code, exc.message, exc.ref))]
                )
            return self._logged(
                conn, session, self._over_budget(conn, session, session.chat_budget, exc.ref, now)
            )
        budget = _budget_for(session, message)
        if budget is not None and not budget.take(now):
            return self._logged(
                conn, session, self._over_budget(conn, session, budget, _type_of(message), now)
            )
        return message

    def act(self, conn: ConnId, message: ClientMessage, now: float) -> list[Effect]:
        """A message the gate let through: the rooms' rules."""
        session = self._sessions.get(conn)
        if session is None or session.ending:
            return []
        return self._logged(conn, session, self._dispatch(conn, session, message, now))

    def _logged(self, conn: ConnId, session: _Session, effects: list[Effect]) -> list[Effect]:
        for effect in effects:
            # Only this connection's own errors: a kicked peer's is logged as the kick.
            if (
                isinstance(effect, Send)
                and isinstance(effect.message, ErrorReported)
                and effect.conns == (conn,)
            ):
                _log_error(effect.message, session.place, session.address, conn)
        return effects

    def _dispatch(self, conn: ConnId, session: _Session, message: ClientMessage, now: float) -> list[Effect]:
        if isinstance(message, Join):
            return self._join(conn, session, message, now)
        place = session.place
        if place is None:
            return [Send(None, (conn,), _error(ErrorCode.NOT_JOINED, "send `join` first", _type_of(message)))]
        match message:
            case SendChat():
                return self._chat(conn, place, message, now)
            case SendSignal():
                return self._signal(conn, place, message)
            case SetState():
                return self._state(conn, place, message)
            case Leave():
                return self._leave(conn, session, place)
            case FetchHistory():
                return [SendHistory(place.room, conn, message.before, message.limit)]
            case Kick() | Ban() | ServerMute() | LockRoom():
                return self._moderate(conn, place, message, now)
            case PublishMedia() | AnswerMedia():
                return self.media.request(place, conn, message, _type_of(message))
            case _:
                assert_never(message)

    def media_lost(self) -> list[Effect]:
        """The media shell lost the media server: rooms on it fall back to the mesh or wait (media_rooms)."""
        return self.media.lost(self._places_by_room())

    def media_reached(self) -> list[Effect]:
        """The media shell has a session with the media server: the rooms waiting for it move to it."""
        return self.media.reached(self._places_by_room())

    def _places_by_room(self) -> dict[str, Collection[Place]]:
        return {name: room.places.values() for name, room in self._rooms.items()}

    def closed(self, conn: ConnId, now: float) -> list[Effect]:
        """``conn`` is gone without ``leave``: its place waits out the grace period."""
        session = self._sessions.pop(conn, None)
        if session is None:
            return []
        self._joined_or_ended(conn, session)
        if session.place is None:
            return []
        place = session.place
        place.conn = None
        place.grace_until = now + self.config.grace_s
        log.info("disconnected room=%s peer=%s grace=%.0fs", place.room, place.peer_id, self.config.grace_s)
        return [SavePlace(place.room, replace(place)), *self._enter_grace(place)]

    def tick(self, now: float) -> list[Effect]:
        """Close the connections late to join, and give up the places whose grace period is over."""
        effects: list[Effect] = []
        while self._unjoined:
            conn, opened = next(iter(self._unjoined.items()))
            if now - opened < JOIN_DEADLINE_S:
                break
            session = self._sessions[conn]
            log.info("join timeout addr=%s conn=%s", session.address, conn)
            effects.append(self._end(conn, session, CloseCode.POLICY_VIOLATION, "join timeout"))
        self._auth.forget(now)
        return effects + [effect for room in list(self._rooms) for effect in self._expire(room, now)]

    # --- handlers --------------------------------------------------------------

    def _join(self, conn: ConnId, session: _Session, msg: Join, now: float) -> list[Effect]:
        if session.place is not None:
            return [
                Send(session.place.room, (conn,), _error(ErrorCode.ALREADY_JOINED, "already joined", "join"))
            ]
        address = session.address
        if self.config.password is not None:
            wrong = self._wrong_secret(address, msg.room, msg.password, self.config.password, "password", now)
            if wrong:
                return self._refuse(conn, session, ErrorCode.AUTH_FAILED, wrong)
        role = Role.MEMBER
        if self.config.admin_password is not None and msg.admin_password is not None:
            admin = self.config.admin_password
            wrong = self._wrong_secret(address, msg.room, msg.admin_password, admin, "admin password", now)
            if wrong:
                return self._refuse(conn, session, ErrorCode.AUTH_FAILED, wrong)
            role = Role.MODERATOR
        ban = self._ban_on(address, now) if role is Role.MEMBER else None
        if ban is not None:
            message = f"your address is banned for {math.ceil(ban.until - now)} s more"
            return self._refuse(
                conn, session, ErrorCode.BANNED, f"{message}: {ban.reason}" if ban.reason else message
            )
        # Expire first, so a stale place neither resumes nor holds its name between ticks.
        effects = self._expire(msg.room, now)
        place = self._by_token.get(hash_token(msg.resume)) if msg.resume else None
        if place is not None and place.room == msg.room:
            if msg.voice and not place.voice and (full := self._call_full(msg.room)):
                return effects + self._refuse(conn, session, ErrorCode.ROOM_FULL, full)
            effects += self._take_over(place, msg)
            resumed = True
        else:
            room = self._rooms.get(msg.room)
            if room is not None and room.locked and role is Role.MEMBER:
                if room.password is None:
                    return effects + self._refuse(
                        conn, session, ErrorCode.ROOM_LOCKED, f"room {msg.room} is locked"
                    )
                wrong = self._wrong_secret(
                    address, msg.room, msg.room_password, room.password, "room password", now
                )
                if wrong:
                    return effects + self._refuse(conn, session, ErrorCode.AUTH_FAILED, wrong)
            if room is not None and len(room.places) >= self.config.max_room_size:
                return effects + self._refuse(conn, session, ErrorCode.ROOM_FULL, f"room {msg.room} is full")
            if msg.voice and (full := self._call_full(msg.room)):
                return effects + self._refuse(conn, session, ErrorCode.ROOM_FULL, full)
            if room is not None and name_key(msg.username) in room.by_name:
                message = f"the name {msg.username} is taken in this room"
                return effects + self._refuse(conn, session, ErrorCode.NAME_TAKEN, message)
            place = Place(self._make_peer_id(), msg.room, msg.username, "", voice=msg.voice, role=role)
            others = self.live_conns(msg.room)
            self._seat(place)
            effects.append(Send(msg.room, others, PeerJoined(peer=_peer(place))))
            resumed = False
        token = self._make_token()
        self._by_token.pop(place.token_hash, None)
        place.token_hash = hash_token(token)
        self._by_token[place.token_hash] = place
        self._leave_grace(place)
        place.conn, place.grace_until, place.address = conn, None, session.address
        session.place = place
        self._joined_or_ended(conn, session)
        log.info("%s room=%s peer=%s", "resumed" if resumed else "joined", place.room, place.peer_id)
        media, after = self.media.joined(place, msg.media_server, self._rooms[place.room].places.values())
        joined = Joined(
            room=place.room,
            self_=SelfInfo(id=place.peer_id, username=place.username, role=place.role),
            peers=[_peer(p) for p in self._rooms[place.room].places.values() if p is not place],
            history=[],
            resume=token,
            resumed=resumed,
            ice_servers=self.config.ice_servers_for(place.peer_id, now),
            server=ServerInfo(version=self.config.version),
            media=media,
        )
        effects += [SavePlace(place.room, replace(place)), SendJoined(place.room, conn, joined, msg.since)]
        return effects + after

    def _wrong_secret(
        self, address: str, room: str, given: str | None, expected: str, what: str, now: float
    ) -> str | None:
        """Check one secret of a ``join`` under its address's back-off: why it is refused, or None.

        While the address must wait, the secret is not even compared, so a
        guesser learns nothing from its tries; a failure lengthens the wait.
        """
        wait_s = self._auth.wait_s(address, now)
        if wait_s > 0:
            log.info("auth throttled room=%s addr=%s wait=%.1fs", room, address, wait_s)
            return f"too many wrong passwords, try again in {math.ceil(wait_s)} s"
        if not hmac.compare_digest((given or "").encode(), expected.encode()):
            self._auth.failed(address, now)
            log.info("auth failed room=%s addr=%s", room, address)
            return f"wrong {what}"
        self._auth.succeeded(address)
        return None

    def _ban_on(self, address: str, now: float) -> AddressBan | None:
        """The ban on ``address`` still running at ``now``; an expired one is forgotten."""
        ban = self._bans.get(address)
        if ban is not None and ban.until <= now:
            del self._bans[address]
            return None
        return ban

    def _take_over(self, place: Place, msg: Join) -> list[Effect]:
        """A valid resume token: the new connection inherits the place."""
        effects: list[Effect] = []
        if place.conn is not None:
            old = self._sessions[place.conn]  # a place's conn is open: ``closed`` clears it
            old.place = None
            effects.append(self._end(place.conn, old, AppCloseCode.SUPERSEDED, "superseded", place.room))
        if place.voice != msg.voice:
            place.voice = msg.voice
            effects.append(Send(place.room, self.live_conns(place.room, but=place), _state_of(place)))
            effects += self.media.voice_changed(place, self._rooms[place.room].places.values())
        return effects

    def _chat(self, conn: ConnId, place: Place, msg: SendChat, now: float) -> list[Effect]:
        draft = ChatDraft(place.room, place.peer_id, place.username, msg.text, int(now * 1000), msg.nonce)
        return [PostChat(draft, conn, self.live_conns(place.room))]

    def _signal(self, conn: ConnId, place: Place, msg: SendSignal) -> list[Effect]:
        target = self._rooms[place.room].places.get(PeerId(msg.target))
        if target is None or target is place:
            error = _error(ErrorCode.UNKNOWN_TARGET, "no such peer in this room", "signal")
            error.target = msg.target
            return [Send(place.room, (conn,), error)]
        if target.conn is None:
            return []  # in its grace period: dropped, as the spec says
        return [Send(place.room, (target.conn,), SignalRelayed(from_=place.peer_id, payload=msg.payload))]

    def _state(self, conn: ConnId, place: Place, msg: SetState) -> list[Effect]:
        voice = place.voice
        if msg.voice and not voice and (full := self._call_full(place.room)):
            return [Send(place.room, (conn,), _error(ErrorCode.ROOM_FULL, full, "state"))]
        for name in ("muted", "deafened", "voice"):
            value = getattr(msg, name)
            if value is not None:
                setattr(place, name, value)
        effects: list[Effect] = [
            Send(place.room, self.live_conns(place.room), _state_of(place)),
            SavePlace(place.room, replace(place)),
        ]
        if place.voice != voice:
            effects += self.media.voice_changed(place, self._rooms[place.room].places.values())
        return effects

    def _leave(self, conn: ConnId, session: _Session, place: Place) -> list[Effect]:
        session.place = None
        log.info("left room=%s peer=%s", place.room, place.peer_id)
        return [*self._unseat(place), self._end(conn, session, CloseCode.NORMAL_CLOSURE, "left", place.room)]

    def _moderate(self, conn: ConnId, mod: Place, msg: ModRequest, now: float) -> list[Effect]:
        """A moderator acts on a peer of its room, or on the room; everyone in it hears first."""
        if mod.role is not Role.MODERATOR:
            error = _error(ErrorCode.NOT_MODERATOR, "only moderators may do that", _type_of(msg))
            return [Send(mod.room, (conn,), error)]
        if isinstance(msg, LockRoom):
            room = self._rooms[mod.room]
            room.locked, room.password = msg.locked, msg.password if msg.locked else None
            log.info("moderated action=lock-room room=%s by=%s locked=%s", mod.room, mod.peer_id, msg.locked)
            notice = _moderated(ModAction.LOCK_ROOM, mod)
            notice.locked, notice.with_password = room.locked, room.password is not None
            return [Send(mod.room, self.live_conns(mod.room), notice)]
        target = self._rooms[mod.room].places.get(PeerId(msg.target))
        if target is None or target is mod:
            error = _error(ErrorCode.UNKNOWN_TARGET, "no such peer in this room", _type_of(msg))
            error.target = msg.target
            return [Send(mod.room, (conn,), error)]
        log.info(
            "moderated action=%s room=%s by=%s target=%s",
            _type_of(msg),
            mod.room,
            mod.peer_id,
            target.peer_id,
        )
        match msg:
            case Kick():
                notice = _moderated(ModAction.KICK, mod, target)
                notice.reason = msg.reason
                return self._remove(target, notice, ErrorCode.KICKED, AppCloseCode.KICKED)
            case Ban():
                notice = _moderated(ModAction.BAN, mod, target)
                notice.reason, notice.duration_s = msg.reason, msg.duration_s
                effects = self._remove(target, notice, ErrorCode.BANNED, AppCloseCode.BANNED)
                if target.address is not None:  # None only for a place saved before addresses were
                    ban = AddressBan(target.address, now + msg.duration_s, msg.reason)
                    self._bans[ban.address] = ban
                    effects.append(SaveBan(mod.room, ban))
                return effects
            case ServerMute():
                target.server_muted = msg.muted
                notice = _moderated(ModAction.SERVER_MUTE, mod, target)
                notice.muted = msg.muted
                live = self.live_conns(mod.room)
                return [
                    Send(mod.room, live, notice),
                    Send(mod.room, live, _state_of(target)),
                    SavePlace(mod.room, replace(target)),
                ]
            case _:
                assert_never(msg)

    def _remove(self, target: Place, notice: Moderated, code: ErrorCode, close: AppCloseCode) -> list[Effect]:
        """Kick or ban ``target``: the room hears who and why, then its ``peer-left``; its connection ends.

        The target also gets an ``error`` with the same words, which a client
        that predates moderation shows, and the close code tells it not to resume.
        """
        effects: list[Effect] = [Send(target.room, self.live_conns(target.room), notice)]
        closing: list[Effect] = []
        if target.conn is not None:
            session = self._sessions[target.conn]
            session.place = None
            words = f"{notice.by_username} {code.value} you" + (f": {notice.reason}" if notice.reason else "")
            effects.append(Send(target.room, (target.conn,), _error(code, words, notice.action.value)))
            closing.append(self._end(target.conn, session, close, code.value, target.room))
        return effects + self._unseat(target) + closing

    def _over_budget(
        self, conn: ConnId, session: _Session, budget: TokenBucket, ref: str | None, now: float
    ) -> list[Effect]:
        room = session.place.room if session.place else None
        if budget.flooding(now):
            log.info("flood disconnect room=%s addr=%s conn=%s", room, session.address, conn)
            session.flooding = True  # the rooms learn of it when the connection is closed
            return [Close(room, conn, CloseCode.POLICY_VIOLATION, "flooding")]
        effects: list[Effect] = []
        if now - session.rate_limited_at >= RATE_LIMITED_EVERY_S:
            session.rate_limited_at = now
            error = _error(ErrorCode.RATE_LIMITED, "too many messages, slow down", ref)
            effects.append(Send(room, (conn,), error))
        pause = budget.flood_window_left(now)
        if pause > 0:
            effects.append(PauseReading(room, conn, pause))
        return effects

    def _refuse(self, conn: ConnId, session: _Session, code: ErrorCode, message: str) -> list[Effect]:
        """Answer a refused ``join`` and close with 1008 (policy)."""
        return [
            Send(None, (conn,), _error(code, message, "join")),
            self._end(conn, session, CloseCode.POLICY_VIOLATION, code.value),
        ]

    # --- connection bookkeeping ------------------------------------------------

    def _new_session(self, address: str) -> _Session:
        """A connection from ``address`` with full budgets."""
        cfg = self.config
        return _Session(
            address,
            TokenBucket(cfg.chat_rate_per_s, cfg.chat_burst),
            TokenBucket(cfg.signal_rate_per_s, cfg.signal_burst),
        )

    def _end(
        self,
        conn: ConnId,
        session: _Session,
        code: CloseCode | AppCloseCode,
        reason: str,
        room: str | None = None,
    ) -> Close:
        """Close ``conn``; from now on its messages are neither read nor answered."""
        session.ending = True
        self._joined_or_ended(conn, session)
        return Close(room, conn, code, reason)

    def _joined_or_ended(self, conn: ConnId, session: _Session) -> None:
        """``conn`` no longer waits to join: it stops counting toward its address's cap and deadline."""
        if self._unjoined.pop(conn, None) is None:
            return
        left = self._unjoined_per_address[session.address] - 1
        if left:
            self._unjoined_per_address[session.address] = left
        else:
            del self._unjoined_per_address[session.address]

    # --- room bookkeeping ------------------------------------------------------

    def _expire(self, room_name: str, now: float) -> list[Effect]:
        """Give up the room's places whose grace period is over."""
        room = self._rooms.get(room_name)
        if room is None:
            return []
        effects: list[Effect] = []
        for place in [p for p in room.places.values() if p.grace_until is not None and p.grace_until <= now]:
            log.info("grace over room=%s peer=%s", place.room, place.peer_id)
            effects += self._unseat(place)
        return effects

    def _enter_grace(self, place: Place) -> list[Effect]:
        """``place`` is now in grace: past a cap, the oldest in grace go, as when their grace ends.

        One address may hold ``MAX_GRACE_PER_ADDRESS`` places in grace, the
        server ``max_connections``: what a restart or a network cut leaves
        when every connection had a place. More can only be churn.
        """
        self._track_grace(place)
        effects: list[Effect] = []
        if place.address is not None:
            mine = self._grace_per_address[place.address]
            while len(mine) > MAX_GRACE_PER_ADDRESS:
                effects += self._give_up(next(iter(mine.values())), "address")
        while len(self._grace) > self.config.max_connections:
            effects += self._give_up(next(iter(self._grace.values())), "server")
        return effects

    def _give_up(self, place: Place, cap: str) -> list[Effect]:
        log.info("grace cap=%s room=%s peer=%s addr=%s", cap, place.room, place.peer_id, place.address)
        return self._unseat(place)

    def _track_grace(self, place: Place) -> None:
        self._grace[place.peer_id] = place
        if place.address is not None:
            self._grace_per_address.setdefault(place.address, {})[place.peer_id] = place

    def _leave_grace(self, place: Place) -> None:
        """``place`` is taken up again or given up: it no longer counts toward the caps."""
        if self._grace.pop(place.peer_id, None) is None or place.address is None:
            return
        mine = self._grace_per_address[place.address]
        del mine[place.peer_id]
        if not mine:
            del self._grace_per_address[place.address]

    def _call_full(self, room_name: str) -> str | None:
        """Why one more voice may not join the room's call (media_rooms: a mesh carries at most 16)."""
        room = self._rooms.get(room_name)
        return self.media.voice_refused(room_name, room.places.values()) if room is not None else None

    def _seat(self, place: Place) -> None:
        room = self._rooms.setdefault(place.room, _Room())
        room.places[place.peer_id] = place
        room.by_name[name_key(place.username)] = place.peer_id
        if place.token_hash:
            self._by_token[place.token_hash] = place

    def _unseat(self, place: Place) -> list[Effect]:
        room = self._rooms[place.room]
        del room.places[place.peer_id]
        del room.by_name[name_key(place.username)]
        self._by_token.pop(place.token_hash, None)
        self._leave_grace(place)
        if not room.places:
            del self._rooms[place.room]
        return [
            Send(place.room, self.live_conns(place.room), PeerLeft(id=place.peer_id)),
            DropPlace(place.room, place),
            *self.media.unseated(place, room.places.values()),
        ]

    def live_conns(self, room_name: str, but: Place | None = None) -> tuple[ConnId, ...]:
        """The connections of the room's places not in grace (``but`` one), in join order."""
        room = self._rooms.get(room_name)
        if room is None:
            return ()
        return tuple(p.conn for p in room.places.values() if p.conn is not None and p is not but)


def _error(code: ErrorCode, message: str, ref: str | None = None) -> ErrorReported:
    return ErrorReported(code=code.value, message=message, ref=ref)


def _log_error(error: ErrorReported, place: Place | None, address: str, conn: ConnId) -> None:
    """One line per error sent, with the client's address: what fail2ban and operators read."""
    log.info(
        "error code=%s ref=%s room=%s peer=%s addr=%s conn=%s",
        error.code,
        error.ref,
        place.room if place else None,
        place.peer_id if place else None,
        address,
        conn,
    )


def _budget_for(session: _Session, message: msgspec.Struct) -> TokenBucket | None:
    """The bucket a well-formed message spends from, or None for the free ones.

    Before ``join`` everything but the join itself is chat; the first ``join`` is
    free (it seats the connection or ends it), so a fresh peer keeps its whole
    chat burst; ``leave`` after joining ends the connection, so it is free too.
    """
    if session.place is None:
        return None if isinstance(message, Join) else session.chat_budget
    if isinstance(message, Leave):
        return None
    signals = isinstance(message, SendSignal | PublishMedia | AnswerMedia)
    return session.signal_budget if signals else session.chat_budget


def _peer(place: Place) -> Peer:
    return Peer(
        id=place.peer_id,
        username=place.username,
        muted=place.muted or place.server_muted,
        deafened=place.deafened,
        voice=place.voice,
        role=place.role,
        server_muted=place.server_muted,
    )


def _state_of(place: Place) -> PeerStateChanged:
    return PeerStateChanged(
        id=place.peer_id,
        muted=place.muted or place.server_muted,
        deafened=place.deafened,
        voice=place.voice,
        server_muted=place.server_muted,
    )


def _moderated(action: ModAction, mod: Place, target: Place | None = None) -> Moderated:
    return Moderated(
        action=action,
        by=mod.peer_id,
        by_username=mod.username,
        target=target.peer_id if target else None,
        target_username=target.username if target else None,
    )


def _type_of(message: msgspec.Struct) -> str:
    tag = type(message).__struct_config__.tag
    return tag if isinstance(tag, str) else type(message).__name__
