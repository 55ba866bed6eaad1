"""The signaling client: one room on one server, kept joined across drops.

``SignalingClient`` speaks protocol v1 over websockets and turns what the
server says into engine events (``events.py``), always on the loop's thread.
After ``start()`` it keeps itself in the room: when the connection drops it
emits ``ConnectionLost`` and reconnects with backoff, joining with ``resume``
(the newest token: tokens rotate on every ``joined``) and ``since`` (the last
chat id seen), so nothing is lost or repeated.

Guarantees to the owner:

- ``ChatReceived`` comes exactly once per chat id, in id order, whether the
  message arrived live or in the ``history`` of a (re)join.
- ``send_chat`` works connected or not. Each message carries a random nonce
  and stays in the outbox until the server echoes it; after a reconnect, the
  messages whose nonce is in the returned history are done and the rest are
  sent again, in order. A message typed while offline arrives exactly once.
- Every ``RoomJoined`` (the first, and one per reconnect) carries the complete
  list of the other peers at that moment, and ``peers`` is replaced by it. No
  ``PeerJoined``/``PeerLeft`` are made up for what changed while the client
  was away: the owner rebuilds from ``RoomJoined.peers``. With ``resumed``
  true the place (peer id, name, state) was kept and the peer-to-peer calls
  may go on; with ``resumed`` false (the grace period ran out) the client has
  a new ``self_id`` and every peer knows it as a newcomer, so the owner drops
  its calls and starts over as a fresh joiner.
- The state given to ``set_state`` is remembered; after a reconnect it is
  sent again whenever the server's view of the place differs from it.
- A close with 4000 ("superseded": the place was taken over by another
  connection), or ``auth-failed``/``name-taken``/``room-full``/``bad-message``
  or an untrusted certificate on a reconnect, is final: ``ConnectionFailed``
  and no more attempts. Anything else is retried forever, the delays taken
  from ``backoff`` (its last value repeats).

Chat and state go out paced below the server's default budget, so a long
outbox re-sent after a reconnect is not rate-limited. A chat the server still
refuses (``rate-limited`` on a server with a lower ``--chat-rate``,
``storage-failed``) is reported as ``ServerError`` and stays in the outbox
until the next reconnect sends it again.
"""

import asyncio
import contextlib
import logging
import random
import re
import secrets
import socket
import ssl as ssl_module
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from protocol import (
    ChatPosted,
    ErrorCode,
    ErrorReported,
    Join,
    Joined,
    Leave,
    Peer,
    ProtocolError,
    SendChat,
    SendSignal,
    ServerMessage,
    SetState,
    SignalRelayed,
    decode_server,
    encode,
    limits,
)
from protocol import PeerJoined as PeerJoinedMessage
from protocol import PeerLeft as PeerLeftMessage
from protocol import PeerStateChanged as PeerStateMessage

from .events import (
    ChatReceived,
    ConnectionFailed,
    ConnectionLost,
    Event,
    EventSink,
    PeerJoined,
    PeerLeft,
    PeerStateChanged,
    RoomJoined,
    ServerError,
    SignalReceived,
)
from .tasks import cancel_and_wait

log = logging.getLogger("voxroom.engine.signaling")

MAX_INCOMING_BYTES: Final = 16 * 1024 * 1024
"""A ``joined`` with 1,000 history messages can reach ~8 MiB."""
DEFAULT_BACKOFF_S: Final = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0)
"""Reconnect delays; several attempts fall within the server's 15 s grace period."""
DEFAULT_JITTER: Final = 0.1
"""Each delay is stretched by up to this fraction, so a restarted server is not hit all at once."""
DEFAULT_TIMEOUT_S: Final = 10.0
"""For opening a connection, for the answer to ``join``, and for ``leave``."""
CLOSE_TIMEOUT_S: Final = 1.0
"""How long to wait for the server's side of a closing handshake (also after a ping timeout)."""
PACE_PER_S: Final = 0.8 * limits.DEFAULT_CHAT_RATE_PER_S
PACE_BURST: Final = limits.DEFAULT_CHAT_BURST // 2
"""Chat and state frames go out at most this fast: below the server's budget with a margin."""

TLS: Final = "tls"
UNREACHABLE: Final = "unreachable"
SUPERSEDED: Final = "superseded"
INTERNAL: Final = "internal"

_REFUSALS: Final = frozenset(
    {
        ErrorCode.AUTH_FAILED,
        ErrorCode.NAME_TAKEN,
        ErrorCode.ROOM_FULL,
        ErrorCode.SERVER_FULL,
        ErrorCode.BAD_MESSAGE,
    }
)
"""``error`` codes that answer a ``join`` with a refusal."""
_RETRYABLE_REFUSALS: Final = frozenset({ErrorCode.SERVER_FULL})
"""Refusals worth trying again later; the others are final on a reconnect too."""


class SignalingError(Exception):
    """Could not join. ``code`` is a protocol error code, ``unreachable`` or ``tls``.

    ``SignalingError``
      ├── ``JoinRefused``       the server said no (``auth-failed``, ``name-taken`` …)
      ├── ``ServerUnreachable`` no connection: refused, unknown host, timeout, not a Voxroom server
      └── ``TlsFailed``         the secure connection failed, usually an untrusted certificate
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class JoinRefused(SignalingError):  # noqa: N818 - named like websockets' ConnectionClosed
    """The server refused the ``join``; ``message`` is the server's, for people."""


class ServerUnreachable(SignalingError):  # noqa: N818
    def __init__(self, message: str) -> None:
        super().__init__(UNREACHABLE, message)


class TlsFailed(SignalingError):  # noqa: N818
    def __init__(self, message: str) -> None:
        super().__init__(TLS, message)


@dataclass(frozen=True, slots=True)
class _State:
    muted: bool = False
    deafened: bool = False
    voice: bool = True


@dataclass(frozen=True, slots=True)
class _Frame:
    data: bytes
    paced: bool


class _Pacer:
    """A token bucket that says how long to wait before the next frame (clock passed in)."""

    def __init__(self, rate_per_s: float, burst: int, now: float) -> None:
        self.rate_per_s = rate_per_s
        self.burst = float(burst)
        self.tokens = float(burst)
        self.at = now

    def delay(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate_per_s)
        self.at = now
        self.tokens -= 1.0
        return max(0.0, -self.tokens / self.rate_per_s)


class SignalingClient:
    """One room on one server; see the module docstring for what it guarantees."""

    def __init__(
        self,
        url: str,
        room: str,
        username: str,
        *,
        password: str | None = None,
        voice: bool = True,
        ssl: ssl_module.SSLContext | None = None,
        on_event: EventSink,
        backoff: Sequence[float] = DEFAULT_BACKOFF_S,
        jitter: float = DEFAULT_JITTER,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        ping_interval_s: float = limits.PING_INTERVAL_S,
        ping_timeout_s: float = limits.PING_TIMEOUT_S,
    ) -> None:
        try:
            uri = parse_uri(url)
        except InvalidURI as exc:
            raise ValueError(f"not a WebSocket address (ws://… or wss://…): {url}") from exc
        if ssl is not None and not uri.secure:
            raise ValueError("a TLS context was given for a ws:// address; use wss://")
        if not re.fullmatch(limits.ROOM_PATTERN, room):
            raise ValueError(
                f"room must be 1-{limits.MAX_ROOM_CHARS} letters, digits, '_', '.' or '-' (no spaces)"
            )
        self._join = Join(room=room, username=username, password=password)  # checks the username
        if not backoff or any(delay < 0 for delay in backoff):
            raise ValueError("backoff needs at least one delay, none negative")
        self.url = url
        self.room = room
        self._where = f"{uri.host}:{uri.port}"
        self._ssl = ssl
        self._emit_to = on_event
        self._backoff = tuple(float(delay) for delay in backoff)
        self._jitter = jitter
        self._timeout_s = timeout_s
        self._ping_interval_s = ping_interval_s
        self._ping_timeout_s = ping_timeout_s

        self._state = _State(voice=voice)
        self._server_state: _State | None = None
        self._outbox: dict[str, str] = {}  # nonce -> text, in the order typed
        self._resume: str | None = None
        self._last_chat_id: int | None = None
        self._self_id: str | None = None
        self._username = self._join.username
        self._my_ids: set[str] = set()
        self._peers: dict[str, Peer] = {}
        self._ws: ClientConnection | None = None
        self._frames: asyncio.Queue[_Frame] | None = None  # set while joined on a live connection
        self._task: asyncio.Task[None] | None = None
        self._started = False
        self._stopping = False

    # --- properties ---------------------------------------------------------

    @property
    def self_id(self) -> str | None:
        """Our peer id in the room (it changes after a reconnect that was not resumed)."""
        return self._self_id

    @property
    def connected(self) -> bool:
        """Joined on a live connection."""
        return self._frames is not None

    @property
    def peers(self) -> dict[str, Peer]:
        """The other peers of the room by id (a copy), kept current."""
        return dict(self._peers)

    @property
    def last_chat_id(self) -> int | None:
        return self._last_chat_id

    @property
    def pending_chats(self) -> tuple[str, ...]:
        """Nonces of the messages not yet echoed by the server, in the order typed."""
        return tuple(self._outbox)

    # --- life cycle ---------------------------------------------------------

    async def start(self) -> RoomJoined:
        """Connect and join; raise a ``SignalingError`` saying why not.

        On success the ``RoomJoined`` is also emitted (then the history as
        ``ChatReceived``), and the client keeps itself connected until
        ``leave()`` or ``close()``.
        """
        if self._started or self._stopping:
            raise RuntimeError("start() was called already, or after close()")
        self._started = True
        try:
            ws, joined = await self._open()
        except BaseException:
            self._started = False  # a failed start may be tried again
            raise
        if self._stopping:
            await ws.close()
            raise RuntimeError("the client was closed while starting")
        event = self._seat(ws, joined)
        self._task = asyncio.create_task(self._supervise(ws), name=f"signaling {self.room}")
        return event

    async def leave(self) -> None:
        """Leave the room (the others hear ``peer-left`` at once) and stop."""
        if self._stopping:
            return
        self._stopping = True
        ws, frames = self._ws, self._frames
        if ws is not None and frames is not None:
            frames.put_nowait(_Frame(encode(Leave()), paced=False))
            try:
                async with asyncio.timeout(self._timeout_s):
                    await ws.wait_closed()
            except TimeoutError:
                log.info("the server did not close after leave; closing")
        await self._stop()

    async def close(self) -> None:
        """Stop without ``leave``: the place waits out the server's grace period."""
        self._stopping = True
        await self._stop()

    async def _stop(self) -> None:
        await cancel_and_wait(self._task)
        ws, self._ws, self._frames = self._ws, None, None
        if ws is not None:
            await ws.close()

    # --- requests -----------------------------------------------------------

    def send_chat(self, text: str) -> str:
        """Queue a chat message and return its nonce; ``ValueError`` if the text breaks the rules."""
        nonce = secrets.token_urlsafe(12)
        message = SendChat(text=text, nonce=nonce)  # trims and checks, or raises ValueError
        self._outbox[nonce] = message.text
        if self._frames is not None:
            self._frames.put_nowait(_Frame(encode(message), paced=True))
        return nonce

    def send_signal(self, target: str, payload: dict[str, object]) -> None:
        """Relay ``payload`` to one peer if connected; signals are ephemeral, so otherwise dropped."""
        message = SendSignal(target=target, payload=payload)  # ValueError when too large
        if self._frames is None:
            log.debug("not connected: signal to %s dropped", target)
            return
        self._frames.put_nowait(_Frame(encode(message), paced=False))

    def set_state(
        self, *, muted: bool | None = None, deafened: bool | None = None, voice: bool | None = None
    ) -> None:
        """Change our state; sent now if connected, and again after a reconnect if needed."""
        old = self._state
        self._state = _State(
            muted=old.muted if muted is None else muted,
            deafened=old.deafened if deafened is None else deafened,
            voice=old.voice if voice is None else voice,
        )
        if self._frames is not None:
            self._frames.put_nowait(self._state_frame())

    def _state_frame(self) -> _Frame:
        s = self._state
        return _Frame(encode(SetState(muted=s.muted, deafened=s.deafened, voice=s.voice)), paced=True)

    # --- connecting ---------------------------------------------------------

    async def _open(self) -> tuple[ClientConnection, Joined]:
        ws = await self._connect()
        try:
            joined = await self._send_join(ws)
        except asyncio.CancelledError:
            ws.transport.abort()
            raise
        except Exception:
            await ws.close()
            raise
        return ws, joined

    async def _connect(self) -> ClientConnection:
        extra: dict[str, Any] = {} if self._ssl is None else {"ssl": self._ssl}
        where = self._where
        try:
            return await connect(
                self.url,
                subprotocols=[Subprotocol(limits.SUBPROTOCOL)],
                compression=None,
                max_size=MAX_INCOMING_BYTES,
                open_timeout=self._timeout_s,
                close_timeout=CLOSE_TIMEOUT_S,
                ping_interval=self._ping_interval_s,
                ping_timeout=self._ping_timeout_s,
                **extra,
            )
        except ssl_module.SSLCertVerificationError as exc:
            raise TlsFailed(
                f"the certificate of {where} is not trusted ({exc.verify_message}); "
                "if this is your own server, install its certificate or its CA"
            ) from exc
        except ssl_module.SSLError as exc:
            raise TlsFailed(f"the secure connection to {where} failed ({exc.reason or exc})") from exc
        except ConnectionRefusedError as exc:
            raise ServerUnreachable(f"{where} refused the connection: is the server running?") from exc
        except socket.gaierror as exc:
            raise ServerUnreachable(f"cannot find the server {where} ({exc.strerror})") from exc
        except TimeoutError as exc:
            raise ServerUnreachable(f"no answer from {where} within {self._timeout_s:g} s") from exc
        except OSError as exc:
            raise ServerUnreachable(f"cannot reach {where} ({exc.strerror or exc})") from exc
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise ServerUnreachable(
                f"{where} answered HTTP {status}, not a voice room; check the address (it ends in /ws)"
            ) from exc
        except InvalidHandshake as exc:
            raise ServerUnreachable(f"{where} does not speak the Voxroom protocol ({exc})") from exc

    async def _send_join(self, ws: ClientConnection) -> Joined:
        since = None if self._self_id is None else (self._last_chat_id or 0)
        join = msgspec.structs.replace(self._join, voice=self._state.voice, resume=self._resume, since=since)
        try:
            async with asyncio.timeout(self._timeout_s):
                await ws.send(encode(join), text=True)
                while True:
                    message = _decode(await ws.recv(decode=False))
                    if isinstance(message, Joined):
                        return message
                    if isinstance(message, ErrorReported) and message.code in _REFUSALS:
                        raise JoinRefused(message.code, message.message)
                    log.debug("before joined, ignored: %s", type(message).__name__)
        except TimeoutError as exc:
            raise ServerUnreachable(
                f"{self._where} did not answer the join within {self._timeout_s:g} s"
            ) from exc
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            if rcvd is not None and rcvd.code == limits.CLOSE_TRY_AGAIN_LATER:
                raise JoinRefused(ErrorCode.SERVER_FULL.value, "the server is full, try again later") from exc
            if rcvd is not None and rcvd.code == limits.CLOSE_POLICY and rcvd.reason in _REFUSALS:
                raise JoinRefused(rcvd.reason, f"the server refused to join: {rcvd.reason}") from exc
            raise ServerUnreachable(
                f"{self._where} closed the connection before the room was joined"
            ) from exc

    def _seat(self, ws: ClientConnection, joined: Joined) -> RoomJoined:
        """A ``joined`` arrived: take the place, flush what waited, tell the owner."""
        self._ws = ws
        self._resume = joined.resume
        self._self_id = joined.self_.id
        self._username = joined.self_.username
        self._my_ids.add(joined.self_.id)
        self._peers = {peer.id: peer for peer in joined.peers}
        if joined.resumed and self._server_state is not None:
            self._server_state = _State(
                self._server_state.muted, self._server_state.deafened, self._state.voice
            )
        else:
            self._server_state = _State(voice=self._state.voice)
        for chat in joined.history:
            if chat.nonce is not None and chat.from_ in self._my_ids:
                self._outbox.pop(chat.nonce, None)
        frames: asyncio.Queue[_Frame] = asyncio.Queue()
        if self._state != self._server_state:
            frames.put_nowait(self._state_frame())
        for nonce, text in self._outbox.items():
            frames.put_nowait(_Frame(encode(SendChat(text=text, nonce=nonce)), paced=True))
        self._frames = frames
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
        )
        self._emit(event)
        for chat in joined.history:
            self._chat(chat, from_history=True)
        return event

    # --- staying connected --------------------------------------------------

    async def _supervise(self, ws: ClientConnection) -> None:
        try:
            while True:
                reason, final = await self._serve(ws)
                if self._stopping:
                    return
                if final is not None:
                    log.info("connection ended for good: %s", reason)
                    self._emit(ConnectionFailed(final, reason))
                    return
                log.info("connection lost: %s", reason)
                reopened = await self._reconnect(reason)
                if reopened is None:
                    return
                ws = reopened
        except Exception as exc:  # a bug must not leave the owner waiting forever
            log.exception("signaling client failed")
            self._frames = None
            self._emit(ConnectionFailed(INTERNAL, f"internal error: {exc}"))

    async def _serve(self, ws: ClientConnection) -> tuple[str, str | None]:
        """Read until the connection ends; return (reason, final code or None)."""
        assert self._frames is not None
        writer = asyncio.create_task(self._write(ws, self._frames), name="signaling writer")
        try:
            while True:
                self._dispatch(await ws.recv(decode=False))
        except ConnectionClosed:
            pass
        finally:
            self._frames = None
            await cancel_and_wait(writer)
        return _why_closed(ws)

    async def _write(self, ws: ClientConnection, frames: "asyncio.Queue[_Frame]") -> None:
        loop = asyncio.get_running_loop()
        pacer = _Pacer(PACE_PER_S, PACE_BURST, loop.time())
        with contextlib.suppress(ConnectionClosed):
            while True:
                frame = await frames.get()
                if frame.paced and (wait := pacer.delay(loop.time())) > 0:
                    await asyncio.sleep(wait)
                await ws.send(frame.data, text=True)

    async def _reconnect(self, reason: str) -> ClientConnection | None:
        """Try again until joined (the connection) or a final refusal (None)."""
        attempt = 0
        while True:
            delay = self._backoff[min(attempt, len(self._backoff) - 1)]
            delay *= 1.0 + random.uniform(0.0, self._jitter)
            attempt += 1
            self._emit(ConnectionLost(reason, round(delay, 3)))
            await asyncio.sleep(delay)
            try:
                ws, joined = await self._open()
            except (JoinRefused, TlsFailed) as exc:
                if exc.code in _RETRYABLE_REFUSALS:
                    reason = exc.message
                    continue
                log.info("reconnect refused: %s", exc.code)
                self._emit(ConnectionFailed(exc.code, exc.message))
                return None
            except ServerUnreachable as exc:
                log.debug("reconnect attempt %d failed: %s", attempt, exc.message)
                reason = exc.message
                continue
            self._seat(ws, joined)
            return ws

    # --- incoming -----------------------------------------------------------

    def _dispatch(self, data: str | bytes) -> None:
        message = _decode(data)
        if isinstance(message, ChatPosted):
            self._chat(message, from_history=False)
        elif isinstance(message, SignalRelayed):
            self._emit(SignalReceived(message.from_, message.payload))
        elif isinstance(message, PeerJoinedMessage):
            self._peers[message.peer.id] = message.peer
            self._emit(PeerJoined(message.peer))
        elif isinstance(message, PeerLeftMessage):
            self._peers.pop(message.id, None)
            self._emit(PeerLeft(message.id))
        elif isinstance(message, PeerStateMessage):
            self._peer_state(message)
        elif isinstance(message, ErrorReported):
            log.info("server error code=%s ref=%s", message.code, message.ref)
            self._emit(ServerError(message.code, message.message, message.ref))
        elif message is not None:
            log.warning("unexpected %s after joined, ignored", type(message).__name__)

    def _chat(self, chat: ChatPosted, *, from_history: bool) -> None:
        if self._last_chat_id is not None and chat.id <= self._last_chat_id:
            log.debug("chat %d seen already", chat.id)
            return
        self._last_chat_id = chat.id
        own = chat.from_ in self._my_ids
        if own and chat.nonce is not None:
            self._outbox.pop(chat.nonce, None)
        self._emit(ChatReceived(chat, own=own, from_history=from_history))

    def _peer_state(self, message: PeerStateMessage) -> None:
        if message.id == self._self_id:
            self._server_state = _State(message.muted, message.deafened, message.voice)
            peer = Peer(message.id, self._username, message.muted, message.deafened, message.voice)
        elif (known := self._peers.get(message.id)) is not None:
            peer = Peer(message.id, known.username, message.muted, message.deafened, message.voice)
            self._peers[message.id] = peer
        else:
            log.debug("state of unknown peer %s ignored", message.id)
            return
        self._emit(PeerStateChanged(peer))

    def _emit(self, event: Event) -> None:
        try:
            self._emit_to(event)
        except Exception:
            log.exception("the event sink failed on %s", type(event).__name__)


def _decode(data: str | bytes) -> ServerMessage | None:
    """A server message, or None for one this version does not know (forward compatibility)."""
    try:
        return decode_server(data)
    except ProtocolError as exc:
        log.debug("unreadable server message ignored (type %s): %s", exc.ref, exc.message)
        return None


def _why_closed(ws: ClientConnection) -> tuple[str, str | None]:
    """For people: why the connection ended; and the final code when it must not be retried."""
    rcvd, sent = ws.protocol.close_rcvd, ws.protocol.close_sent
    if rcvd is None:
        if sent is not None and sent.code == 1011:
            return "the server stopped answering (ping timeout)", None
        return "the connection was lost", None
    if rcvd.code == limits.CLOSE_SUPERSEDED:
        return "this place was taken over by another connection (joined again elsewhere?)", SUPERSEDED
    if rcvd.code == limits.CLOSE_GOING_AWAY:
        return "the server is restarting", None
    detail = f": {rcvd.reason}" if rcvd.reason else ""
    return f"the server closed the connection (code {rcvd.code}{detail})", None
