"""The shared log on Redis: one stream every instance appends to and reads in full, in its order.

Needs ``voxroom[cluster]`` (redis-py's asyncio client). Keys, all under
``voxroom:``: ``log`` (the stream), ``instances`` (a counter that numbers
each instance that starts), ``alive:N`` (renewed while instance N runs),
``leader`` (a lease: its holder appends the ``Tick`` entries, declares
the instances that stopped renewing ``Gone``, and saves ``snapshot``, the
rooms' state at a point of the log, trimming the log behind it),
``restored`` (names the log: set by the instance that seated the
database's places when it began), and the channel ``feed``.

Entries reach the readers pushed, not polled: one script appends a batch
to the stream and publishes it, with the ids it got, on ``feed``, so an
instance reads what others write without sending Redis a command per
entry (a blocking XREAD cost every instance one round trip per entry,
most of the cross-instance CPU). The stream stays the record: a reader
that (re)subscribes reads it from its position, and skips a pushed entry
it already has.
"""

import asyncio
import logging
import secrets
import time
from collections.abc import Collection
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .model import AddressBan, ConnId, Place
from .replicated import Entry, Gone, Restored, Tick, decode, encode, instance_of

log = logging.getLogger("voxroom.server")

LOG_KEY = "voxroom:log"
INSTANCES_KEY = "voxroom:instances"
LEADER_KEY = "voxroom:leader"
RESTORED_KEY = "voxroom:restored"
FEED_CHANNEL = "voxroom:feed"
TICK_S = 0.25
"""The leader's clock entries, and how often every instance says it is alive."""
ALIVE_S = 2.0
"""An instance silent this long is gone: its clients' places enter grace (they resume elsewhere)."""
READ_COUNT = 1000
RETRY_S = 0.5
RESTORE_WAIT_S = 10.0
RENUMBER_MARGIN = 1024
SNAPSHOT_KEY = "voxroom:snapshot"
SNAPSHOT_EVERY_S = 60.0
"""How often the leader saves the rooms' state and trims the log behind it (and behind every reader)."""

_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""
"""Take the leader's lease if nobody holds it, renew it if we do."""

_APPEND = """
local out = {}
for i = 3, #ARGV do
  local id = redis.call('XADD', KEYS[1], '*', 'a', ARGV[1], 's', ARGV[2] + i - 3, 'e', ARGV[i])
  out[#out + 1] = id .. ' ' .. #ARGV[i] .. ' ' .. ARGV[i]
end
redis.call('PUBLISH', KEYS[2], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. table.concat(out))
return #out
"""
"""Append a batch of one author's entries in order and push them to the readers as one message.

Each entry carries its author's sequence number (``s``: the batch's first,
``ARGV[2]``, counted on), so a batch sent again after a lost reply, which
Redis may have appended already, is applied once. The message is the author
and the first number, then per entry its id, its length and its bytes,
separated by single spaces (``_pushed`` takes it apart).
"""


class RedisLog:
    """The ``SharedLog`` of ``replica.py`` on a Redis stream."""

    def __init__(self, url: str) -> None:
        self.redis = Redis.from_url(url)
        self.instance = 0
        """Our number, from ``voxroom:instances`` (``join``): the high bits of our connection ids."""
        self.reachable = False
        self._outbox: list[bytes] = []
        self._next_seq = 1
        """The sequence number of our next entry (``_APPEND``)."""
        self._last_seq: dict[int, int] = {}
        """Per author, the newest sequence number applied: what comes again is a resent batch."""
        self._wake = asyncio.Event()
        self._declared_gone: set[int] = set()
        self._epoch: bytes | None = None
        """The log we read: ``voxroom:restored`` names it; a Redis that lost it holds another or none."""
        self._position = b"0-0"
        self._generation = 0
        """Counts the logs begun again; a read from the previous one is dropped."""
        self.snapshot_every_s = SNAPSHOT_EVERY_S
        self._leading = False
        self._next_snapshot = 0.0  # the first as soon as we lead
        self._snapshots: list[asyncio.Task[None]] = []

    async def join(self) -> None:
        """Take an instance number and say we are alive."""
        self.instance = int(await self.redis.incr(INSTANCES_KEY))
        await self._alive()
        self.reachable = True
        log.info("instance %d of the service on Redis", self.instance)

    async def restore(self, places: list[Place], bans: list[AddressBan]) -> None:
        """Seat the database's places once, as the log's first entry; the others wait for it.

        Otherwise a client resuming on an instance that started a moment
        earlier would find no place, and take a second one.
        """
        epoch = f"{self.instance}-{secrets.token_hex(8)}".encode()
        if await self.redis.set(RESTORED_KEY, epoch, nx=True):
            restored = Restored(places, bans, time.time())
            await self.redis.xadd(LOG_KEY, {"a": self.instance, "e": encode(restored)})
            self._epoch = epoch
            return
        deadline = time.monotonic() + RESTORE_WAIT_S
        while not await self.redis.xlen(LOG_KEY) and time.monotonic() < deadline:  # noqa: ASYNC110 - polls Redis
            await asyncio.sleep(0.05)
        self._epoch = await self.redis.get(RESTORED_KEY)

    def append(self, entry: Entry) -> None:
        """Queue ``entry``; the writer sends what queued meanwhile in one round trip, in order."""
        self._outbox.append(encode(entry))
        self._wake.set()

    async def catch_up(self, member: "Member") -> bytes:
        """Start from the newest snapshot and apply the log after it (before this instance serves anyone).

        Returns the id reached.
        """
        last = b"0-0"
        snapshot: dict[bytes, bytes] = await self.redis.hgetall(SNAPSHOT_KEY)  # type: ignore[misc]
        if snapshot and snapshot[b"epoch"] == self._epoch:
            member.load(snapshot[b"state"])
            last = snapshot[b"position"]
        self._position = last
        await self._alive()  # the leader trims nothing we have still to read
        while True:
            page = _entries(await self.redis.xrange(LOG_KEY, min=b"(" + last, count=READ_COUNT))
            for last, author, seq, entry in page:  # noqa: B007 - ``last`` is where the next page starts
                if self._fresh(author, seq):
                    member.apply(author, entry)
            if len(page) < READ_COUNT:
                return last

    async def read_forever(self, member: "Member", after: bytes) -> None:
        """Apply every entry after ``after`` as it is pushed; after a lost connection, read the gap first."""
        self._position = after
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as feed:
                    await feed.subscribe(FEED_CHANNEL)
                    await self._read_gap(member)
                    self.reachable = True
                    await self._follow(member, feed)
            except RedisError as exc:
                self._unreachable(exc)
                await asyncio.sleep(RETRY_S)

    async def _read_gap(self, member: "Member") -> None:
        """Apply what the stream holds after our position (subscribed already, so nothing falls between)."""
        while True:
            generation = self._generation
            page = await self.redis.xrange(LOG_KEY, min=b"(" + self._position, count=READ_COUNT)
            if generation != self._generation:
                continue  # read from a log that is no more
            entries = _entries(page)
            for self._position, author, seq, entry in entries:
                if self._fresh(author, seq):
                    member.apply(author, entry)
            if len(entries) < READ_COUNT:
                return

    async def _follow(self, member: "Member", feed: Any) -> None:
        apply = member.apply
        while True:
            generation = self._generation
            message = await feed.get_message(timeout=1.0)
            if generation != self._generation:
                await self._read_gap(member)  # the log began again: from its start
                continue
            if message is not None:
                position = _stream_id(self._position)
                for entry_id, author, seq, entry in _pushed(message["data"]):
                    if _stream_id(entry_id) > position:
                        self._position = entry_id
                        if self._fresh(author, seq):
                            apply(author, entry)
            if self._leading and time.monotonic() >= self._next_snapshot:
                self._next_snapshot = time.monotonic() + self.snapshot_every_s
                # Saved between two entries, so it is exactly the state at this position.
                self._snapshots.append(asyncio.create_task(self._save(self._position, member.save())))
                self._snapshots = [t for t in self._snapshots if not t.done()]

    async def _save(self, position: bytes, state: bytes) -> None:
        """Keep ``state`` as the log's start, and trim what every instance has read before it."""
        try:
            fields = {"position": position, "epoch": self._epoch or b"", "state": state}
            await self.redis.hset(SNAPSHOT_KEY, mapping=fields)  # type: ignore[misc]
            readers = [key async for key in self.redis.scan_iter(match=b"voxroom:alive:*")]
            read = [p for p in await self.redis.mget(readers) if p] if readers else []
            oldest = min([position, *read], key=_stream_id)
            trimmed = await self.redis.xtrim(LOG_KEY, minid=oldest, approximate=False)
            log.info(
                "snapshot at %s (%d bytes); %d log entries trimmed", position.decode(), len(state), trimmed
            )
        except RedisError as exc:
            self._unreachable(exc)

    async def write_forever(self) -> None:
        """Send the queued entries in order; what fails is sent again (a Redis restart loses none of ours)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._outbox = self._outbox, []
            first, self._next_seq = self._next_seq, self._next_seq + len(batch)
            while batch:
                try:
                    await self._send(first, batch)
                    batch = []
                except RedisError as exc:
                    self._unreachable(exc)
                    await asyncio.sleep(RETRY_S)

    async def lead_forever(self, member: "Member") -> None:
        """Renew our liveness; while we hold the lease, keep the service's clock and find the dead.

        An instance that holds connections in the log (``member.conns()``)
        and has stopped renewing is declared gone. A Redis that has lost the
        log (restarted empty) makes us begin it again (``_begin_again``).
        """
        conns = member.conns
        while True:
            await asyncio.sleep(TICK_S)
            try:
                if await self.redis.get(RESTORED_KEY) != self._epoch:
                    await self._begin_again(member)
                await self._alive()
                lease: Any = self.redis.eval(_LEASE, 1, LEADER_KEY, self.instance, int(ALIVE_S * 1000))
                self._leading = bool(await lease)
                if self._leading:
                    now = time.time()
                    self.append(Tick(now))
                    await self._declare_gone(conns(), now)
            except RedisError as exc:
                self._unreachable(exc)

    async def _begin_again(self, member: "Member") -> None:
        """Redis came back without the log: a new one begins, from the places in the database.

        Our clients are sent away to resume (their places are in the
        database, in grace, as after a restart of a single server); we take a
        new number, since the numbers began again too; whoever comes first
        seats the database's places, as at a first start.
        """
        log.warning("Redis lost the service's log: beginning it again; clients resume their places")
        self._outbox.clear()
        self._last_seq.clear()  # the authors' numbers begin again too
        self._declared_gone.clear()
        places, bans = await member.forget()
        # The numbers begin again above ours: an instance that has not noticed yet keeps its old one.
        await self.redis.set(INSTANCES_KEY, self.instance + RENUMBER_MARGIN, nx=True)
        await self.join()
        await self.restore(places, bans)
        self._generation += 1
        self._position = b"0-0"
        member.rejoined()

    async def _declare_gone(self, conns: Collection[ConnId], now: float) -> None:
        holding = {instance_of(conn) for conn in conns} - {self.instance}
        self._declared_gone &= holding  # applied: it holds none any more
        for instance in holding - self._declared_gone:
            if not await self.redis.exists(_alive_key(instance)):
                log.warning("instance %d stopped: its clients' places enter grace", instance)
                self._declared_gone.add(instance)
                self.append(Gone(instance, now))

    def _fresh(self, author: int, seq: int | None) -> bool:
        """Whether an entry is new: not one of a batch that was sent again (``seq`` None: unnumbered)."""
        if seq is None:
            return True
        if seq <= self._last_seq.get(author, 0):
            log.debug("entry %d of instance %d came again: applied once", seq, author)
            return False
        self._last_seq[author] = seq
        return True

    async def _send(self, first: int, batch: list[bytes]) -> None:
        """Append ``batch`` (numbered from ``first``) in one round trip, in order; push it to every reader."""
        if batch:
            script: Any = self.redis.eval(_APPEND, 2, LOG_KEY, FEED_CHANNEL, self.instance, first, *batch)
            await script

    async def _alive(self) -> None:
        """Renew our liveness; its value is how far we have read, which the leader's trimming keeps."""
        await self.redis.set(_alive_key(self.instance), self._position, px=int(ALIVE_S * 1000))

    def _unreachable(self, exc: RedisError) -> None:
        if self.reachable:
            log.error("Redis unreachable: %s", exc)
        self.reachable = False

    async def close(self) -> None:
        """Send what is queued, say we are gone, and disconnect; Redis unreachable, the leader finds out."""
        try:
            await self._send(self._next_seq, self._outbox)
            await self.redis.delete(_alive_key(self.instance))
        except RedisError as exc:
            log.error("leaving the service: %s", exc)
        await self.redis.aclose()


class Member(Protocol):
    """What the log asks of the instance it serves."""

    def apply(self, author: int, entry: Entry) -> None:
        """One entry of the log, in its order."""

    def save(self) -> bytes:
        """The state of the rooms, as a snapshot of the log up to the entry last applied."""

    def load(self, state: bytes) -> None:
        """Start from a snapshot (before any entry is applied)."""

    def conns(self) -> Collection[ConnId]:
        """Every connection of the service, as this instance's core knows them."""

    async def forget(self) -> tuple[list[Place], list[AddressBan]]:
        """Send every client away to resume, forget the rooms; the database's places and bans."""

    def rejoined(self) -> None:
        """The log has begun again: take clients again."""


def _entries(page: Any) -> list[tuple[bytes, int, int | None, Entry]]:
    """A stream page as (id, author, sequence number, entry); redis-py types its replies loosely."""
    return [
        (entry_id, int(fields[b"a"]), int(fields[b"s"]) if b"s" in fields else None, decode(fields[b"e"]))
        for entry_id, fields in page
    ]


def _pushed(data: bytes) -> list[tuple[bytes, int, int | None, Entry]]:
    """A ``feed`` message (``_APPEND``'s) as (id, author, sequence number, entry)."""
    author_text, first_text, rest = data.split(b" ", 2)
    author, seq = int(author_text), int(first_text)
    entries: list[tuple[bytes, int, int | None, Entry]] = []
    at = 0
    while at < len(rest):
        id_end = rest.index(b" ", at)
        length_end = rest.index(b" ", id_end + 1)
        start = length_end + 1
        end = start + int(rest[id_end + 1 : length_end])
        entries.append((rest[at:id_end], author, seq, decode(rest[start:end])))
        seq += 1
        at = end
    return entries


def _stream_id(position: bytes) -> tuple[int, int]:
    milliseconds, _, sequence = position.partition(b"-")
    return int(milliseconds), int(sequence or 0)


def _alive_key(instance: int) -> str:
    return f"voxroom:alive:{instance}"
