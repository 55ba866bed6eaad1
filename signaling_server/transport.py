"""The websockets front of the rooms core: connections in, effects out.

Effects are executed per room, in the order the core emitted them. An
effect that waits on the store (a chat being committed, a history being
read) holds back the effects after it *in its room only*, so a message is
never seen before it is durable, a newcomer's ``joined`` comes before the
messages that follow it, and no other room waits on the disk.
"""

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, assert_never

import msgspec
from prometheus_client import Histogram
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State

from protocol import ChatPosted, ErrorCode, ErrorReported, encode

from .addresses import Network, client_address
from .effects import Close, DropPlace, Effect, PauseReading, PostChat, SaveBan, SavePlace, Send, SendJoined
from .hub import Hub
from .metrics import Metrics
from .model import ConnId
from .store import Store, StoreThread

log = logging.getLogger("voxroom.server")

MAX_BACKLOG_BYTES = 8 * 1024 * 1024
"""A client whose unsent backlog passes this is dropped (it may resume)."""
MAX_BACKLOG_TOTAL_BYTES = 64 * 1024 * 1024
"""Past this much unsent to all clients together, a ``joined`` carries no history."""
JOINED_HISTORY_BYTES = 512 * 1024
"""The most history one ``joined`` carries, as JSON: the default 50 messages always fit."""
STRANGER_READ_BYTES = 4096
"""What is read of a socket at once until its client has joined (and again once it floods).

Every byte read is parsed into frames before any of our rules can drop them:
asyncio reads 256 KiB at once, ~12,000 tiny frames and ~50 ms of CPU per read.
"""
JOINED_READ_BYTES = 256 * 1024
"""asyncio's own read size, for a client that has joined (a burst of chats is welcome)."""

_Action = Callable[["asyncio.Future[Any] | None"], None]


class Relay:
    """Connects the core to websockets connections and the store thread."""

    def __init__(
        self, hub: Hub, store: StoreThread, metrics: Metrics, trusted_proxies: Sequence[Network] = ()
    ) -> None:
        self.hub = hub
        self.store = store
        self.metrics = metrics
        self.trusted_proxies = tuple(trusted_proxies)
        self._conns: dict[ConnId, ServerConnection] = {}
        self._lanes: dict[str | None, deque[tuple[asyncio.Future[Any] | None, _Action]]] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._corked: dict[ServerConnection, list[bytes]] = {}
        self._pauses: dict[ConnId, float] = {}
        self._ending: set[ConnId] = set()
        self._flush_pending = False
        self._backlog_bytes = 0
        """Unsent bytes of all connections: summed on each tick, plus what was queued since."""
        self._history_reserved_bytes = 0
        """History budgets granted to reads still in the store."""
        self._timed: list[tuple[Histogram, float]] = []
        """Latencies that end when what was queued meanwhile is written: the clock and its start."""

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    async def handle(self, ws: ServerConnection) -> None:
        """The life of one connection: open, every message, close."""
        conn = ConnId(next(self._ids))
        self._conns[conn] = ws
        address = self._client_address(ws)
        _forget_handshake(ws)
        try:
            self.run(self.hub.open(conn, time.time(), address), time.perf_counter())
            # Once the core closes it (refused, flooding, left) nothing more is consumed:
            # websockets' flow control then stops reading the socket, so frames pipelined
            # behind the last one are never parsed, let alone answered.
            while conn not in self._ending:
                data = await ws.recv()
                received = time.perf_counter()
                self.metrics.received.inc()
                self.run(self.hub.receive(conn, data, time.time()), received)
                pause = self._pauses.pop(conn, 0.0)
                if pause:
                    # Stop consuming: websockets' own flow control then stops reading the
                    # socket, and the flooder's kernel buffers fill up instead of our CPU.
                    await asyncio.sleep(pause)
            await ws.wait_closed()
        except ConnectionClosed:
            pass
        finally:
            del self._conns[conn]
            self._pauses.pop(conn, None)
            self._ending.discard(conn)
            self.run(self.hub.closed(conn, time.time()), time.perf_counter())

    async def tick_forever(self, every_s: float = 0.25) -> None:
        while True:
            await asyncio.sleep(every_s)
            self._backlog_bytes = sum(ws.transport.get_write_buffer_size() for ws in self._conns.values())
            self.run(self.hub.tick(time.time()), time.perf_counter())

    async def keep_alive_forever(self, interval_s: float, timeout_s: float) -> None:
        """Ping every connection each ``interval_s``; one silent for ``timeout_s`` is dropped.

        Dropped, not closed: it is gone or stuck, so its place enters the grace
        period at once (and ``peer-left`` follows if it does not come back).
        """
        while True:
            await asyncio.sleep(interval_s)
            for conn, ws in list(self._conns.items()):
                if ws.protocol.state is State.OPEN:
                    self._spawn(self._ping(conn, ws, timeout_s))

    async def _ping(self, conn: ConnId, ws: ServerConnection, timeout_s: float) -> None:
        try:
            pong = await asyncio.wait_for(ws.ping(), timeout_s)
            await asyncio.wait_for(pong, timeout_s)
        except TimeoutError:
            log.info("ping timeout conn=%s", conn)
            ws.transport.abort()
        except ConnectionClosed:
            pass

    async def drain(self) -> None:
        """Wait for the effects held back by the store, then for the closing handshakes."""
        pending = [future for lane in self._lanes.values() for future, _ in lane if future is not None]
        await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.sleep(0)  # let the lanes' done-callbacks send
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def run(self, effects: Iterable[Effect], received: float) -> None:
        """Execute ``effects``, caused by what was read at ``received`` (``perf_counter()``).

        ``received`` starts the join and chat-commit clocks.
        """
        for effect in effects:
            match effect:
                case Send():
                    self._enqueue(effect.room, None, self._sender(effect.conns, effect.message))
                case PostChat():
                    posted = self.store.submit(Store.append_chat, effect.draft)
                    self._enqueue(effect.room, posted, self._chat_poster(effect, received))
                case SendJoined():
                    budget = self._history_budget(effect.conn)
                    history = self.store.submit(Store.history, effect.room, effect.since, budget)
                    self._enqueue(effect.room, history, self._joined_sender(effect, budget, received))
                case SavePlace():
                    self.store.submit(Store.save_place, effect.place).add_done_callback(_log_failure)
                case DropPlace():
                    self.store.submit(Store.drop_place, effect.place.peer_id).add_done_callback(_log_failure)
                case SaveBan():
                    self.store.submit(Store.save_ban, effect.ban).add_done_callback(_log_failure)
                case PauseReading():
                    self._pause_reading(effect.conn, effect.seconds)
                case Close():
                    self._ending.add(effect.conn)
                    self._enqueue(effect.room, None, self._closer(effect))
                case _:
                    assert_never(effect)

    # --- ordering -----------------------------------------------------------

    def _enqueue(self, room: str | None, future: "asyncio.Future[Any] | None", action: _Action) -> None:
        lane = self._lanes.get(room)
        if lane is None:
            if future is None:
                action(None)  # the fast path: nothing ahead, nothing to wait for
                return
            lane = self._lanes[room] = deque()
        lane.append((future, action))
        if future is not None:
            future.add_done_callback(lambda _: self._advance(room))

    def _advance(self, room: str | None) -> None:
        lane = self._lanes.get(room)
        while lane:
            future, action = lane[0]
            if future is not None and not future.done():
                return
            lane.popleft()
            action(future)
        self._lanes.pop(room, None)

    # --- actions ------------------------------------------------------------

    def _sender(self, conns: tuple[ConnId, ...], message: msgspec.Struct) -> _Action:
        def send(_: object) -> None:
            self._deliver(conns, message)

        return send

    def _chat_poster(self, effect: PostChat, received: float) -> _Action:
        def post(future: "asyncio.Future[Any] | None") -> None:
            assert future is not None
            committed = time.perf_counter()
            self.metrics.chat_commit_seconds.observe(committed - received)
            if future.exception() is not None:
                self.metrics.store_failures.inc()
                draft = effect.draft
                log.info("error code=storage-failed ref=chat room=%s peer=%s", draft.room, draft.from_id)
                error = ErrorReported(
                    code=ErrorCode.STORAGE_FAILED.value,
                    message="the server could not save your message; it was not sent",
                    ref="chat",
                )
                self._deliver((effect.sender,), error)
                return
            posted: ChatPosted = future.result()
            self.metrics.chats.inc()
            if self._deliver(effect.conns, posted):
                self._timed.append((self.metrics.fanout_seconds, committed))

        return post

    def _history_budget(self, conn: ConnId) -> int:
        """How many bytes of history ``conn``'s ``joined`` may carry, reserved until it is queued.

        Decided before the history is read, so a client that does not read (or
        many of them) can never make the server build more than it can hold.
        """
        ws = self._conns.get(conn)
        own = ws.transport.get_write_buffer_size() if ws is not None else 0
        everyone = self._backlog_bytes + self._history_reserved_bytes
        budget = max(
            0, min(JOINED_HISTORY_BYTES, MAX_BACKLOG_BYTES - own, MAX_BACKLOG_TOTAL_BYTES - everyone)
        )
        self._history_reserved_bytes += budget
        return budget

    def _joined_sender(self, effect: SendJoined, budget: int, received: float) -> _Action:
        def send(future: "asyncio.Future[Any] | None") -> None:
            assert future is not None
            self._history_reserved_bytes -= budget
            if future.exception() is None:
                effect.message.history, effect.message.history_truncated = future.result()
            else:
                self.metrics.store_failures.inc()
            queued = self._deliver((effect.conn,), effect.message)
            if queued:
                self._backlog_bytes += queued
                self._timed.append((self.metrics.join_seconds, received))
                _set_read_size(self._conns[effect.conn], JOINED_READ_BYTES)

        return send

    def _closer(self, effect: Close) -> _Action:
        def close(_: object) -> None:
            ws = self._conns.get(effect.conn)
            if ws is not None:
                self.flush(only=ws)  # what was said before the close goes out before it
                self._spawn(ws.close(effect.code, effect.reason))

        return close

    def _deliver(self, conns: tuple[ConnId, ...], message: msgspec.Struct) -> int:
        """Queue one message for ``conns``: framed once, written at the end of this loop turn.

        Server frames are unmasked and we use no extension, so one frame's
        bytes serve every recipient. Everything queued for a connection in
        one turn of the loop (a group commit's chats, say) leaves in a
        single write, instead of one ``send()`` per message. Returns the bytes queued.
        """
        frame = Frame(Opcode.TEXT, encode(message)).serialize(mask=False)
        delivered = 0
        for conn in conns:
            ws = self._conns.get(conn)
            if ws is None or ws.protocol.state is not State.OPEN:
                continue
            if ws.transport.get_write_buffer_size() > MAX_BACKLOG_BYTES:
                log.warning("slow consumer dropped conn=%s backlog>%d", conn, MAX_BACKLOG_BYTES)
                self.metrics.slow_consumers.inc()
                ws.transport.abort()
                continue
            queued = self._corked.get(ws)
            if queued is None:
                self._corked[ws] = [frame]
            else:
                queued.append(frame)
            delivered += 1
        if delivered and not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self.flush)
        self.metrics.delivered.inc(delivered)
        if isinstance(message, ErrorReported):
            self.metrics.errors.labels(message.code).inc()
        return delivered * len(frame)

    def flush(self, only: ServerConnection | None = None) -> None:
        """Write what was queued: for every connection, or for ``only`` (before it closes)."""
        if only is not None:
            frames = self._corked.pop(only, None)
            if frames and only.protocol.state is State.OPEN:
                only.transport.writelines(frames)
            return
        self._flush_pending = False
        corked, self._corked = self._corked, {}
        for ws, frames in corked.items():
            if ws.protocol.state is State.OPEN:
                ws.transport.writelines(frames)
        if self._timed:
            written = time.perf_counter()
            for histogram, started in self._timed:
                histogram.observe(written - started)
            self._timed.clear()

    def _pause_reading(self, conn: ConnId, seconds: float) -> None:
        ws = self._conns.get(conn)
        if ws is None:
            return
        self._pauses[conn] = seconds
        _set_read_size(ws, STRANGER_READ_BYTES)  # a flooder is read in small bites from now on

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _client_address(self, ws: ServerConnection) -> str:
        """The client's IP address, as the core keys its per-address rules and the logs name it."""
        peer = ws.remote_address
        if not peer:
            return "unknown"
        forwarded = ws.request.headers.get_all("X-Forwarded-For") if ws.request is not None else []
        return client_address(str(peer[0]), forwarded, self.trusted_proxies)


class StrangerConnection(ServerConnection):
    """A connection read in small bites until its client has joined (see ``STRANGER_READ_BYTES``).

    Without it a pre-join flood's first read, 256 KiB of tiny frames, stalls
    everyone else for hundreds of milliseconds before the first frame is refused.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        _set_read_size(self, STRANGER_READ_BYTES)


def _set_read_size(ws: ServerConnection, size: int) -> None:
    """How many bytes asyncio reads of ``ws``'s socket at once, where its transport lets us say."""
    with contextlib.suppress(AttributeError):  # a loop whose transports have no max_size (uvloop)
        ws.transport.max_size = size  # type: ignore[attr-defined]


_NO_HEADERS = Headers()


def _forget_handshake(ws: ServerConnection) -> None:
    """Drop the handshake's headers (~4 KiB a connection), never read again.

    websockets treats ``request is None`` as "no handshake yet", so the
    objects stay, emptied.
    """
    if ws.request is not None:
        ws.request = Request(ws.request.path, _NO_HEADERS)
    if ws.response is not None:
        ws.response = Response(ws.response.status_code, ws.response.reason_phrase, _NO_HEADERS)


def _log_failure(future: "asyncio.Future[Any]") -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("could not persist a place or a ban: %s", future.exception())
