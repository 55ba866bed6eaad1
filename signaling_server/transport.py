"""The WebSocket front of the rooms core: connections in, effects out.

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
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from protocol import ChatPosted, ErrorCode, ErrorReported, HistoryFetched, encode

from .addresses import Network, client_address
from .effects import (
    Close,
    DropPlace,
    Effect,
    MediaClosed,
    MediaDropped,
    MediaEffect,
    MediaRequested,
    MediaResumed,
    PauseReading,
    PostChat,
    SaveBan,
    SavePlace,
    Send,
    SendHistory,
    SendJoined,
)
from .hub import Hub
from .metrics import Metrics
from .model import ConnId, PeerId
from .recent import RecentChats
from .store import Store, StoreThread
from .wsproto import CLOSE_TIMEOUT_S, Connection, text_frame

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
OPEN_TIMEOUT_S = 10.0
"""A socket that has not completed its opening handshake this long after it was accepted is dropped."""
TIMER_SLACK_S = 0.005
"""asyncio may fire a timer up to its clock's resolution early: a deadline this close counts as reached."""

_Action = Callable[["asyncio.Future[Any] | None"], None]
_Timer = tuple[Histogram, float]
"""A latency histogram and the ``perf_counter()`` its clock started at."""


class Relay:
    """Connects the core to the WebSocket connections (``wsproto.Site``) and the store thread."""

    def __init__(
        self,
        hub: Hub,
        store: StoreThread,
        metrics: Metrics,
        http: Callable[[Request, ServerProtocol], Response],
        trusted_proxies: Sequence[Network] = (),
        recent: RecentChats | None = None,
    ) -> None:
        self.hub = hub
        self.store = store
        self.metrics = metrics
        self.http = http
        """Answers each opening request: ``protocol.accept`` for a WebSocket, else plain HTTP."""
        self.trusted_proxies = tuple(trusted_proxies)
        self.recent = recent
        """Newcomers' history from memory; None where retention may delete what a copy holds."""
        self.sockets: set[Connection] = set()
        """Every accepted socket, opened or not."""
        self._opening: dict[Connection, float] = {}  # accepted at (``loop.time()``), in that order
        self._conns: dict[ConnId, Connection] = {}
        self._lanes: dict[str | None, deque[tuple[asyncio.Future[Any] | None, _Action]]] = {}
        self._ids = itertools.count(1)
        self._corked: dict[Connection, list[bytes]] = {}
        self._all_lost: asyncio.Event | None = None
        """Set when the last socket is gone, while ``drain`` waits for it."""
        self._flush_pending = False
        self._backlog_bytes = 0
        """Unsent bytes of all connections: summed on each tick, plus what was queued since."""
        self._history_reserved_bytes = 0
        """History budgets granted to reads still in the store."""
        self._timed: list[_Timer] = []
        """Latencies that end when what was queued meanwhile is written: the clock and its start."""
        self.media: Callable[[MediaEffect], None] | None = None
        """Executes the media effects (signaling_server/media.py), when there is a media server."""

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    # --- wsproto.Site: the life of a connection ------------------------------

    def made(self, connection: Connection) -> None:
        self.sockets.add(connection)
        self._opening[connection] = asyncio.get_running_loop().time()

    def opened(self, connection: Connection, request: Request) -> None:
        del self._opening[connection]
        conn = connection.conn = self.next_conn()
        self._conns[conn] = connection
        address = self._client_address(connection, request)
        self.core_open(conn, address, time.perf_counter())

    def received(self, connection: Connection, data: str | bytes) -> None:
        received = time.perf_counter()
        self.metrics.received += 1
        self.core_receive(ConnId(connection.conn), data, received)

    def lost(self, connection: Connection) -> None:
        self.sockets.discard(connection)
        if not self.sockets and self._all_lost is not None:
            self._all_lost.set()
        self._opening.pop(connection, None)
        self._corked.pop(connection, None)
        conn = ConnId(connection.conn)
        if self._conns.pop(conn, None) is not None:
            self.core_closed(conn, time.perf_counter())

    # --- the core's inputs: here the hub at once; a replica appends them to the log ---------

    def next_conn(self) -> ConnId:
        return ConnId(next(self._ids))

    def core_open(self, conn: ConnId, address: str, received: float) -> None:
        self.run(self.hub.open(conn, time.time(), address), received)

    def core_receive(self, conn: ConnId, data: str | bytes, received: float) -> None:
        self.run(self.hub.receive(conn, data, time.time()), received)

    def core_closed(self, conn: ConnId, received: float) -> None:
        self.run(self.hub.closed(conn, time.time()), received)

    def core_tick(self) -> None:
        self.run(self.hub.tick(time.time()), time.perf_counter())

    # --- chores ------------------------------------------------------------------

    async def tick_forever(self, every_s: float = 0.25) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(every_s)
            self._backlog_bytes = sum(c.backlog for c in self._conns.values())
            late = loop.time() - OPEN_TIMEOUT_S
            while self._opening:
                connection, accepted = next(iter(self._opening.items()))
                if accepted > late:
                    break
                del self._opening[connection]
                connection.abort()
            self.core_tick()
            if self.recent is not None:
                self.recent.keep_only(self.hub.room_names)

    async def keep_alive_forever(self, interval_s: float, timeout_s: float) -> None:
        """Ping every connection each ``interval_s``; one silent for ``timeout_s`` is dropped.

        Dropped, not closed: it is gone or stuck, so its place enters the grace
        period at once (and ``peer-left`` follows if it does not come back).
        One sweep for all, and no task or future per connection.
        """
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(interval_s, timeout_s))
            now = loop.time()
            for connection in list(self._conns.values()):
                if not connection.ping_sent:
                    connection.ping(now)
                elif now - connection.ping_sent >= timeout_s - TIMER_SLACK_S:
                    log.info("ping timeout conn=%s", connection.conn)
                    connection.abort()

    def close_all(self, code: CloseCode) -> None:
        """Close every connection with ``code``; a socket still in its handshake is dropped."""
        self.flush()  # what was said goes out before the close frames
        for connection in list(self.sockets):
            if connection.open:
                connection.close(code, "")
            elif connection.conn == 0:
                connection.abort()

    async def drain(self) -> None:
        """Wait for the effects held back by the store, then for the closing handshakes."""
        pending = [future for lane in self._lanes.values() for future, _ in lane if future is not None]
        await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.sleep(0)  # let the lanes' done-callbacks send
        if self.sockets:
            self._all_lost = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_lost.wait(), CLOSE_TIMEOUT_S + 1)

    def run(self, effects: Iterable[Effect], received: float, own: bool = True) -> None:
        """Execute ``effects``, caused by what was read at ``received`` (``perf_counter()``).

        ``received`` starts the join and chat-commit clocks. A ``Close`` goes
        out once what these effects save in its room (a place dropped, a ban)
        is committed: a client told it was banned or has left finds it so
        after any restart, even one by ``kill -9`` right after. Of effects
        that are not ``own`` (another replica's input caused them), only
        those for this instance's connections are executed: the store is
        written by the instance whose input it was.
        """
        saves: dict[str | None, list[asyncio.Future[Any]]] = {}
        closes: list[Close] = []
        for effect in effects:
            if not own and not self._concerns_me(effect):
                continue
            match effect:
                case Send():
                    self._enqueue(effect.room, None, self._sender(effect.conns, effect.message))
                case PostChat():
                    posted = self.store.submit(Store.append_chat, effect.draft)
                    self._enqueue(effect.room, posted, self._chat_poster(effect, received))
                case SendJoined():
                    budget = self._history_budget(effect.conn)
                    recent = self._recent_history(effect, budget)
                    if recent is not None:
                        self._send_joined(effect, budget, received, recent)
                        continue
                    history = self.store.submit(Store.history, effect.room, effect.since, budget)
                    self._enqueue(effect.room, history, self._joined_sender(effect, budget, received))
                case SendHistory():
                    budget = self._history_budget(effect.conn)
                    page = self.store.submit(Store.page, effect.room, effect.before, effect.limit, budget)
                    page.add_done_callback(self._page_sender(effect, budget))
                case SavePlace():
                    saves.setdefault(effect.room, []).append(
                        self.store.submit(Store.save_place, effect.place)
                    )
                case DropPlace():
                    dropped = self.store.submit(Store.drop_place, effect.place.peer_id)
                    saves.setdefault(effect.room, []).append(dropped)
                case SaveBan():
                    saves.setdefault(effect.room, []).append(self.store.submit(Store.save_ban, effect.ban))
                case PauseReading():
                    self._pause_reading(effect.conn, effect.seconds)
                case MediaRequested() | MediaDropped() | MediaResumed() | MediaClosed():
                    if self.media is not None:
                        self.media(effect)
                case Close():
                    ending = self._conns.get(effect.conn)
                    if ending is not None:
                        ending.ending = True  # nothing more of it is handed on, even before it closes
                    closes.append(effect)
                case _:
                    assert_never(effect)
        for saved in saves.values():
            for future in saved:
                future.add_done_callback(_log_failure)
        for close in closes:
            room_saves = saves.get(close.room)
            after = asyncio.gather(*room_saves, return_exceptions=True) if room_saves else None
            self._enqueue(close.room, after, self._closer(close))

    def _concerns_me(self, effect: Effect) -> bool:
        """Whether a replica executes ``effect`` that another instance's input caused."""
        match effect:
            case Send() | Close() | PauseReading():
                return True  # executed for this instance's connections only, as every effect is
            case SendJoined() | SendHistory():
                return effect.conn in self._conns
            case PostChat() | SavePlace() | DropPlace() | SaveBan():
                return False
            case MediaRequested() | MediaDropped() | MediaResumed() | MediaClosed():
                return False  # --media-server is refused with --redis
            case _:
                assert_never(effect)

    # --- the media shell's clients (signaling_server/media.py) ---------------------------

    def send_to_peer(self, room: str, peer: PeerId, message: msgspec.Struct) -> None:
        conn = self.hub.conn_of(room, peer)
        if conn is not None:  # in the room's lane: after a resumed client's ``joined``
            self._enqueue(room, None, self._sender((conn,), message))

    def media_lost(self) -> None:
        self.run(self.hub.media_lost(), time.perf_counter())

    def media_reached(self) -> None:
        self.run(self.hub.media_reached(), time.perf_counter())

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
        """Run the room's actions whose store work is done, and write what they queued at once.

        The store's futures call back in a turn of their own, after a group
        commit's every room: each room's recipients are its own, so waiting
        for the end of the turn would group no writes, only add a turn's delay.
        """
        lane = self._lanes.get(room)
        while lane:
            future, action = lane[0]
            if future is not None and not future.done():
                break
            lane.popleft()
            action(future)
        else:
            self._lanes.pop(room, None)
        if self._corked:
            self.flush()

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
                if self.recent is not None:
                    self.recent.drop(effect.room)  # a commit that failed may have happened all the same
                draft = effect.draft
                log.info("error code=storage-failed ref=chat room=%s peer=%s", draft.room, draft.from_id)
                error = ErrorReported(
                    code=ErrorCode.STORAGE_FAILED.value,
                    message="the server could not save your message; it was not sent",
                    ref="chat",
                )
                self._deliver((effect.sender,), error)
                return
            self.committed(effect, future.result(), committed)

        return post

    def committed(self, effect: PostChat, posted: ChatPosted, committed: float) -> None:
        """``posted`` is durable: its room hears it (a replica announces it to every instance instead)."""
        if self.recent is not None:
            self.recent.add(posted, effect.room)
        self.metrics.chats.inc()
        self._deliver(effect.conns, posted, (self.metrics.fanout_seconds, committed))

    def _history_budget(self, conn: ConnId) -> int:
        """How many bytes of history ``conn``'s ``joined`` may carry, reserved until it is queued.

        Decided before the history is read, so a client that does not read (or
        many of them) can never make the server build more than it can hold.
        """
        connection = self._conns.get(conn)
        own = connection.backlog if connection is not None else 0
        everyone = self._backlog_bytes + self._history_reserved_bytes
        budget = max(
            0, min(JOINED_HISTORY_BYTES, MAX_BACKLOG_BYTES - own, MAX_BACKLOG_TOTAL_BYTES - everyone)
        )
        self._history_reserved_bytes += budget
        return budget

    def _recent_history(self, effect: SendJoined, budget: int) -> tuple[list[ChatPosted], bool] | None:
        """A newcomer's history from memory, when the room has a copy and nothing waits in its lane."""
        if self.recent is None or effect.since is not None or effect.room in self._lanes:
            return None
        return self.recent.history(effect.room, budget)

    def _joined_sender(self, effect: SendJoined, budget: int, received: float) -> _Action:
        def send(future: "asyncio.Future[Any] | None") -> None:
            assert future is not None
            if future.exception() is not None:
                self.metrics.store_failures.inc()
                self._send_joined(effect, budget, received, None)
                return
            history, truncated = future.result()
            if self.recent is not None and effect.since is None and not truncated:
                self.recent.seed(effect.room, history)
            self._send_joined(effect, budget, received, (history, truncated))

        return send

    def _send_joined(
        self, effect: SendJoined, budget: int, received: float, history: tuple[list[ChatPosted], bool] | None
    ) -> None:
        """``joined``, with ``history`` (None: the store failed, the client can ask again with ``since``)."""
        self._history_reserved_bytes -= budget
        if history is not None:
            effect.message.history, effect.message.history_truncated = history
        queued = self._deliver((effect.conn,), effect.message, (self.metrics.join_seconds, received))
        if queued:
            self._backlog_bytes += queued
            self._conns[effect.conn].read_bytes = JOINED_READ_BYTES

    def _page_sender(self, effect: SendHistory, budget: int) -> Callable[["asyncio.Future[Any]"], None]:
        """The answer to a ``history`` request, or ``storage-failed`` (the client may ask again)."""

        def send(future: "asyncio.Future[Any]") -> None:
            self._history_reserved_bytes -= budget
            if future.cancelled():
                return
            message: msgspec.Struct
            if future.exception() is not None:
                self.metrics.store_failures.inc()
                message = ErrorReported(
                    code=ErrorCode.STORAGE_FAILED.value,
                    message="the server could not read the older messages",
                    ref="history",
                )
            else:
                history, more = future.result()
                message = HistoryFetched(before=effect.before, history=history, more=more)
            self._backlog_bytes += self._deliver((effect.conn,), message)

        return send

    def _closer(self, effect: Close) -> _Action:
        def close(_: object) -> None:
            connection = self._conns.get(effect.conn)
            if connection is not None:
                self.flush(only=connection)  # what was said before the close goes out before it
                connection.close(effect.code, effect.reason)

        return close

    def _deliver(
        self, conns: tuple[ConnId, ...], message: msgspec.Struct, timer: _Timer | None = None
    ) -> int:
        """Queue one message for ``conns``: framed once, written at the end of this loop turn.

        Server frames are unmasked and we use no extension, so one frame's
        bytes serve every recipient. Everything queued for a connection in
        one turn of the loop (a group commit's chats, say) leaves in a
        single write, instead of one ``send()`` per message; a message for
        one connection with nothing queued before it is written at once.
        ``timer`` (a histogram and its start) is observed when the message
        is written. Returns the bytes queued.
        """
        frame = text_frame(encode(message))
        delivered = 0
        corked = self._corked
        direct = len(conns) == 1
        for conn in conns:
            connection = self._conns.get(conn)
            if connection is None or not connection.open:
                continue
            if connection.backlog > MAX_BACKLOG_BYTES:
                log.warning("slow consumer dropped conn=%s backlog>%d", conn, MAX_BACKLOG_BYTES)
                self.metrics.slow_consumers.inc()
                connection.abort()
                continue
            delivered += 1
            queued = corked.get(connection)
            if queued is not None:
                queued.append(frame)
            elif direct:
                connection.write(
                    [frame]
                )  # nothing to cork it with: the loop's next turn would only add delay
                if timer is not None:
                    timer[0].observe(time.perf_counter() - timer[1])
                    timer = None
            else:
                corked[connection] = [frame]
        if corked and not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self.flush)
        if delivered and timer is not None:
            self._timed.append(timer)
        self.metrics.delivered += delivered
        if isinstance(message, ErrorReported):
            self.metrics.errors.labels(message.code).inc()
        return delivered * len(frame)

    def flush(self, only: Connection | None = None) -> None:
        """Write what was queued: for every connection, or for ``only`` (before it closes)."""
        if only is not None:
            frames = self._corked.pop(only, None)
            if frames:
                only.write(frames)
            return
        self._flush_pending = False
        corked, self._corked = self._corked, {}
        for connection, frames in corked.items():
            connection.write(frames)
        if self._timed:
            written = time.perf_counter()
            for histogram, started in self._timed:
                histogram.observe(written - started)
            self._timed.clear()

    def _pause_reading(self, conn: ConnId, seconds: float) -> None:
        connection = self._conns.get(conn)
        if connection is not None:
            connection.read_bytes = STRANGER_READ_BYTES  # a flooder is read in small bites from now on
            connection.pause(seconds)

    def _client_address(self, connection: Connection, request: Request) -> str:
        """The client's IP address, as the core keys its per-address rules and the logs name it."""
        peer = connection.transport.get_extra_info("peername") if connection.transport else None
        if not peer:
            return "unknown"
        forwarded = request.headers.get_all("X-Forwarded-For")
        return client_address(str(peer[0]), forwarded, self.trusted_proxies)


def _log_failure(future: "asyncio.Future[Any]") -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("could not persist a place or a ban: %s", future.exception())
