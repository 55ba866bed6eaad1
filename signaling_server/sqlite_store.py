"""SQLite, the embedded default: one file in the data folder, private to the server's user.

WAL with ``synchronous=NORMAL``: a committed message survives the death of
the process (``kill -9``), which is the promise. The schema's version is
SQLite's ``user_version``.
"""

import contextlib
import logging
import os
import sqlite3
import stat
from collections.abc import Sequence
from pathlib import Path

from .store import KEEP_EVERYTHING, Retention, Row, Store, StoreError, migrate

log = logging.getLogger("voxroom.store")

MIGRATIONS: tuple[tuple[str, ...], ...] = (
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
SCHEMA_VERSION = len(MIGRATIONS)
"""The ``user_version`` this code writes; a database with a higher one is refused."""
_PRIVATE_DIR, _PRIVATE_FILE = 0o700, 0o600


class SqliteDatabase:
    """One SQLite file, opened (created private if new) and migrated.

    Args:
        path: the database file; it and its folder are created if missing.
        max_pages: caps the file's size: lets tests fill the "disk".
        up_to: migrate only this far (tests build an older schema with it).

    Raises:
        StoreError: it is not a database, or one written by a newer server.
    """

    place_order = "rowid"
    migrations = MIGRATIONS

    def __init__(self, path: Path, max_pages: int | None = None, *, up_to: int | None = None) -> None:
        self.name = str(path)
        _make_private(path)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            if max_pages is not None:
                self._db.execute(f"PRAGMA max_page_count={int(max_pages)}")
            migrate(self, up_to)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"cannot open the database {path}: {exc}") from exc
        except StoreError:
            self._db.close()
            raise

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def close(self) -> None:
        self._db.close()

    def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        return self._db.execute(sql, args).rowcount

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return self._db.execute(sql, args).fetchall()  # all: a RETURNING statement ends only then

    def lock_schema(self) -> None:
        """``BEGIN IMMEDIATE`` already holds the only write lock."""

    def schema_version(self) -> int:
        version: int = self._db.execute("PRAGMA user_version").fetchone()[0]
        return version

    def set_schema_version(self, version: int) -> None:
        self._db.execute(f"PRAGMA user_version = {int(version)}")


def sqlite_store(path: Path, retention: Retention = KEEP_EVERYTHING, max_pages: int | None = None) -> Store:
    """The store in the SQLite file ``path`` (see ``SqliteDatabase``)."""
    return Store(SqliteDatabase(path, max_pages), retention)


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
