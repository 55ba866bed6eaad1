"""The signaling session's shell: websockets connections driven by ``Session``'s actions.

``session.py`` decides (what to send, when to reconnect, what is final);
this module opens connections, writes the frames it is handed, reads what
the server says and reports how each connection ended, always on the
event loop's thread. See ``session.py`` for what the owner is guaranteed.
"""

import asyncio
import logging
import random
import re
import secrets
import socket
import ssl as ssl_module
from collections.abc import Coroutine, Sequence
from typing import Any, Final, assert_never

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from protocol import Join, MediaRequest, ModRequest, Peer, limits

from .errors import AddressRefused, ServerUnreachable, SignalingError, TlsFailed
from .events import RoomJoined, SessionEventSink
from .problems import LinkProblem, LinkTrouble
from .session import (
    DEFAULT_BACKOFF_S,
    DEFAULT_JITTER,
    DEFAULT_TIMEOUT_S,
    Connect,
    Disconnect,
    Emit,
    Phase,
    Refused,
    Session,
    SessionAction,
    Transmit,
)
from .tasks import CoreTimer, cancel_and_wait

log = logging.getLogger("voxroom.engine.signaling")

MAX_INCOMING_BYTES: Final = 16 * 1024 * 1024
"""Room for the largest ``joined`` (history by ``since``; docs/protocol.md)."""
CLOSE_TIMEOUT_S: Final = 1.0
"""How long to wait for the server's side of a closing handshake (also after a ping timeout)."""


class SignalingClient:
    """One room on one server; see ``session.py`` for what it guarantees."""

    def __init__(
        self,
        url: str,
        room: str,
        username: str,
        *,
        password: str | None = None,
        admin_password: str | None = None,
        room_password: str | None = None,
        voice: bool = True,
        ssl: ssl_module.SSLContext | None = None,
        on_event: SessionEventSink,
        backoff: Sequence[float] = DEFAULT_BACKOFF_S,
        jitter: float = DEFAULT_JITTER,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        ping_interval_s: float = limits.PING_INTERVAL_S,
        ping_timeout_s: float = limits.PING_TIMEOUT_S,
    ) -> None:
        try:
            uri = parse_uri(url)
        except InvalidURI as exc:
            raise AddressRefused(url) from exc
        if ssl is not None and not uri.secure:
            raise ValueError("a TLS context was given for a ws:// address; use wss://")
        if not re.fullmatch(limits.ROOM_PATTERN, room):
            raise ValueError(
                f"room must be 1-{limits.MAX_ROOM_CHARS} letters, digits, '_', '.' or '-' (no spaces)"
            )
        join = Join(  # checks the username
            room=room,
            username=username,
            password=password,
            admin_password=admin_password,
            room_password=room_password,
            voice=voice,
            media_server=True,  # the engine takes a room's call through the media server when asked
        )
        self.url = url
        self.room = room
        self._where = f"{uri.host}:{uri.port}"
        self._session = Session(
            join,
            make_nonce=lambda: secrets.token_urlsafe(12),
            jitter=lambda: random.uniform(0.0, jitter),  # spreads retries; not a secret
            backoff=backoff,
            timeout_s=timeout_s,
            where=self._where,
        )
        self._ssl = ssl
        self._emit_to = on_event
        self._timeout_s = timeout_s
        self._ping_interval_s = ping_interval_s
        self._ping_timeout_s = ping_timeout_s
        self._loop = asyncio.get_running_loop()
        self._ws: ClientConnection | None = None
        self._outgoing: asyncio.Queue[bytes] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._connecting: asyncio.Task[None] | None = None
        self._closers: set[asyncio.Task[None]] = set()
        self._timer = CoreTimer(self._loop, self._fire)
        self._started: asyncio.Future[RoomJoined] | None = None
        self._done = asyncio.Event()

    # --- queries (the session's) ---------------------------------------------------

    @property
    def self_id(self) -> str | None:
        return self._session.self_id

    @property
    def connected(self) -> bool:
        return self._session.connected

    @property
    def peers(self) -> dict[str, Peer]:
        return self._session.peers

    @property
    def closed(self) -> bool:
        """Stopped for good: left, closed, or given up (no attempt is scheduled)."""
        return self._session.phase is Phase.CLOSED

    @property
    def last_chat_id(self) -> int | None:
        return self._session.last_chat_id

    @property
    def resume_token(self) -> str | None:
        return self._session.resume_token

    @property
    def pending_chats(self) -> tuple[str, ...]:
        return self._session.pending_chats

    # --- life cycle -------------------------------------------------------------------

    async def start(self) -> RoomJoined:
        """Connect and join; raise a ``SignalingError`` saying why not.

        On success the ``RoomJoined`` is also emitted (then the history as
        ``ChatReceived``), and the client keeps itself joined until
        ``leave()`` or ``close()``.
        """
        self._started = self._loop.create_future()
        self._run(self._session.start())
        try:
            return await self._started
        except asyncio.CancelledError:
            await self.close()
            raise

    async def leave(self) -> None:
        """Leave the room (the others hear ``peer-left`` at once) and stop."""
        self._run(self._session.leave(self._loop.time()))
        await self._done.wait()
        await self._stop()

    async def close(self) -> None:
        """Stop without ``leave``: the place waits out the server's grace period."""
        self._run(self._session.close())
        await self._stop()

    async def _stop(self) -> None:
        self._timer.cancel()
        for task in list(self._tasks):
            await cancel_and_wait(task)
        await asyncio.gather(*self._closers)

    # --- requests ------------------------------------------------------------------------

    def send_chat(self, text: str) -> str:
        """Queue a chat message and return its nonce; ``ValueError`` if the text breaks the rules."""
        nonce, actions = self._session.send_chat(text, self._loop.time())
        self._run(actions)
        return nonce

    def send_signal(self, target: str, payload: dict[str, object]) -> None:
        self._run(self._session.send_signal(target, payload, self._loop.time()))

    def send_media(self, request: MediaRequest) -> None:
        """Send ``media-publish`` or ``media-answer`` (see ``Session.send_media``)."""
        self._run(self._session.send_media(request, self._loop.time()))

    def fetch_history(self, before: int) -> None:
        """Ask for the chats before id ``before`` (see ``Session.fetch_history``)."""
        self._run(self._session.fetch_history(before, self._loop.time()))

    def moderate(self, request: ModRequest) -> None:
        """Send a moderator's request (see ``Session.moderate``)."""
        self._run(self._session.moderate(request, self._loop.time()))

    def set_state(
        self, *, muted: bool | None = None, deafened: bool | None = None, voice: bool | None = None
    ) -> None:
        self._run(self._session.set_state(self._loop.time(), muted=muted, deafened=deafened, voice=voice))

    # --- executing the session's actions ---------------------------------------------------

    def _run(self, actions: list[SessionAction]) -> None:
        for action in actions:
            match action:
                case Connect():
                    self._connecting = self._spawn(self._open(), "signaling connection")
                case Transmit(data=data):
                    if self._outgoing is not None:
                        self._outgoing.put_nowait(data)
                case Disconnect():
                    self._disconnect()
                case Emit(event=event):
                    if isinstance(event, RoomJoined) and self._started and not self._started.done():
                        self._started.set_result(event)
                    try:
                        self._emit_to(event)
                    except Exception:
                        log.exception("the event sink failed on %s", type(event).__name__)
                case Refused(code=code, message=message):
                    if self._started is not None and not self._started.done():
                        self._started.set_exception(SignalingError.of(code, message))
                case _:
                    assert_never(action)
        if self._session.phase is Phase.CLOSED:
            self._done.set()
        self._timer.arm(self._session.get_timer())

    def _fire(self) -> None:
        self._run(self._session.handle_timer(self._loop.time()))

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> "asyncio.Task[None]":
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- one connection ---------------------------------------------------------------------

    async def _open(self) -> None:
        try:
            ws = await self._connect()
        except SignalingError as exc:
            self._run(self._session.connect_failed(exc.code, exc.message, self._loop.time()))
            return
        if self._session.phase is not Phase.CONNECTING:  # closed meanwhile
            await ws.close()
            return
        self._ws, self._outgoing = ws, asyncio.Queue()
        writer = self._spawn(self._write(ws, self._outgoing), "signaling writer")
        self._run(self._session.opened(self._loop.time()))
        try:
            while True:
                self._run(self._session.received(await ws.recv(decode=False), self._loop.time()))
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()
        if self._ws is ws:  # not closed on purpose: tell the session how it ended
            self._ws, self._outgoing = None, None
            rcvd, sent = ws.protocol.close_rcvd, ws.protocol.close_sent
            received = None if rcvd is None else (rcvd.code, rcvd.reason)
            sent_code = None if sent is None else sent.code
            self._run(self._session.connection_closed(received, sent_code, self._loop.time()))

    async def _write(self, ws: ClientConnection, frames: "asyncio.Queue[bytes]") -> None:
        try:
            while True:
                await ws.send(await frames.get(), text=True)
        except ConnectionClosed:
            log.debug("connection closed with frames unsent; the session re-sends what matters")

    def _disconnect(self) -> None:
        ws, self._ws, self._outgoing = self._ws, None, None
        connecting = self._connecting
        if ws is None and connecting is not None and connecting is not asyncio.current_task():
            connecting.cancel()  # still opening: the connection is never used
        if ws is not None:
            closer = asyncio.create_task(_close(ws), name="signaling close")
            self._closers.add(closer)
            closer.add_done_callback(self._closers.discard)

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
            raise TlsFailed(LinkProblem(LinkTrouble.UNTRUSTED, where, exc.verify_message)) from exc
        except ssl_module.SSLError as exc:
            raise TlsFailed(LinkProblem(LinkTrouble.TLS_FAILED, where, exc.reason or str(exc))) from exc
        except ConnectionRefusedError as exc:
            raise ServerUnreachable(LinkProblem(LinkTrouble.REFUSED, where)) from exc
        except socket.gaierror as exc:
            raise ServerUnreachable(
                LinkProblem(LinkTrouble.NOT_FOUND, where, exc.strerror or str(exc))
            ) from exc
        except TimeoutError as exc:
            raise ServerUnreachable(
                LinkProblem(LinkTrouble.NO_ANSWER, where, seconds=self._timeout_s)
            ) from exc
        except OSError as exc:
            raise ServerUnreachable(
                LinkProblem(LinkTrouble.UNREACHABLE, where, exc.strerror or str(exc))
            ) from exc
        except InvalidStatus as exc:
            status = str(exc.response.status_code)
            raise ServerUnreachable(LinkProblem(LinkTrouble.NOT_A_ROOM, where, status)) from exc
        except InvalidHandshake as exc:
            raise ServerUnreachable(LinkProblem(LinkTrouble.NOT_VOXROOM, where, str(exc))) from exc


async def _close(ws: ClientConnection) -> None:
    try:
        await ws.close()
    except Exception:  # the connection is gone either way
        log.debug("closing the connection failed", exc_info=True)
