"""Fixtures: a real server on 127.0.0.1 (in-process or as a subprocess) and clients."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from signaling_server.app import RunningServer, start
from signaling_server.config import ServerConfig

from .wsclient import Client

ServerFactory = Callable[..., Awaitable[RunningServer]]
ClientFactory = Callable[..., Awaitable[Client]]


@pytest.fixture
async def make_server(tmp_path: Path) -> AsyncIterator[ServerFactory]:
    """Start servers on 127.0.0.1 with a free port; all are closed at the end."""
    running: list[RunningServer] = []

    async def make(max_db_pages: int | None = None, **overrides: Any) -> RunningServer:
        config = replace(ServerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "data"), **overrides)
        server = await start(config, max_db_pages=max_db_pages)
        running.append(server)
        return server

    yield make
    for server in running:
        with contextlib.suppress(Exception):
            await server.close()


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


class ServerProcess:
    """``python -m signaling_server`` as a child process, as operators run it."""

    def __init__(self, data_dir: Path, port: int, *args: str) -> None:
        self.data_dir, self.port, self.args = data_dir, port, args
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> None:
        cmd = [sys.executable, "-m", "signaling_server", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--data-dir", str(self.data_dir), *self.args]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=os.environ)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1).close()
                return
            time.sleep(0.05)
        raise RuntimeError("server did not come up")

    def kill(self, sig: int = signal.SIGKILL) -> bytes:
        assert self.proc is not None
        self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=10)
        return err

    async def stop(self, sig: int) -> bytes:
        """Signal the server and wait for it without blocking the test's clients."""
        return await asyncio.to_thread(self.kill, sig)


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    procs: list[ServerProcess] = []

    def make(*args: str, port: int | None = None) -> ServerProcess:
        proc = ServerProcess(tmp_path / "data", port or free_port(), *args)
        procs.append(proc)
        return proc

    yield make
    for proc in procs:
        if proc.proc is not None and proc.proc.poll() is None:
            proc.kill()


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick, released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
