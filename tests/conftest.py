"""Fixtures: a real server on 127.0.0.1 (in-process or as a subprocess) and clients.

The launchers live in tests/support (the benchmarks use them too); these are
thin wrappers that close whatever a test started.
"""

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from signaling_server.app import RunningServer

from .stores import postgres
from .support import postgres as pg
from .support.media_site import MediaServers, media_servers
from .support.media_site import missing as media_site_missing
from .support.ports import free_port
from .support.redis import Redis
from .support.server import ServerProcess, in_process_server, in_process_service
from .wsclient import Client

__all__ = ["ClientFactory", "ServerFactory", "ServerProcess", "free_port", "postgres"]
"""``ServerProcess`` and ``free_port`` are re-exported for the tests that import them from here;
``postgres`` (tests/stores.py) is the cluster the two-instance services use."""

ServerFactory = Callable[..., Awaitable[RunningServer]]
ClientFactory = Callable[..., Awaitable[Client]]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module with ``TWO_INSTANCES_TOO = True`` runs its server tests on a service of two instances too."""
    if "deployment" in metafunc.fixturenames and getattr(metafunc.module, "TWO_INSTANCES_TOO", False):
        alone = metafunc.definition.get_closest_marker("one_instance") is not None
        metafunc.parametrize("deployment", ["one"] if alone else ["one", "two"], indirect=True)


@pytest.fixture
def deployment(request: pytest.FixtureRequest) -> str:
    """``one`` server, or ``two`` instances on Redis and PostgreSQL behind HAProxy (issue 11)."""
    return getattr(request, "param", "one")


@pytest.fixture
async def make_server(
    tmp_path: Path, deployment: str, request: pytest.FixtureRequest
) -> AsyncIterator[ServerFactory]:
    """Start in-process servers (``ServerConfig`` fields as keywords) sharing one data folder.

    On ``two`` instances, each server made is a service of its own, on one
    Redis and one database: what the test gets is its first instance, with
    the load balancer's URL.
    """
    async with contextlib.AsyncExitStack() as running:
        if deployment == "two":
            cluster: pg.Postgres = request.getfixturevalue("postgres")
            (tmp_path / "redis").mkdir()
            redis = running.enter_context(Redis(tmp_path / "redis"))
            database = running.enter_context(cluster.database())
        services = itertools.count()

        async def make(max_db_pages: int | None = None, **overrides: Any) -> RunningServer:
            if deployment == "two":
                folder = tmp_path / f"service-{next(services)}"
                folder.mkdir()
                return await running.enter_async_context(
                    in_process_service(folder, redis.url, database, **overrides)
                )
            server = in_process_server(tmp_path / "data", max_db_pages=max_db_pages, **overrides)
            return await running.enter_async_context(server)

        yield make


@pytest.fixture
async def server(make_server: ServerFactory) -> RunningServer:
    return await make_server()


@pytest.fixture
async def connect(server: RunningServer) -> AsyncIterator[ClientFactory]:
    """Open clients to ``server``; all are closed at the end."""
    clients: list[Client] = []

    async def make(url: str | None = None, **kw: Any) -> Client:
        client = await Client.open(url or server.url, **kw)
        clients.append(client)
        return client

    yield make
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Make (not start) ``python -m signaling_server`` children; the ones still running are stopped."""
    with contextlib.ExitStack() as made:

        def make(*args: str, port: int | None = None) -> ServerProcess:
            proc = ServerProcess(tmp_path, *args, port=port or 0)
            made.callback(proc.close)
            return proc

        yield make


@pytest.fixture
async def media_server(tmp_path: Path) -> AsyncIterator[MediaServers]:
    """Janus in a namespace beside this one; ``await media_server(mesh_limit=N)`` starts a server using it.

    Skipped where the namespaces or Janus cannot be had (not root, no ``ip``, no ``janus``).
    """
    if why := media_site_missing():
        pytest.skip(why)
    async with media_servers(tmp_path) as servers:
        yield servers
