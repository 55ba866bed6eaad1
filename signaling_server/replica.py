"""One instance of a service of several: its inputs go to the shared log, and the whole log comes back.

``Relay`` hands each input straight to the rooms core. A ``Replica`` appends
it to the log instead (``replicated.py``) and applies every instance's
entries, in the log's order, to its own copy of the core; of what the core
decides it executes what concerns its own connections (``Relay.run`` with
``own=False``). Chats are committed by the instance that received them and
announced in the log once durable; every instance delivers them to its
members in id order (``chat_order.py``). The log itself is behind
``SharedLog``: Redis in ``cluster.py``, anything ordered in a test.
"""

import asyncio
import itertools
import os
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from protocol import ChatPosted, FetchHistory, SendChat, decode_client

from .addresses import Network
from .chat_order import ChatOrder
from .effects import Close, Effect, PostChat, SendJoined
from .hub import Hub
from .hub import log as rooms_log
from .metrics import Metrics
from .model import AddressBan, ConnId, Place
from .recent import RecentChats
from .replicated import (
    INSTANCE_BITS,
    Announced,
    Closed,
    Entry,
    Gone,
    Opened,
    Received,
    Restored,
    SeededIds,
    Tick,
    instance_of,
)
from .store import Store, StoreThread
from .transport import JOINED_HISTORY_BYTES, Relay

SEED_BYTES = 16
MAX_TIMED_CHATS = 1024


class SharedLog(Protocol):
    """Where entries go; they come back, in one order for every instance, through ``Replica.apply``."""

    instance: int

    def append(self, entry: Entry) -> None: ...


class Replica(Relay):
    """A ``Relay`` whose core's inputs make a round trip through the log every instance shares."""

    def __init__(
        self,
        hub: Hub,
        ids: SeededIds,
        log: SharedLog,
        store: StoreThread,
        metrics: Metrics,
        http: Callable[[Request, ServerProtocol], Response],
        trusted_proxies: Sequence[Network] = (),
        recent: RecentChats | None = None,
    ) -> None:
        super().__init__(hub, store, metrics, http, trusted_proxies, recent)
        self.ids, self.log = ids, log
        self._local_ids = itertools.count(1)
        self._appended: deque[float] = deque()
        """When each of our own entries still in the log's round trip was read (``perf_counter()``)."""
        self._in_flight: dict[ConnId, int] = {}
        """Our connections with entries on their way through the log, and how many."""
        self.chat_order = ChatOrder()
        self._early: dict[ConnId, list[tuple[str | bytes, float, float]]] = {}
        """Messages from our connections read before the log brought back their opening."""
        self._committed_at: dict[tuple[str, int], float] = {}
        """Our own chats on their way through the log: when each was committed (the fan-out clock)."""
        self._floors: dict[ConnId, int] = {}
        """Per connection of ours that has its ``joined``, the newest chat id it has: later ones go to it."""
        self._away = False
        """The log is beginning again: new connections are told to come back a moment later."""

    # --- inputs go to the log -----------------------------------------------

    def next_conn(self) -> ConnId:
        """Unique in the service: the instance's number in the high bits."""
        return ConnId((self.log.instance << INSTANCE_BITS) + next(self._local_ids))

    def core_open(self, conn: ConnId, address: str, received: float) -> None:
        if self._away:
            self.run(
                [Close(None, conn, CloseCode.TRY_AGAIN_LATER, "the service is starting again")], received
            )
            return
        self._early[conn] = []
        self._append(Opened(conn, time.time(), address), received)

    def core_receive(self, conn: ConnId, data: str | bytes, received: float) -> None:
        """Screened here, by the gate of the instance holding the socket; only what passes is shared."""
        early = self._early.get(conn)
        if early is not None:  # our core has not seen it open yet: screened when it has
            early.append((data, time.time(), received))
            return
        self._screen(conn, data, time.time(), received)

    def _screen(self, conn: ConnId, data: str | bytes, now: float, received: float) -> None:
        screened = self.hub.screen(conn, data, now)
        if isinstance(screened, list):
            self.run(screened, received)
        elif isinstance(screened, SendChat | FetchHistory) and conn not in self._in_flight:
            # They change nothing the instances share: decided here, with nothing of this connection
            # still on its way through the log to be decided before them. A chat reaches the others
            # as its announcement, once committed: one entry instead of two.
            self.run(self.hub.act(conn, screened, now), received)
        else:
            assert isinstance(data, str)  # the gate refuses binary messages
            self._append(Received(conn, now, data, os.urandom(SEED_BYTES)), received)

    def core_closed(self, conn: ConnId, received: float) -> None:
        self._floors.pop(conn, None)
        self._early.pop(conn, None)
        self._append(Closed(conn, time.time()), received)

    def core_tick(self) -> None:
        """Deadlines pass with the leader's ``Tick`` entries; here only gaps that waited too long are read."""
        for room, since in self.chat_order.overdue(time.time()):
            self._read_gap(room, since)
        self.chat_order.keep_only(self.hub.room_names)

    def committed(self, effect: PostChat, posted: ChatPosted, committed: float) -> None:
        """Durable: every instance (this one too) delivers it once the log brings it back."""
        self.metrics.chats.inc()
        self._committed_at[effect.room, posted.id] = committed
        if len(self._committed_at) > MAX_TIMED_CHATS:  # a room with nobody left here delivers none
            del self._committed_at[next(iter(self._committed_at))]
        self.log.append(Announced(effect.room, posted))

    def _append(self, entry: Opened | Received | Closed, received: float) -> None:
        self._appended.append(received)
        self._in_flight[ConnId(entry.conn)] = self._in_flight.get(ConnId(entry.conn), 0) + 1
        self.log.append(entry)

    # --- cluster.Member: when Redis loses the log ----------------------------------

    def conns(self) -> Collection[ConnId]:
        return self.hub.conns

    async def forget(self) -> tuple[list[Place], list[AddressBan]]:
        self._away = True
        self.close_all(CloseCode.GOING_AWAY)  # clients resume, as after a restart of one server
        self.hub = Hub(self.hub.config, self.ids.peer_id, self.ids.token)
        self.chat_order = ChatOrder()
        self._early.clear()
        self._floors.clear()
        self._appended.clear()
        self._in_flight.clear()
        self._committed_at.clear()
        if self.recent is not None:
            self.recent.keep_only(())
        places = await self.store.submit(Store.load_places)
        return places, await self.store.submit(Store.load_bans, time.time())

    def rejoined(self) -> None:
        self._away = False

    def save(self) -> bytes:
        return self.hub.save()

    def load(self, state: bytes) -> None:
        self.hub.load(state)

    # --- the log comes back ----------------------------------------------------

    def apply(self, author: int, entry: Entry) -> None:
        """One entry of the log, in its order: every instance's core takes the same decisions."""
        own = author == self.log.instance
        rooms_log.disabled = not own  # each decision is logged once, by the instance it concerns
        try:
            self._apply(own, entry)
        finally:
            rooms_log.disabled = False

    def _apply(self, own: bool, entry: Entry) -> None:
        if own and isinstance(entry, Opened | Received | Closed):
            received = self._appended.popleft()  # our own inputs come back in the order we appended them
            left = self._in_flight.pop(ConnId(entry.conn)) - 1
            if left:
                self._in_flight[ConnId(entry.conn)] = left
        else:
            received = time.perf_counter()
        effects: list[Effect]
        match entry:
            case Opened():
                effects = self.hub.open(ConnId(entry.conn), entry.now, entry.address)
                if own:
                    self.run(effects, received)
                    for data, now, read_at in self._early.pop(ConnId(entry.conn), ()):
                        self._screen(ConnId(entry.conn), data, now, read_at)
                    return
            case Received():
                self.ids.reseed(entry.seed)
                effects = self.hub.act(ConnId(entry.conn), decode_client(entry.text), entry.now)
            case Closed():
                effects = self.hub.closed(ConnId(entry.conn), entry.now)
            case Tick():
                effects = self.hub.tick(entry.now)
            case Gone():
                effects = self._gone(entry)
            case Announced():
                self._enqueue(entry.room, None, lambda _: self._offer(entry.room, entry.chat))
                return
            case Restored():
                self.hub.restore(entry.places, entry.now)
                self.hub.restore_bans(entry.bans)
                return
        self._follow(effects)
        self.run(effects, received, own)

    def _gone(self, entry: Gone) -> list[Effect]:
        """Its connections close (places enter grace); chats it committed but never announced are read."""
        mine = [conn for conn in self.hub.conns if instance_of(conn) == entry.instance]
        effects = [effect for conn in mine for effect in self.hub.closed(conn, entry.now)]
        for room in self.chat_order.rooms():
            self._read_gap(room, self.chat_order.delivered(room) or 0)
        return effects

    def _follow(self, effects: list[Effect]) -> None:
        """A newcomer of ours in a room not yet followed: learn where the room's chats stand first.

        Read before the newcomer's history (the store runs jobs in order), so
        every chat after that point either is in that history or comes live.
        """
        for effect in effects:
            if (
                isinstance(effect, SendJoined)
                and effect.conn in self._conns
                and effect.room not in self.chat_order
            ):
                start = self.store.submit(Store.last_id, effect.room)
                self._enqueue(effect.room, start, self._starter(effect.room))

    def _starter(self, room: str) -> Callable[["asyncio.Future[Any] | None"], None]:
        def start(done: "asyncio.Future[Any] | None") -> None:
            if done is not None and done.exception() is None:
                self.chat_order.start(room, done.result())
                return
            # The database is away: follow from what our members there have; the rest is read
            # when it is back (a later chat waits a second for it, as for any gap).
            floors = self._floors
            floor = max((floors[c] for c in self.hub.live_conns(room) if c in floors), default=0)
            self.chat_order.start(room, floor)
            self._read_gap(room, floor)

        return start

    def _offer(self, room: str, chat: ChatPosted) -> None:
        self._deliver_chats(room, self.chat_order.offer(room, chat, time.time()))

    def _read_gap(self, room: str, since: int) -> None:
        gap = self.store.submit(Store.history, room, since, JOINED_HISTORY_BYTES)

        def fill(done: "asyncio.Future[Any] | None") -> None:
            if done is not None and done.exception() is None:
                chats, _ = done.result()
                self._deliver_chats(room, self.chat_order.fill(room, chats, time.time()))

        self._enqueue(room, gap, fill)

    def _deliver_chats(self, room: str, chats: list[ChatPosted]) -> None:
        """To our members whose ``joined`` is out and did not carry it."""
        for chat in chats:
            if self.recent is not None:
                self.recent.add(chat, room)
            floors = self._floors
            conns = tuple(c for c in self.hub.live_conns(room) if floors.get(c, chat.id) < chat.id)
            committed = self._committed_at.pop((room, chat.id), None)
            self._deliver(
                conns, chat, None if committed is None else (self.metrics.fanout_seconds, committed)
            )

    def _send_joined(
        self, effect: SendJoined, budget: int, received: float, history: tuple[list[ChatPosted], bool] | None
    ) -> None:
        super()._send_joined(effect, budget, received, history)
        chats = history[0] if history else []
        self._floors[effect.conn] = chats[-1].id if chats else self.chat_order.delivered(effect.room) or 0
