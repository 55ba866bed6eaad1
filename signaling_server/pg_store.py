"""PostgreSQL (``--database``), which several servers can share: the history, places and bans that must last.

One connection, used by the store's thread through psycopg's synchronous
API: that thread is already off the event loop, and group commit keeps the
round trips few, so an asyncio driver would only add a second way of
running the same one-at-a-time jobs.

PostgreSQL may go away for a while (restarted, failed over, the network).
Every statement then fails at once with ``StoreError``, which the server
answers ``storage-failed``; the connection is made again on the next job,
at once the first time and then no more often than a back-off that doubles
up to ``RECONNECT_MAX_S``, so a job waits at most one connection attempt
(``CONNECT_TIMEOUT_S``). A connection found dead at the first statement of
a transaction is made again and the statement run on it: nothing of that
transaction was sent yet, so the first chat after a restart of PostgreSQL
is saved, not refused. A connection lost during COMMIT is ``UncertainCommitError``:
the batch is not run again, since it may be saved already.

The schema's version is a row of ``schema_version``; migrations take an
advisory lock first, so servers starting together migrate once.
"""

import functools
import logging
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus

from .store import KEEP_EVERYTHING, Retention, Row, Store, StoreError, UncertainCommitError, migrate

log = logging.getLogger("voxroom.store")

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: SQLite's schema at its version 3. Rooms are compared byte by byte (COLLATE "C"), as in
    # SQLite: pruning walks the rooms in that order. ``seq`` orders the places as first saved.
    (
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "INSERT INTO schema_version VALUES (0)",
        'CREATE TABLE rooms (room TEXT COLLATE "C" PRIMARY KEY, last_id BIGINT NOT NULL)',
        """CREATE TABLE chat (
            room TEXT COLLATE "C" NOT NULL, id BIGINT NOT NULL, from_id TEXT NOT NULL,
            username TEXT NOT NULL, text TEXT NOT NULL, ts BIGINT NOT NULL, nonce TEXT,
            PRIMARY KEY (room, id)
        )""",
        """CREATE TABLE places (
            peer_id TEXT PRIMARY KEY, room TEXT NOT NULL, username TEXT NOT NULL, token_hash TEXT NOT NULL,
            muted BOOLEAN NOT NULL, deafened BOOLEAN NOT NULL, voice BOOLEAN NOT NULL,
            grace_until DOUBLE PRECISION, address TEXT, role TEXT NOT NULL DEFAULT 'member',
            server_muted BOOLEAN NOT NULL DEFAULT FALSE, seq BIGINT GENERATED ALWAYS AS IDENTITY
        )""",
        "CREATE TABLE bans (address TEXT PRIMARY KEY, until DOUBLE PRECISION NOT NULL, reason TEXT NOT NULL)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
CONNECT_TIMEOUT_S = 3
"""libpq's ``connect_timeout``: the longest a job waits on an unreachable host (2 is libpq's least)."""
RECONNECT_FIRST_S = 0.25
RECONNECT_MAX_S = 4.0
"""The back-off between connection attempts doubles up to this: the most a recovery waits."""
_DEFAULTS: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "application_name": "voxroom-server",
    # A peer that vanished without a word (a cut cable, a failed-over host) is noticed in ~15 s
    # instead of the kernel's hours: unacknowledged data, or keep-alives unanswered.
    "tcp_user_timeout": 15_000,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}
_SCHEMA_LOCK = int.from_bytes(b"voxroom")
"""The advisory lock migrations hold."""


class PostgresDatabase:
    """One connection to the PostgreSQL at ``url``, made again when lost; migrated on opening.

    Args:
        url: ``postgresql://USER@HOST:PORT/DATABASE``; what the URL leaves out
            comes from libpq's environment and files (``PGPASSFILE``, ``~/.pgpass``).
        up_to: migrate only this far (tests build an older schema with it).

    Raises:
        StoreError: the URL is malformed, PostgreSQL cannot be reached or
            refuses us, or the schema was written by a newer server.
    """

    place_order = "seq"
    migrations = MIGRATIONS

    def __init__(self, url: str, *, up_to: int | None = None) -> None:
        try:
            given = conninfo_to_dict(url)
        except psycopg.ProgrammingError:  # its message may quote the password
            raise StoreError(
                "--database is not a valid postgresql://USER@HOST:PORT/DATABASE URL"
                " (percent-encode spaces and symbols)"
            ) from None
        self.name = _redacted(given)
        self._conninfo = make_conninfo("", **{**_DEFAULTS, **given})
        self._conn: psycopg.Connection[Row] | None = None
        self._retry_at = 0.0
        self._backoff_s = RECONNECT_FIRST_S
        self._lost = False
        try:
            self._connection()
            migrate(self, up_to)
        except psycopg.Error as exc:
            self.close()
            raise StoreError(f"cannot use the database {self.name}: {exc}") from exc
        except StoreError:
            self.close()
            raise

    def _connection(self) -> "psycopg.Connection[Row]":
        """The open connection, or a new one if the back-off allows.

        Raises:
            StoreError: none is open, and PostgreSQL is unreachable or it is not yet time to try.
        """
        conn = self._conn
        if conn is not None and not conn.broken and not conn.closed:
            return conn
        if conn is not None:
            self._lose()
        now = time.monotonic()
        if now < self._retry_at:
            raise StoreError(
                f"PostgreSQL at {self.name} is unreachable; trying again in {self._retry_at - now:.1f} s"
            )
        try:
            self._conn = psycopg.connect(self._conninfo)
        except psycopg.OperationalError as exc:
            self._retry_at = now + self._backoff_s
            self._backoff_s = min(2 * self._backoff_s, RECONNECT_MAX_S)
            reason = " ".join(line.strip() for line in str(exc).splitlines())  # libpq's, on one line
            log.warning("cannot reach PostgreSQL at %s: %s", self.name, reason)
            raise StoreError(f"PostgreSQL at {self.name} is unreachable: {reason}") from exc
        if self._lost:
            log.info("connected to PostgreSQL at %s again", self.name)
        self._backoff_s, self._lost = RECONNECT_FIRST_S, False
        return self._conn

    def _lose(self) -> None:
        """Drop a dead connection: the next statement makes a new one, at once the first time."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            if not self._lost:
                log.error("lost the connection to PostgreSQL at %s", self.name)
            self._lost, self._retry_at = True, 0.0

    def _dead(self, conn: "psycopg.Connection[Row]") -> bool:
        if conn.broken or conn.closed:
            self._lose()
            return True
        return False

    def _run(self, sql: str, args: Sequence[object]) -> "psycopg.Cursor[Row]":
        conn = self._connection()
        first = conn.info.transaction_status is TransactionStatus.IDLE
        query, params = _dialect(sql), tuple(args) or None  # None: a lone % is not a placeholder
        try:
            return conn.execute(query, params)
        except psycopg.OperationalError:
            if not (self._dead(conn) and first):
                raise
        # Found dead before this transaction sent anything (PostgreSQL restarted while we were idle).
        return self._connection().execute(query, params)

    def begin(self) -> None:
        """psycopg opens the transaction with its first statement; here, only connect if need be."""
        self._connection()

    def commit(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            conn.commit()
        except psycopg.OperationalError as exc:
            if self._dead(conn):
                raise UncertainCommitError(f"lost PostgreSQL at {self.name} during COMMIT: {exc}") from exc
            raise

    def rollback(self) -> None:
        conn = self._conn
        if conn is None or self._dead(conn):
            return
        try:
            conn.rollback()
        except psycopg.OperationalError:
            self._dead(conn)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        return self._run(sql, args).rowcount

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return self._run(sql, args).fetchall()

    def lock_schema(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))

    def schema_version(self) -> int:
        ((exists,),) = self.rows("SELECT to_regclass('schema_version') IS NOT NULL")
        return int(self.rows("SELECT version FROM schema_version")[0][0]) if exists else 0

    def set_schema_version(self, version: int) -> None:
        self.execute("UPDATE schema_version SET version = ?", (version,))


def postgres_store(url: str, retention: Retention = KEEP_EVERYTHING) -> Store:
    """The store in the PostgreSQL database at ``url`` (see ``PostgresDatabase``)."""
    return Store(PostgresDatabase(url), retention)


@functools.cache
def _dialect(sql: str) -> bytes:
    """``Store``'s ``?`` placeholders as psycopg's ``%s`` (its SQL has no literal ``?`` or ``%``)."""
    return sql.replace("?", "%s").encode()


def _redacted(params: dict[str, Any]) -> str:
    """The URL without its password, for messages and logs."""
    user = f"{params['user']}@" if params.get("user") else ""
    port = f":{params['port']}" if params.get("port") else ""
    return f"postgresql://{user}{params.get('host', '')}{port}/{params.get('dbname', '')}"
