"""SQLite persistence: chat history with per-room ids, and the places.

All database work runs on one writer thread, in the order it was asked
for, so the event loop never waits on the disk and a history read sees
exactly the messages submitted before it. Queued jobs are committed
together (group commit); a batch that fails is retried job by job, so one
bad write fails alone. WAL with ``synchronous=NORMAL``: a committed message
survives the death of the process (``kill -9``), which is the promise.

The schema's version is SQLite's ``user_version``; opening a database runs
the migrations it lacks, each in its own transaction, and refuses one
written by a newer server. The same thread prunes the history the
retention settings give up, in short transactions between the others.
"""

import asyncio
import contextlib
import functools
import logging
import math
import os
import queue
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import msgspec

from protocol import ChatPosted, Role, limits

from . import __version__
from .model import AddressBan, ChatDraft, PeerId, Place

log = logging.getLogger("voxroom.store")
T = TypeVar("T")
P = ParamSpec("P")

_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the tables of 0.1.0. It set no user_version, so its databases read 0 like a new
    # file, and IF NOT EXISTS makes this step a no-op on them.
    (
        """CREATE TABLE IF NOT EXISTS chat (
            room TEXT NOT NULL, id INTEGER NOT NULL, from_id TEXT NOT NULL, username TEXT NOT NULL,
            text TEXT NOT NULL, ts INTEGER NOT NULL, nonce TEXT, PRIMARY KEY (room, id)
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS places (
            peer_id TEXT PRIMARY KEY, room TEXT NOT NULL, username TEXT NOT NULL, token_hash TEXT NOT NULL,
            muted INTEGER NOT NULL, deafened INTEGER NOT NULL, voice INTEGER NOT NULL, grace_until REAL
        )""",
    ),
    # 2: each room's last id, so a room pruned to empty goes on from it instead of 1;
    # each place's client address, which the caps on places in grace count by.
    (
        "CREATE TABLE rooms (room TEXT PRIMARY KEY, last_id INTEGER NOT NULL) WITHOUT ROWID",
        "INSERT INTO rooms SELECT room, MAX(id) FROM chat GROUP BY room",
        "ALTER TABLE places ADD COLUMN address TEXT",
    ),
    # 3: moderation: a place's role and server mute, and the bans by client address.
    (
        "ALTER TABLE places ADD COLUMN role TEXT NOT NULL DEFAULT 'member'",
        "ALTER TABLE places ADD COLUMN server_muted INTEGER NOT NULL DEFAULT 0",
        "CREATE TABLE bans (address TEXT PRIMARY KEY, until REAL NOT NULL, reason TEXT NOT NULL)",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)
"""The ``user_version`` this code writes; a database with a higher one is refused."""
_MAX_BATCH = 256
PRUNE_EVERY_S = 3600.0
PRUNE_BATCH_ROWS = 1000
"""Messages one pruning transaction deletes at most: a few milliseconds of the writer."""
PRUNE_BATCH_ROOMS = 500
_PRIVATE_DIR, _PRIVATE_FILE = 0o700, 0o600


class StoreError(Exception):
    """The database cannot be used; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Retention:
    """How much chat history is kept; 0 means no limit."""

    max_age_days: int = 0
    max_per_room: int = 0

    @property
    def limited(self) -> bool:
        return bool(self.max_age_days or self.max_per_room)


class Store:
    """The database itself; every method runs on the writer thread only."""

    def __init__(self, path: Path, retention: Retention = Retention(), max_pages: int | None = None) -> None:
        """Open (creating it and its folder, private to this user) and migrate the database at ``path``.

        Raises:
            StoreError: it is not a database, or one written by a newer server.
        """
        self.retention = retention
        _make_private(path)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            if max_pages is not None:  # lets tests fill the "disk"
                self._db.execute(f"PRAGMA max_page_count={int(max_pages)}")
            self._migrate(path)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"cannot open the database {path}: {exc}") from exc
        except StoreError:
            self._db.close()
            raise
        self._last_id: dict[str, int] = {}
        self._pruned_up_to = ""  # the room a pass of ``prune`` goes on after

    def _migrate(self, path: Path) -> None:
        version: int = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} has schema version {version}, written by a newer voxroom-server;"
                f" {__version__} knows up to {SCHEMA_VERSION}. Run the newer version, or restore"
                " the backup taken before upgrading (docs/operations.md, Upgrading)."
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            self.begin()
            try:
                for statement in _MIGRATIONS[number - 1]:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")
                self.commit()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            log.info("database schema now at version %d", number)

    def close(self) -> None:
        self._db.close()

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._last_id.clear()  # ids handed out in the failed batch were not kept

    def _last(self, room: str) -> int:
        """The room's last chat id: pruning never lowers it, so no id is given twice."""
        last = self._last_id.get(room)
        if last is None:
            row = self._db.execute("SELECT last_id FROM rooms WHERE room = ?", (room,)).fetchone()
            last = row[0] if row else 0
        return last

    def append_chat(self, draft: ChatDraft) -> ChatPosted:
        chat_id = self._last(draft.room) + 1
        self._db.execute(
            "INSERT INTO chat VALUES (?, ?, ?, ?, ?, ?, ?)",
            (draft.room, chat_id, draft.from_id, draft.username, draft.text, draft.ts_ms, draft.nonce),
        )
        self._db.execute("INSERT OR REPLACE INTO rooms VALUES (?, ?)", (draft.room, chat_id))
        self._last_id[draft.room] = chat_id
        return ChatPosted(
            id=chat_id,
            from_=draft.from_id,
            username=draft.username,
            text=draft.text,
            ts=draft.ts_ms,
            nonce=draft.nonce,
        )

    def history(self, room: str, since: int | None, max_bytes: int) -> tuple[list[ChatPosted], bool]:
        """The last 50 messages, or those after ``since`` (at most 1,000), newest kept.

        At most ``max_bytes`` of them as JSON: rows are read newest first and
        the reading stops there, so a history nobody can take is never built.
        The flag says that older messages were left out, or that some after
        ``since`` are gone (pruned by retention).
        """
        if since is None:
            sql, args = (
                "SELECT * FROM chat WHERE room = ? ORDER BY id DESC LIMIT ?",
                (room, limits.HISTORY_ON_JOIN),
            )
        else:
            sql = "SELECT * FROM chat WHERE room = ? AND id > ? ORDER BY id DESC LIMIT ?"
            args = (room, since, limits.MAX_HISTORY_SINCE + 1)  # type: ignore[assignment]
        history: list[ChatPosted] = []
        left, truncated = max_bytes, False
        with contextlib.closing(self._db.execute(sql, args)) as rows:
            for r in rows:
                posted = ChatPosted(id=r[1], from_=r[2], username=r[3], text=r[4], ts=r[5], nonce=r[6])
                left -= len(msgspec.json.encode(posted)) + 1  # and its comma
                if left < 0 or len(history) == limits.MAX_HISTORY_SINCE:
                    truncated = True
                    break
                history.append(posted)
        history.reverse()
        if since is not None and not truncated:
            first = history[0].id if history else self._last(room) + 1
            truncated = first > since + 1
        return history, truncated

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
        cutoff_ms = int((now - days * 86_400) * 1000) if days else -math.inf
        left = PRUNE_BATCH_ROWS
        rooms = self._db.execute(
            "SELECT room, last_id FROM rooms WHERE room > ? ORDER BY room LIMIT ?",
            (self._pruned_up_to, PRUNE_BATCH_ROOMS),
        ).fetchall()
        for room, last_id in rooms:
            floor = last_id - keep if keep else 0
            oldest = self._db.execute(
                "SELECT id, ts FROM chat WHERE room = ? ORDER BY id LIMIT 1", (room,)
            ).fetchone()
            if oldest is not None and (oldest[0] <= floor or oldest[1] < cutoff_ms):
                deleted: int = self._db.execute(
                    "DELETE FROM chat WHERE room = ? AND id IN (SELECT id FROM chat"
                    " WHERE room = ? AND (id <= ? OR ts < ?) ORDER BY id LIMIT ?)",
                    (room, room, floor, cutoff_ms, left),
                ).rowcount
                left -= deleted
                if not left:  # this room may have more: the next call starts with it again
                    return PRUNE_BATCH_ROWS, True
            self._pruned_up_to = room
        if len(rooms) < PRUNE_BATCH_ROOMS:
            self._pruned_up_to = ""
            return PRUNE_BATCH_ROWS - left, False
        return PRUNE_BATCH_ROWS - left, True

    def save_place(self, p: Place) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO places VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        self._db.execute("DELETE FROM places WHERE peer_id = ?", (peer_id,))

    def load_places(self) -> list[Place]:
        rows = self._db.execute("SELECT * FROM places ORDER BY rowid").fetchall()
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
            for r in rows
        ]

    def save_ban(self, ban: AddressBan) -> None:
        self._db.execute("INSERT OR REPLACE INTO bans VALUES (?, ?, ?)", (ban.address, ban.until, ban.reason))

    def load_bans(self, now: float) -> list[AddressBan]:
        """The bans still running at wall-clock ``now``; the others are deleted."""
        self._db.execute("DELETE FROM bans WHERE until <= ?", (now,))
        return [AddressBan(*row) for row in self._db.execute("SELECT * FROM bans")]


def _make_private(path: Path) -> None:
    """Create ``path``'s folder 0700 and the database 0600, and tighten them if more open.

    The database holds every room's chat and the hashes of resume tokens.
    SQLite gives its ``-wal`` and ``-shm`` files the database's mode. POSIX
    only: elsewhere the modes mean nothing.
    """
    path.parent.mkdir(_PRIVATE_DIR, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, _PRIVATE_FILE))
    if os.name != "posix":
        return
    wal, shm = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
    for item, mode in (
        (path.parent, _PRIVATE_DIR),
        (path, _PRIVATE_FILE),
        (wal, _PRIVATE_FILE),
        (shm, _PRIVATE_FILE),
    ):
        with contextlib.suppress(FileNotFoundError):
            was = stat.S_IMODE(item.stat().st_mode)
            if was & 0o077:
                try:
                    item.chmod(was & mode)
                except PermissionError:
                    log.warning("%s is mode %04o and not ours to change: others may read it", item, was)
                else:
                    log.warning("%s was mode %04o, others could read it: now %04o", item, was, was & mode)


_Job = tuple[Callable[[], Any], asyncio.Future[Any]]
_Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]


class StoreThread:
    """Runs ``Store`` calls on one thread, in submission order, with group commit."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
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
