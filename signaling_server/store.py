"""SQLite persistence: chat history with per-room ids, and the places.

All database work runs on one writer thread, in the order it was asked
for, so the event loop never waits on the disk and a history read sees
exactly the messages submitted before it. Queued jobs are committed
together (group commit); a batch that fails is retried job by job, so one
bad write fails alone. WAL with ``synchronous=NORMAL``: a committed message
survives the death of the process (``kill -9``), which is the promise.
"""

import asyncio
import contextlib
import functools
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import msgspec

from protocol import ChatPosted, limits

from .model import ChatDraft, PeerId, Place

log = logging.getLogger("voxroom.store")
T = TypeVar("T")
P = ParamSpec("P")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chat (
    room TEXT NOT NULL, id INTEGER NOT NULL, from_id TEXT NOT NULL, username TEXT NOT NULL,
    text TEXT NOT NULL, ts INTEGER NOT NULL, nonce TEXT, PRIMARY KEY (room, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS places (
    peer_id TEXT PRIMARY KEY, room TEXT NOT NULL, username TEXT NOT NULL, token_hash TEXT NOT NULL,
    muted INTEGER NOT NULL, deafened INTEGER NOT NULL, voice INTEGER NOT NULL, grace_until REAL
);
"""
_MAX_BATCH = 256


class Store:
    """The database itself; every method runs on the writer thread only."""

    def __init__(self, path: Path, max_pages: int | None = None) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        if max_pages is not None:  # lets tests fill the "disk"
            self._db.execute(f"PRAGMA max_page_count={int(max_pages)}")
        self._db.executescript(_SCHEMA)
        self._last_id: dict[str, int] = {}

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

    def append_chat(self, draft: ChatDraft) -> ChatPosted:
        last = self._last_id.get(draft.room)
        if last is None:
            row = self._db.execute("SELECT MAX(id) FROM chat WHERE room = ?", (draft.room,)).fetchone()
            last = row[0] or 0
        chat_id = last + 1
        self._db.execute(
            "INSERT INTO chat VALUES (?, ?, ?, ?, ?, ?, ?)",
            (draft.room, chat_id, draft.from_id, draft.username, draft.text, draft.ts_ms, draft.nonce),
        )
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
        The flag says that older messages were left out.
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
        return history, truncated

    def save_place(self, p: Place) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO places VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (p.peer_id, p.room, p.username, p.token_hash, p.muted, p.deafened, p.voice, p.grace_until),
        )

    def drop_place(self, peer_id: PeerId) -> None:
        self._db.execute("DELETE FROM places WHERE peer_id = ?", (peer_id,))

    def load_places(self) -> list[Place]:
        rows = self._db.execute("SELECT * FROM places ORDER BY rowid").fetchall()
        return [
            Place(PeerId(r[0]), r[1], r[2], r[3], bool(r[4]), bool(r[5]), bool(r[6]), None, r[7])
            for r in rows
        ]


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
        while True:
            first = self._jobs.get()
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
