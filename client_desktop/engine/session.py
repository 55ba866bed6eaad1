"""The signaling session as a pure core: one room on one server, kept joined across drops.

``Session`` does no I/O and reads no clock (aioquic's ``QuicConnection``
pattern): each input takes ``now`` and returns the actions to execute in
order, and ``get_timer()`` says when to call ``handle_timer(now)``. The
shell (``signaling.py``) opens and closes websockets connections, sends the
frames it is handed and feeds back what happened. Randomness (nonces, the
backoff's jitter) is passed in too, so every branch is testable exactly.

Guarantees to the owner:

- ``ChatReceived`` comes exactly once per chat id, in id order, whether the
  message arrived live or in the ``history`` of a (re)join.
- ``send_chat`` works connected or not. Each message carries a random nonce
  and stays in the outbox until the server echoes it; after a reconnect, the
  messages whose nonce is in the returned history are done and the rest are
  sent again, in order. A message typed while offline arrives exactly once.
- Every ``RoomJoined`` (the first, and one per reconnect) carries the complete
  list of the other peers at that moment. No ``PeerArrived``/``PeerDeparted``
  are made up for what changed while the client was away. With ``resumed``
  true the place (peer id, name, state) was kept; with ``resumed`` false (the
  grace period ran out) the client has a new ``self_id`` and starts over.
- The state given to ``set_state`` is remembered; after a reconnect it is
  sent again whenever the server's view of the place differs from it.
- A close with 4000 (superseded), a refusal other than ``server-full``, or an
  untrusted certificate is final: ``ConnectionFailed``, no more attempts.
  Anything else is retried forever, the delays taken from ``backoff`` (its
  last value repeats). The first attempt is not retried: ``start`` reports
  its failure to the caller (``Refused``).

The media-server addition passes through: ``joined.media`` rides on
``RoomJoined``; ``media``, ``media-published`` and ``media-offer`` become
``MediaModeChanged``, ``PublishAnswered`` and ``StreamsOffered`` for the
engine (which decides, in ``media_rules.py``); ``send_media`` sends an SDP
only while joined, like a signal.

Chat and state go out paced below the server's default budget, so a long
outbox re-sent after a reconnect is not rate-limited. A chat the server still
refuses (``rate-limited`` on a server with a lower ``--chat-rate``,
``storage-failed``) is reported as ``ServerError`` and stays in the outbox
until the next reconnect sends it again.
"""

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum, auto
from typing import Final, assert_never

import msgspec
from websockets.frames import CloseCode

from protocol import (
    AppCloseCode,
    ChatPosted,
    ErrorCode,
    ErrorReported,
    FetchHistory,
    HistoryFetched,
    Join,
    Joined,
    Leave,
    MediaOffered,
    MediaPublished,
    MediaRequest,
    MediaSwitched,
    Moderated,
    ModRequest,
    Peer,
    PeerJoined,
    PeerLeft,
    PeerStateChanged,
    ProtocolError,
    Role,
    SendChat,
    SendSignal,
    SetState,
    SignalRelayed,
    decode_server,
    encode,
    limits,
)

from .events import (
    ChatReceived,
    ConnectionFailed,
    ConnectionLost,
    FailureCode,
    HistoryPaged,
    MediaModeChanged,
    PeerArrived,
    PeerDeparted,
    PeerUpdated,
    PublishAnswered,
    RoomJoined,
    RoomModerated,
    ServerError,
    SessionEvent,
    SignalReceived,
    StreamsOffered,
)
from .problems import LinkProblem, LinkTrouble, Reason

log = logging.getLogger("voxroom.engine.signaling")

DEFAULT_BACKOFF_S: Final = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0)
"""Reconnect delays; several attempts fall within the server's 15 s grace period."""
DEFAULT_JITTER: Final = 0.1
"""Each delay is stretched by up to this fraction, so a restarted server is not hit all at once."""
DEFAULT_TIMEOUT_S: Final = 10.0
"""For the answer to ``join``, and for the server to close after ``leave``."""
PACE_PER_S: Final = 0.8 * limits.DEFAULT_CHAT_RATE_PER_S
PACE_BURST: Final = limits.DEFAULT_CHAT_BURST // 2
"""Chat and state frames go out at most this fast: below the server's budget with a margin."""

_REFUSALS: Final = {
    ErrorCode.AUTH_FAILED.value: FailureCode.AUTH_FAILED,
    ErrorCode.NAME_TAKEN.value: FailureCode.NAME_TAKEN,
    ErrorCode.ROOM_FULL.value: FailureCode.ROOM_FULL,
    ErrorCode.SERVER_FULL.value: FailureCode.SERVER_FULL,
    ErrorCode.BAD_MESSAGE.value: FailureCode.BAD_MESSAGE,
    ErrorCode.BANNED.value: FailureCode.BANNED,
    ErrorCode.ROOM_LOCKED.value: FailureCode.ROOM_LOCKED,
}
"""``error`` codes that answer a ``join`` with a refusal."""
_REMOVED: Final[dict[int, FailureCode]] = {
    AppCloseCode.KICKED: FailureCode.KICKED,
    AppCloseCode.BANNED: FailureCode.BANNED,
}
"""Close codes of a moderator's kick or ban: final, since the place is gone."""
_RETRYABLE: Final = frozenset({FailureCode.UNREACHABLE, FailureCode.SERVER_FULL})
"""Failures worth trying again later (after the first join); the others are final."""


class Phase(Enum):
    IDLE = auto()
    CONNECTING = auto()
    """A connection is being opened."""
    JOINING = auto()
    """``join`` sent, waiting for ``joined``."""
    JOINED = auto()
    WAITING = auto()
    """Between attempts, for the backoff's delay."""
    LEAVING = auto()
    """``leave`` sent, waiting for the server to close."""
    CLOSED = auto()


# --- actions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connect:
    """Open a connection; report ``opened`` or ``connect_failed``."""


@dataclass(frozen=True, slots=True)
class Transmit:
    """Send this text frame on the open connection."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Close the connection (if one is open or opening); its close is not reported back."""


@dataclass(frozen=True, slots=True)
class Emit:
    event: SessionEvent


@dataclass(frozen=True, slots=True)
class Refused:
    """The first attempt failed: ``start`` raises this, and the session is closed."""

    code: FailureCode
    message: Reason


SessionAction = Connect | Transmit | Disconnect | Emit | Refused


@dataclass(frozen=True, slots=True)
class _State:
    muted: bool = False
    deafened: bool = False
    voice: bool = True


class SendBudget:
    """A token bucket for our own frames: when may the next one go (clock passed in)."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate_per_s = rate_per_s
        self.burst = float(burst)
        self.tokens = float(burst)
        self.at: float | None = None

    def ready_at(self, now: float) -> float:
        """The time a token is there: ``now`` or later."""
        if self.at is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate_per_s)
        self.at = now
        return now if self.tokens >= 1.0 else now + (1.0 - self.tokens) / self.rate_per_s

    def spend(self) -> None:
        self.tokens -= 1.0


class Session:
    """See the module docstring: what it guarantees, and how it is driven."""

    def __init__(
        self,
        join: Join,
        *,
        make_nonce: Callable[[], str],
        jitter: Callable[[], float],
        backoff: Sequence[float] = DEFAULT_BACKOFF_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        where: str = "the server",
    ) -> None:
        """``jitter()`` returns the stretch of the next delay, a fraction (0.0 for none)."""
        if not backoff or any(delay < 0 for delay in backoff):
            raise ValueError("backoff needs at least one delay, none negative")
        self._join = join
        self._make_nonce = make_nonce
        self._jitter = jitter
        self._backoff = tuple(float(delay) for delay in backoff)
        self._timeout_s = timeout_s
        self._where = where
        self.phase = Phase.IDLE
        self._deadline: float | None = None  # join time-out, backoff, or leave time-out
        self._ever_joined = False
        self._attempt = 0
        self._state = _State(voice=join.voice)
        self._server_state: _State | None = None
        self._state_unsure = False  # a state frame went out and its echo has not come back
        self._outbox: dict[str, str] = {}  # nonce -> text, in the order typed
        self._resume: str | None = None
        self._last_chat_id: int | None = None
        self._self_id: str | None = None
        self._role = Role.MEMBER
        self._username = join.username
        self._my_ids: set[str] = set()
        self._peers: dict[str, Peer] = {}
        self._frames: deque[tuple[bytes, bool]] = deque()  # (data, paced) while joined
        self._budget = SendBudget(PACE_PER_S, PACE_BURST)
        self._budget_at: float | None = None  # when the head frame may go, if it waits
        self._paging: int | None = None  # the ``before`` of the history request awaiting its answer

    # --- queries -------------------------------------------------------------------

    @property
    def self_id(self) -> str | None:
        """Our peer id in the room (it changes after a reconnect that was not resumed)."""
        return self._self_id

    @property
    def role(self) -> Role:
        """Ours, as the last ``joined`` said: a moderator may send ``moderate`` requests."""
        return self._role

    @property
    def connected(self) -> bool:
        """Joined on a live connection."""
        return self.phase is Phase.JOINED

    @property
    def peers(self) -> dict[str, Peer]:
        """The other peers of the room by id (a copy), kept current."""
        return dict(self._peers)

    @property
    def last_chat_id(self) -> int | None:
        return self._last_chat_id

    @property
    def resume_token(self) -> str | None:
        """The token the next ``join`` resumes with (it rotates on every ``joined``)."""
        return self._resume

    @property
    def pending_chats(self) -> tuple[str, ...]:
        """Nonces of the messages not yet echoed by the server, in the order typed."""
        return tuple(self._outbox)

    def get_timer(self) -> float | None:
        return min((t for t in (self._deadline, self._budget_at) if t is not None), default=None)

    # --- the owner's requests --------------------------------------------------------

    def start(self) -> list[SessionAction]:
        if self.phase is not Phase.IDLE:
            raise RuntimeError("start() was called already, or after close()")
        self.phase = Phase.CONNECTING
        return [Connect()]

    def send_chat(self, text: str, now: float) -> tuple[str, list[SessionAction]]:
        """Queue a chat message; its nonce and what to do now. ``ValueError`` if the text breaks the rules."""
        nonce = self._make_nonce()
        message = SendChat(text=text, nonce=nonce)  # trims and checks, or raises ValueError
        self._outbox[nonce] = message.text
        if self.phase is not Phase.JOINED:
            return nonce, []
        return nonce, self._push(encode(message), True, now)

    def send_signal(self, target: str, payload: dict[str, object], now: float) -> list[SessionAction]:
        """Relay ``payload`` to one peer if joined; signals are ephemeral, so otherwise dropped."""
        message = SendSignal(target=target, payload=payload)  # ValueError when too large
        if self.phase is not Phase.JOINED:
            log.debug("not connected: signal to %s dropped", target)
            return []
        return self._push(encode(message), False, now)

    def send_media(self, request: MediaRequest, now: float) -> list[SessionAction]:
        """Send ``media-publish`` or ``media-answer`` if joined; like a signal, dropped otherwise
        (an SDP is for one connection: after a reconnect the owner publishes again)."""
        if self.phase is not Phase.JOINED:
            log.debug("not connected: %s dropped", type(request).__name__)
            return []
        return self._push(encode(request), False, now)

    def moderate(self, request: ModRequest, now: float) -> list[SessionAction]:
        """Send a moderator's request if joined (the server answers ``not-moderator`` to others).

        Like a signal it is not kept for a reconnect: a kick decided against
        one room's people should not land later on another's.
        """
        if self.phase is not Phase.JOINED:
            log.info("not connected: %s dropped", type(request).__name__)
            return []
        return self._push(encode(request), True, now)

    def fetch_history(self, before: int, now: float) -> list[SessionAction]:
        """Ask for the chats before id ``before`` (paging addition); ``HistoryPaged`` answers.

        One request at a time, only while joined: a second one, or one while
        away, is dropped (the owner asks again when the reader scrolls again).
        """
        if self.phase is not Phase.JOINED or self._paging is not None:
            return []
        self._paging = before
        return self._push(encode(FetchHistory(before=before)), True, now)

    def set_state(
        self,
        now: float,
        *,
        muted: bool | None = None,
        deafened: bool | None = None,
        voice: bool | None = None,
    ) -> list[SessionAction]:
        """Change our state; sent now if joined, and again after a reconnect if needed."""
        old = self._state
        self._state = _State(
            muted=old.muted if muted is None else muted,
            deafened=old.deafened if deafened is None else deafened,
            voice=old.voice if voice is None else voice,
        )
        if self.phase is not Phase.JOINED:
            return []
        self._state_unsure = True
        return self._push(self._state_frame(), True, now)

    def leave(self, now: float) -> list[SessionAction]:
        """Say ``leave`` (the others hear ``peer-left`` at once); closed when the server closes."""
        if self.phase is Phase.JOINED:
            actions = self._push(encode(Leave()), False, now)
            self.phase, self._deadline = Phase.LEAVING, now + self._timeout_s
            return actions
        return self.close()

    def close(self) -> list[SessionAction]:
        """Stop without ``leave``: the place waits out the server's grace period."""
        if self.phase is Phase.CLOSED:
            return []
        self._closed()
        return [Disconnect()]

    # --- what the connection did --------------------------------------------------

    def opened(self, now: float) -> list[SessionAction]:
        """The connection is open: ask to join (resuming our place, if we had one)."""
        if self.phase is not Phase.CONNECTING:
            return []
        since = None if self._self_id is None else (self._last_chat_id or 0)
        join = msgspec.structs.replace(self._join, voice=self._state.voice, resume=self._resume, since=since)
        self.phase, self._deadline = Phase.JOINING, now + self._timeout_s
        return [Transmit(encode(join))]

    def connect_failed(self, code: FailureCode, message: Reason, now: float) -> list[SessionAction]:
        """Opening the connection failed (``unreachable`` or ``tls``)."""
        if self.phase is not Phase.CONNECTING:
            return []
        return self._failed(code, message, now)

    def received(self, data: str | bytes, now: float) -> list[SessionAction]:
        """One message from the server."""
        try:
            message = decode_server(data)
        except ProtocolError as exc:  # forward compatibility: a newer server's message
            log.debug("unreadable server message ignored (type %s): %s", exc.ref, exc.message)
            return []
        if self.phase is Phase.JOINING:
            return self._answer_to_join(message, now)
        if self.phase not in (Phase.JOINED, Phase.LEAVING):
            return []
        match message:
            case ChatPosted():
                return self._chat(message, from_history=False)
            case SignalRelayed():
                return [Emit(SignalReceived(message.from_, message.payload))]
            case PeerJoined(peer=peer):
                self._peers[peer.id] = peer
                return [Emit(PeerArrived(peer))]
            case PeerLeft(id=peer_id):
                self._peers.pop(peer_id, None)
                return [Emit(PeerDeparted(peer_id))]
            case PeerStateChanged():
                return self._peer_state(message)
            case ErrorReported() if message.ref == "history" and self._paging is not None:
                supported = message.code != ErrorCode.BAD_MESSAGE  # our requests are well-formed
                log.info("history refused code=%s", message.code)
                return self._paged((), more=supported, error=message.message)
            case ErrorReported():
                log.info("server error code=%s ref=%s", message.code, message.ref)
                return [Emit(ServerError(message.code, message.message, message.ref))]
            case HistoryFetched():
                if self._paging is None:
                    return []
                older = tuple(ChatReceived(c, c.from_ in self._my_ids, True) for c in message.history)
                return self._paged(older, more=message.more)
            case Moderated():
                return [Emit(RoomModerated(message))]
            case Joined():
                log.warning("unexpected joined while in the room, ignored")
                return []
            case MediaSwitched(mode=mode):
                log.info("the room's call goes through: %s", mode)
                return [Emit(MediaModeChanged(mode))]
            case MediaPublished(sdp=sdp):
                return [Emit(PublishAnswered(sdp))]
            case MediaOffered(sdp=sdp, streams=streams):
                return [Emit(StreamsOffered(sdp, tuple(streams)))]
            case _:
                assert_never(message)

    def connection_closed(
        self, received: tuple[int, str] | None, sent_code: int | None, now: float
    ) -> list[SessionAction]:
        """The connection ended; ``received`` is the server's close frame (code, reason), if any."""
        if self.phase is Phase.LEAVING:
            self._closed()
            return []
        if self.phase is Phase.JOINING:
            code, message = _join_closed(received, self._where)
            return [Disconnect(), *self._failed(code, message, now)]
        if self.phase is not Phase.JOINED:
            return []
        reason, final = _why_closed(received, sent_code)
        self._frames.clear()
        self._budget_at = None
        lost = self._paged((), more=True, error=str(reason)) if self._paging is not None else []
        if final is not None:
            log.info("connection ended for good: %s", reason)
            self._closed()
            return [Disconnect(), *lost, Emit(ConnectionFailed(final, reason))]
        log.info("connection lost: %s", reason)
        self._attempt = 0
        return [Disconnect(), *lost, *self._wait(reason, now)]

    def handle_timer(self, now: float) -> list[SessionAction]:
        if self._deadline is not None and now >= self._deadline:
            self._deadline = None
            if self.phase is Phase.JOINING:
                message = LinkProblem(LinkTrouble.JOIN_UNANSWERED, self._where, seconds=self._timeout_s)
                return [Disconnect(), *self._failed(FailureCode.UNREACHABLE, message, now)]
            if self.phase is Phase.WAITING:
                self.phase = Phase.CONNECTING
                return [Connect()]
            if self.phase is Phase.LEAVING:
                log.info("the server did not close after leave; closing")
                return self.close()
        if self._budget_at is not None and now >= self._budget_at:
            self._budget_at = None
            return self._flush(now)
        return []

    # --- joining ---------------------------------------------------------------------

    def _answer_to_join(self, message: object, now: float) -> list[SessionAction]:
        if isinstance(message, Joined):
            return self._seat(message, now)
        if isinstance(message, ErrorReported) and message.code in _REFUSALS:
            return [Disconnect(), *self._failed(_REFUSALS[message.code], message.message, now)]
        log.debug("before joined, ignored: %s", type(message).__name__)
        return []

    def _failed(self, code: FailureCode, message: Reason, now: float) -> list[SessionAction]:
        """An attempt failed: refuse ``start``, wait and try again, or give up for good."""
        if not self._ever_joined:
            self._closed()
            return [Refused(code, message)]
        if code in _RETRYABLE:
            log.debug("reconnect attempt %d failed: %s", self._attempt, message)
            return self._wait(message, now)
        log.info("reconnect refused: %s", code)
        self._closed()
        return [Emit(ConnectionFailed(code, message))]

    def _wait(self, reason: Reason, now: float) -> list[SessionAction]:
        delay = self._backoff[min(self._attempt, len(self._backoff) - 1)] * (1.0 + self._jitter())
        self._attempt += 1
        self.phase, self._deadline = Phase.WAITING, now + delay
        return [Emit(ConnectionLost(reason, round(delay, 3)))]

    def _seat(self, joined: Joined, now: float) -> list[SessionAction]:
        """A ``joined`` arrived: take the place, flush what waited, tell the owner."""
        self.phase, self._deadline = Phase.JOINED, None
        self._ever_joined = True
        self._attempt = 0
        self._resume = joined.resume
        self._self_id = joined.self_.id
        self._role = joined.self_.role
        self._username = joined.self_.username
        self._my_ids.add(joined.self_.id)
        self._peers = {peer.id: peer for peer in joined.peers}
        if joined.resumed and self._server_state is not None:
            self._server_state = _State(
                self._server_state.muted, self._server_state.deafened, self._state.voice
            )
        else:
            self._server_state = _State(voice=self._state.voice)
            self._state_unsure = False
        for chat in joined.history:
            if chat.nonce is not None and chat.from_ in self._my_ids:
                self._outbox.pop(chat.nonce, None)
        log.info(
            "%s room=%s peer=%s history=%d resent=%d",
            "resumed" if joined.resumed else "joined",
            joined.room,
            joined.self_.id,
            len(joined.history),
            len(self._outbox),
        )
        event = RoomJoined(
            room=joined.room,
            self_id=joined.self_.id,
            username=joined.self_.username,
            peers=tuple(joined.peers),
            resumed=joined.resumed,
            ice_servers=tuple(joined.ice_servers),
            role=joined.self_.role,
            media=joined.media,
        )
        actions: list[SessionAction] = [Emit(event)]
        for chat in joined.history:
            actions += self._chat(chat, from_history=True)
        if self._state != self._server_state or self._state_unsure:
            self._state_unsure = True
            self._frames.append((self._state_frame(), True))
        for nonce, text in self._outbox.items():
            self._frames.append((encode(SendChat(text=text, nonce=nonce)), True))
        return actions + self._flush(now)

    # --- in the room ---------------------------------------------------------------------

    def _chat(self, chat: ChatPosted, *, from_history: bool) -> list[SessionAction]:
        if self._last_chat_id is not None and chat.id <= self._last_chat_id:
            log.debug("chat %d seen already", chat.id)
            return []
        self._last_chat_id = chat.id
        own = chat.from_ in self._my_ids
        if own and chat.nonce is not None:
            self._outbox.pop(chat.nonce, None)
        return [Emit(ChatReceived(chat, own=own, from_history=from_history))]

    def _paged(
        self, chats: tuple[ChatReceived, ...], *, more: bool, error: str | None = None
    ) -> list[SessionAction]:
        """The answer to our one history request (a page, a refusal or a lost connection)."""
        assert self._paging is not None
        before, self._paging = self._paging, None
        return [Emit(HistoryPaged(before, chats, more, error))]

    def _peer_state(self, message: PeerStateChanged) -> list[SessionAction]:
        if message.id == self._self_id:
            self._server_state = _State(message.muted, message.deafened, message.voice)
            self._state_unsure = self._server_state != self._state
            known: Peer | None = Peer(message.id, self._username, False, False, False, role=self._role)
        else:
            known = self._peers.get(message.id)
        if known is None:
            log.debug("state of unknown peer %s ignored", message.id)
            return []
        peer = msgspec.structs.replace(
            known,
            muted=message.muted,
            deafened=message.deafened,
            voice=message.voice,
            server_muted=message.server_muted,
        )
        if message.id != self._self_id:
            self._peers[message.id] = peer
        return [Emit(PeerUpdated(peer))]

    def _state_frame(self) -> bytes:
        s = self._state
        return encode(SetState(muted=s.muted, deafened=s.deafened, voice=s.voice))

    def _push(self, data: bytes, paced: bool, now: float) -> list[SessionAction]:
        self._frames.append((data, paced))
        return [] if self._budget_at is not None else self._flush(now)

    def _flush(self, now: float) -> list[SessionAction]:
        """Send frames in order; a paced one waits for the budget, and holds the rest back."""
        actions: list[SessionAction] = []
        while self._frames:
            data, paced = self._frames[0]
            if paced:
                ready = self._budget.ready_at(now)
                if ready > now:
                    self._budget_at = ready
                    break
                self._budget.spend()
            self._frames.popleft()
            actions.append(Transmit(data))
        return actions

    def _closed(self) -> None:
        self.phase, self._deadline, self._budget_at = Phase.CLOSED, None, None
        self._frames.clear()


def _join_closed(received: tuple[int, str] | None, where: str) -> tuple[FailureCode, LinkProblem]:
    """The server closed before ``joined``: a refusal said by close code, or a lost connection."""
    if received is not None:
        code, reason = received
        if code == CloseCode.TRY_AGAIN_LATER:
            return FailureCode.SERVER_FULL, LinkProblem(LinkTrouble.SERVER_FULL)
        if code == CloseCode.POLICY_VIOLATION and reason in _REFUSALS:
            return _REFUSALS[reason], LinkProblem(LinkTrouble.JOIN_REFUSED, detail=reason)
    return FailureCode.UNREACHABLE, LinkProblem(LinkTrouble.CLOSED_BEFORE_JOIN, where)


def _why_closed(
    received: tuple[int, str] | None, sent_code: int | None
) -> tuple[LinkProblem, FailureCode | None]:
    """Why the connection ended; and the failure when it must not be retried."""
    if received is None:
        if sent_code == CloseCode.INTERNAL_ERROR:
            return LinkProblem(LinkTrouble.PING_TIMEOUT), None
        return LinkProblem(LinkTrouble.LOST), None
    code, reason = received
    if code == AppCloseCode.SUPERSEDED:
        return LinkProblem(LinkTrouble.SUPERSEDED), FailureCode.SUPERSEDED
    if code in _REMOVED:
        return LinkProblem(LinkTrouble.REMOVED, detail=reason), _REMOVED[code]
    if code == CloseCode.GOING_AWAY:
        return LinkProblem(LinkTrouble.RESTARTING), None
    return LinkProblem(LinkTrouble.CLOSED, detail=str(code), reason=reason), None
