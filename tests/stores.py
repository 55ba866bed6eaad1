"""The store on each engine, for the tests that must hold on both: SQLite in a file, PostgreSQL.

A test module imports ``postgres`` and ``store_at`` (or ``database_flags``,
for a server process): either runs the test once per engine, on a new
database each time. The PostgreSQL cluster
is started once per module, and only if a test there asks for it (about a
second: ``initdb`` is most of it); its tests are skipped, saying why, where
it cannot run.
"""

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from signaling_server.app import DB_NAME
from signaling_server.sqlite_store import SqliteDatabase
from signaling_server.store import KEEP_EVERYTHING, Database, Retention, Store

from .support import postgres as pg

ENGINES = ("sqlite", "postgresql")


@pytest.fixture(scope="module")
def postgres() -> Iterator[pg.Postgres]:
    """A private PostgreSQL cluster for this module's tests; each takes a database of its own."""
    reason = pg.missing()
    if reason is not None:
        pytest.skip(reason)
    with pg.cluster() as cluster:
        yield cluster


@dataclass(frozen=True, slots=True)
class StoreAt:
    """Where a test's database is; each ``open`` is a new connection, as a restarted server makes."""

    engine: str
    path: Path
    url: str | None
    another: "Callable[[], StoreAt]"
    """A new, empty database on the same engine."""

    def database(self, up_to: int | None = None) -> Database:
        if self.url is None:
            return SqliteDatabase(self.path, up_to=up_to)
        from signaling_server.pg_store import PostgresDatabase

        return PostgresDatabase(self.url, up_to=up_to)

    def open(self, retention: Retention = KEEP_EVERYTHING) -> Store:
        return Store(self.database(), retention)


@pytest.fixture(params=ENGINES)
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreAt]:
    """A new, empty database on each engine in turn (and more on demand, all removed at the end)."""
    engine: str = request.param
    cluster: pg.Postgres | None = request.getfixturevalue("postgres") if engine == "postgresql" else None
    numbers = itertools.count()
    with contextlib.ExitStack() as made:

        def another() -> StoreAt:
            path = tmp_path / f"{next(numbers)}" / DB_NAME
            url = None if cluster is None else made.enter_context(cluster.database())
            return StoreAt(engine, path, url, another)

        yield another()


@pytest.fixture(params=ENGINES)
def database_flags(request: pytest.FixtureRequest) -> Iterator[tuple[str, ...]]:
    """A server's flags for a new, empty database on each engine in turn (SQLite: none, --data-dir's file)."""
    if request.param == "sqlite":
        yield ()
        return
    cluster: pg.Postgres = request.getfixturevalue("postgres")
    with cluster.database() as url:
        yield ("--database", url)
