"""The store: chat history with per-room ids, the places and the bans, on SQLite or PostgreSQL.

``Store`` holds every rule (ids, ``since``, the byte bound, retention) once,
in SQL both engines speak; a ``Database`` is one connection to an engine
(``sqlite_store``, ``pg_store``) and adds only what differs: connecting,
transactions, where the schema version lives, and the migration steps.

All database work runs on one thread (``StoreThread``), in the order it was
asked for, so the event loop never waits on the disk or the network and a
history read sees exactly the messages submitted before it. Queued jobs are
committed together (group commit); a batch that fails is retried job by job,
so one bad write fails alone. A chat's id comes from its room's counter row,
bumped in the transaction that inserts the chat: a failed write leaves no
gap, and several servers sharing one PostgreSQL cannot give an id twice.

Opening a database runs the migrations it lacks, each in its own
transaction, and refuses one written by a newer server. The same thread
prunes the history the retention settings give up, in short transactions
between the others.
"""

import asyncio
import functools
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import msgspec

from protocol import ChatPosted, Role, limits

from . import __version__
from .model import AddressBan, ChatDraft, PeerId, Place

log = logging.getLogger("voxroom.store")
T = TypeVar("T")
P = ParamSpec("P")
Row = tuple[Any, ...]

_MAX_BATCH = 256
PRUNE_EVERY_S = 3600.0
PRUNE_BATCH_ROWS = 1000
"""Messages one pruning transaction deletes at most: a few milliseconds of the writer."""
PRUNE_BATCH_ROOMS = 500
HISTORY_PAGE_ROWS = 64
"""Rows a history read fetches at once, newest first: one page serves a join without ``since``."""
_NO_ID = 1 << 62
"""Above every chat id: where a history read starts."""
_NO_CUTOFF_MS = -(1 << 62)
"""Older than every message: the age cutoff when ``--history-days`` is 0."""


class StoreError(Exception):
    """The database cannot be used; the message says why and what to do."""


class UncertainCommitError(StoreError):
    """The connection was lost during COMMIT: the batch may or may not be saved, so it is not run again."""


@dataclass(frozen=True, slots=True)
class Retention:
    """How much chat history is kept; 0 means no limit."""

    max_age_days: int = 0
    max_per_room: int = 0

    @property
    def limited(self) -> bool:
        return bool(self.max_age_days or self.max_per_room)


KEEP_EVERYTHING = Retention()


class Database(Protocol):
    """One connection to an engine, used by one thread at a time: what ``Store`` needs of it.

    SQL is written with ``?`` placeholders in the dialect SQLite and
    PostgreSQL share (``ON CONFLICT … DO UPDATE``, ``RETURNING``); an engine
    translates the placeholders if it must.
    """

    @property
    def name(self) -> str:
        """What to call it in messages: the file, or the URL without its password."""

    @property
    def place_order(self) -> str:
        """The column that orders places as they were first saved (seats are restored in that order)."""

    @property
    def migrations(self) -> Sequence[Sequence[str]]:
        """Step N (from 1) brings the schema from version N - 1 to N."""

    def begin(self) -> None:
        """Start a transaction: every statement until ``commit`` or ``rollback`` is in it."""

    def commit(self) -> None:
        """Raises ``UncertainCommitError`` when the connection is lost during it."""

    def rollback(self) -> None:
        """Undo the transaction; never raises (a lost connection is dropped, to be made again)."""

    def close(self) -> None: ...

    def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        """Run one statement; the number of rows it changed."""

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        """Run one query; all its rows."""

    def lock_schema(self) -> None:
        """Hold off other servers' migrations until this transaction ends."""

    def schema_version(self) -> int:
        """The version of the schema, 0 for an empty database."""

    def set_schema_version(self, version: int) -> None: ...


def migrate(db: Database, up_to: int | None = None) -> None:
    """Run the migration steps ``db`` lacks, each in its own transaction, under the schema lock.

    Each step re-reads the version once it holds the lock, so servers that
    open one database together migrate it once. ``up_to`` stops early: tests
    build an older schema with it.

    Raises:
        StoreError: the database was written by a newer server.
    """
    steps = db.migrations
    target = len(steps) if up_to is None else up_to
    while True:
        db.begin()
        try:
            db.lock_schema()
            version = db.schema_version()
            if version > len(steps):
                raise StoreError(
                    f"{db.name} has schema version {version}, written by a newer voxroom-server;"
                    f" {__version__} knows up to {len(steps)}. Run the newer version, or restore"
                    " the backup taken before upgrading (docs/operations.md, Upgrading)."
                )
            if version >= target:
                db.commit()
                return
            for statement in steps[version]:
                db.execute(statement)
            db.set_schema_version(version + 1)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        log.info("database schema now at version %d", version + 1)


_NEXT_ID = (
    "INSERT INTO rooms (room, last_id) VALUES (?, 1)"
    " ON CONFLICT (room) DO UPDATE SET last_id = rooms.last_id + 1 RETURNING last_id"
)
_SAVE_PLACE = (
    "INSERT INTO places (peer_id, room, username, token_hash, muted, deafened, voice, grace_until,"
    " address, role, server_muted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (peer_id) DO UPDATE"
    " SET room = excluded.room, username = excluded.username, token_hash = excluded.token_hash,"
    " muted = excluded.muted, deafened = excluded.deafened, voice = excluded.voice,"
    " grace_until = excluded.grace_until, address = excluded.address, role = excluded.role,"
    " server_muted = excluded.server_muted"
)
_NEWEST_BETWEEN = (
    "SELECT id, from_id, username, text, ts, nonce FROM chat"
    " WHERE room = ? AND id > ? AND id < ? ORDER BY id DESC LIMIT ?"
)
_SELECT_PLACES = (
    "SELECT peer_id, room, username, token_hash, muted, deafened, voice, grace_until, address, role,"
    " server_muted FROM places ORDER BY "
)


class Store:
    """The rules of the history, the places and the bans, over one ``Database``.

    Every method runs on the store's thread only, inside ``begin``/``commit``.
    """

    def __init__(self, db: Database, retention: Retention = KEEP_EVERYTHING) -> None:
        """Take ``db``, opened and migrated by its engine."""
        self.db = db
        self.retention = retention
        self._pruned_up_to = ""  # the room a pass of ``prune`` goes on after

    def begin(self) -> None:
        self.db.begin()

    def commit(self) -> None:
        self.db.commit()

    def rollback(self) -> None:
        self.db.rollback()

    def close(self) -> None:
        self.db.close()

    def _last(self, room: str) -> int:
        """The room's last chat id: pruning never lowers it, so no id is given twice."""
        found = self.db.rows("SELECT last_id FROM rooms WHERE room = ?", (room,))
        return int(found[0][0]) if found else 0

    def append_chat(self, draft: ChatDraft) -> ChatPosted:
        """Save ``draft`` with the next id of its room, taken from the room's counter row.

        The counter row stays locked until this transaction ends, so writers
        sharing the database take turns per room, and a rollback takes the id back.
        """
        ((chat_id,),) = self.db.rows(_NEXT_ID, (draft.room,))
        self.db.execute(
            "INSERT INTO chat (room, id, from_id, username, text, ts, nonce) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (draft.room, chat_id, draft.from_id, draft.username, draft.text, draft.ts_ms, draft.nonce),
        )
        return ChatPosted(
            id=chat_id,
            from_=draft.from_id,
            username=draft.username,
            text=draft.text,
            ts=draft.ts_ms,
            nonce=draft.nonce,
        )

    def last_id(self, room: str) -> int:
        """The newest id ``room`` has given (0 before its first chat): where others' chats start."""
        rows = self.db.rows("SELECT last_id FROM rooms WHERE room = ?", (room,))
        return int(rows[0][0]) if rows else 0

    def history(self, room: str, since: int | None, max_bytes: int) -> tuple[list[ChatPosted], bool]:
        """The last 50 messages, or those after ``since`` (at most 1,000), newest kept.

        At most ``max_bytes`` of them as JSON: rows are read newest first, a
        page at a time, and the reading stops there, so a history nobody can
        take is never built. The flag says that older messages were left out,
        or that some after ``since`` are gone (pruned by retention).
        """
        wanted = limits.HISTORY_ON_JOIN if since is None else limits.MAX_HISTORY_SINCE + 1
        history: list[ChatPosted] = []
        left, truncated, read, below = max_bytes, False, 0, _NO_ID
        while read < wanted and not truncated:
            size = min(HISTORY_PAGE_ROWS, wanted - read)
            page = self.db.rows(_NEWEST_BETWEEN, (room, since or 0, below, size))
            for r in page:
                posted = _posted(r)
                left -= len(msgspec.json.encode(posted)) + 1  # and its comma
                if left < 0 or len(history) == limits.MAX_HISTORY_SINCE:
                    truncated = True
                    break
                history.append(posted)
            if len(page) < size:
                break
            read, below = read + size, page[-1][0]
        history.reverse()
        if since is not None and not truncated:
            first = history[0].id if history else self._last(room) + 1
            truncated = first > since + 1
        return history, truncated

    def page(self, room: str, before: int, limit: int, max_bytes: int) -> tuple[list[ChatPosted], bool]:
        """Paging addition: the newest ``limit`` chats with an id below ``before``, oldest first.

        At most ``max_bytes`` of them as JSON, newest kept, like ``history``.
        The flag says older chats exist: one row more than asked is read, so
        a client knows where the room's history begins without asking again.
        """
        rows = self.db.rows(_NEWEST_BETWEEN, (room, 0, before, limit + 1))
        chats: list[ChatPosted] = []
        left = max_bytes
        for r in rows[:limit]:
            posted = _posted(r)
            left -= len(msgspec.json.encode(posted)) + 1
            if left < 0:
                break
            chats.append(posted)
        chats.reverse()
        return chats, len(chats) < len(rows)

    def prune(self, now: float) -> tuple[int, bool]:
        """Delete some of the oldest messages that retention gives up, as of wall-clock ``now``.

        At most ``PRUNE_BATCH_ROWS`` messages in at most ``PRUNE_BATCH_ROOMS``
        rooms, so that one call is a short transaction; the next call goes on
        where this one stopped. Only the oldest go, so what is left of a room
        is its newest messages, and its ids keep counting from the last one.

        Returns:
            The number deleted, and whether a next call may have more to delete.
        """
        days, keep = self.retention.max_age_days, self.retention.max_per_room
        cutoff_ms = int((now - days * 86_400) * 1000) if days else _NO_CUTOFF_MS
        left = PRUNE_BATCH_ROWS
        rooms = self.db.rows(
            "SELECT room, last_id FROM rooms WHERE room > ? ORDER BY room LIMIT ?",
            (self._pruned_up_to, PRUNE_BATCH_ROOMS),
        )
        for room, last_id in rooms:
            floor = last_id - keep if keep else 0
            oldest = self.db.rows("SELECT id, ts FROM chat WHERE room = ? ORDER BY id LIMIT 1", (room,))
            if oldest and (oldest[0][0] <= floor or oldest[0][1] < cutoff_ms):
                left -= self.db.execute(
                    "DELETE FROM chat WHERE room = ? AND id IN (SELECT id FROM chat"
                    " WHERE room = ? AND (id <= ? OR ts < ?) ORDER BY id LIMIT ?)",
                    (room, room, floor, cutoff_ms, left),
                )
                if not left:  # this room may have more: the next call starts with it again
                    return PRUNE_BATCH_ROWS, True
            self._pruned_up_to = room
        if len(rooms) < PRUNE_BATCH_ROOMS:
            self._pruned_up_to = ""
            return PRUNE_BATCH_ROWS - left, False
        return PRUNE_BATCH_ROWS - left, True

    def save_place(self, p: Place) -> None:
        self.db.execute(
            _SAVE_PLACE,
            (
                p.peer_id,
                p.room,
                p.username,
                p.token_hash,
                p.muted,
                p.deafened,
                p.voice,
                p.grace_until,
                p.address,
                p.role.value,
                p.server_muted,
            ),
        )

    def drop_place(self, peer_id: PeerId) -> None:
        self.db.execute("DELETE FROM places WHERE peer_id = ?", (peer_id,))

    def load_places(self) -> list[Place]:
        """Every place, in the order they were first saved."""
        return [
            Place(
                PeerId(r[0]),
                r[1],
                r[2],
                r[3],
                bool(r[4]),
                bool(r[5]),
                bool(r[6]),
                None,
                r[7],
                r[8],
                Role(r[9]),
                bool(r[10]),
            )
            for r in self.db.rows(_SELECT_PLACES + self.db.place_order)
        ]

    def save_ban(self, ban: AddressBan) -> None:
        self.db.execute(
            "INSERT INTO bans (address, until, reason) VALUES (?, ?, ?)"
            " ON CONFLICT (address) DO UPDATE SET until = excluded.until, reason = excluded.reason",
            (ban.address, ban.until, ban.reason),
        )

    def load_bans(self, now: float) -> list[AddressBan]:
        """The bans still running at wall-clock ``now``; the others are deleted."""
        self.db.execute("DELETE FROM bans WHERE until <= ?", (now,))
        rows = self.db.rows("SELECT address, until, reason FROM bans ORDER BY address")
        return [AddressBan(*row) for row in rows]


def _posted(row: Row) -> ChatPosted:
    return ChatPosted(id=row[0], from_=row[1], username=row[2], text=row[3], ts=row[4], nonce=row[5])


_Job = tuple[Callable[[], Any], asyncio.Future[Any]]
_Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]


class StoreThread:
    """Runs ``Store`` calls on one thread, in submission order, with group commit."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.healthy = True
        """The last batch of jobs ran without an error (what ``/health`` says of the database)."""
        self._thread = threading.Thread(target=self._run, name="voxroom-store", daemon=True)
        self._thread.start()

    def submit(
        self, method: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> "asyncio.Future[T]":
        """Queue ``method(store, *args)``; its result arrives on the returned future."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((functools.partial(method, self._store, *args, **kwargs), future))
        return future

    def stop(self) -> None:
        """Finish every queued job, then close the database."""
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        """Run jobs as they come; when none wait and a prune is due, delete one batch.

        A prune pass is due at start and every ``PRUNE_EVERY_S`` after the
        last one ended; its batches go only between jobs, so writes come first.
        """
        due = time.monotonic() if self._store.retention.limited else math.inf
        pruning, pruned = False, 0
        while True:
            try:
                if pruning or due <= time.monotonic():
                    first = self._jobs.get_nowait()
                else:
                    wait_s = None if due == math.inf else max(0.0, due - time.monotonic())
                    first = self._jobs.get(timeout=wait_s)
            except queue.Empty:
                deleted, pruning = self._prune()
                pruned += deleted
                if not pruning:
                    if pruned:
                        log.info("retention deleted %d chat messages", pruned)
                    due, pruned = time.monotonic() + PRUNE_EVERY_S, 0
                continue
            if first is None:
                break
            batch = [first]
            while len(batch) < _MAX_BATCH:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put(None)
                    break
                batch.append(job)
            outcomes = self._run_batch(batch)
            self.healthy = all(error is None for _, _, error in outcomes)
            first[1].get_loop().call_soon_threadsafe(_settle, outcomes)
        self._store.close()

    def _prune(self) -> tuple[int, bool]:
        """One batch of ``Store.prune`` in its own transaction; a failure ends the pass."""
        try:
            self._store.begin()
            deleted, more = self._store.prune(time.time())
            self._store.commit()
        except Exception as exc:  # the disk or the database: try again next pass
            self._store.rollback()
            log.error("pruning the chat history failed: %s", exc)
            return 0, False
        return deleted, more

    def _run_batch(self, batch: list[_Job]) -> list[_Outcome]:
        try:
            self._store.begin()
            results = [call() for call, _ in batch]
            self._store.commit()
        except Exception as exc:  # any failure: roll back, then isolate the culprit
            self._store.rollback()
            if isinstance(exc, UncertainCommitError):  # run again, a saved batch would be saved twice
                log.error("database commit lost: %s", exc)
                return [(future, None, exc) for _, future in batch]
            if len(batch) > 1:
                return [outcome for job in batch for outcome in self._run_batch([job])]
            log.error("database write failed: %s", exc)
            return [(batch[0][1], None, exc)]
        return [(future, result, None) for (_, future), result in zip(batch, results, strict=True)]


def _settle(outcomes: list[_Outcome]) -> None:
    """Resolve a batch's futures on the event loop, in submission order."""
    for future, result, error in outcomes:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
