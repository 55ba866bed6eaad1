"""Fixtures: a real server on 127.0.0.1 (in-process or as a subprocess) and clients.

The launchers live in tests/support (the benchmarks use them too); these are
thin wrappers that close whatever a test started.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from signaling_server.app import RunningServer

from .support.ports import free_port
from .support.server import ServerProcess, in_process_server
from .wsclient import Client

__all__ = ["ClientFactory", "ServerFactory", "ServerProcess", "free_port"]
"""``ServerProcess`` and ``free_port`` are re-exported for the tests that import them from here."""

ServerFactory = Callable[..., Awaitable[RunningServer]]
ClientFactory = Callable[..., Awaitable[Client]]


@pytest.fixture
async def make_server(tmp_path: Path) -> AsyncIterator[ServerFactory]:
    """Start in-process servers (``ServerConfig`` fields as keywords) sharing one data folder."""
    async with contextlib.AsyncExitStack() as running:

        async def make(max_db_pages: int | None = None, **overrides: Any) -> RunningServer:
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
