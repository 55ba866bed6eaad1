"""The real signaling server on 127.0.0.1: in this process's loop, or as a child process.

In-process is quick and lets a test reach the server's objects; a child
process is what operators run, can be killed with any signal and restarted
on the same port, and keeps its CPU out of a benchmark's figures.
"""

import asyncio
import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from signaling_server.addresses import network
from signaling_server.app import RunningServer, start
from signaling_server.config import ServerConfig

from .haproxy import Haproxy

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parents[2]
PYTHON_SERVER = (sys.executable, "-m", "signaling_server")
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 15.0
LISTENING = re.compile(rb"listening on (wss?://[^\s:/]+:(\d+)/\S*)")
"""The one line the server prints on stdout once it accepts connections (signaling_server/__main__.py)."""


@contextlib.asynccontextmanager
async def in_process_server(
    data_dir: Path | None = None, *, max_db_pages: int | None = None, **overrides: Any
) -> AsyncIterator[RunningServer]:
    """The server on the running loop, on a port the kernel picks; closed at the end.

    Args:
        data_dir: where its database lives; a temporary folder if None.
        overrides: ``ServerConfig`` fields (``grace_s=0.5``, ``port=...``).
    """
    with contextlib.ExitStack() as folders:
        if data_dir is None:
            data_dir = Path(folders.enter_context(tempfile.TemporaryDirectory(prefix="vx-server-")))
        config = replace(ServerConfig(host=HOST, port=0, data_dir=data_dir), **overrides)
        server = await start(config, max_db_pages=max_db_pages)
        try:
            yield server
        finally:
            await server.close()


@dataclass
class Fronted(RunningServer):
    """One instance of a service of several, whose ``url`` is the load balancer's in front of them all."""

    front: str = ""

    @property
    def url(self) -> str:
        return self.front


@contextlib.asynccontextmanager
async def in_process_service(
    tmp: Path, redis_url: str, database: str, count: int = 2, **overrides: Any
) -> AsyncIterator[Fronted]:
    """``count`` instances on this loop sharing ``redis_url`` and ``database``, behind HAProxy (round robin).

    What a test gets is the first instance, reached through the proxy: its
    core holds the whole service's rooms, as every instance's does.
    """
    async with contextlib.AsyncExitStack() as stack:
        shared = {"redis": redis_url, "database": database, "trust_proxy": (network(HOST),), **overrides}
        instances = [
            await stack.enter_async_context(in_process_server(tmp / f"instance-{n}", **shared))
            for n in range(count)
        ]
        (tmp / "haproxy").mkdir()
        backends = [(HOST, i.port) for i in instances]
        # Instances sharing this loop miss checks while a test floods them: 2 s before one is cut off.
        proxy = stack.enter_context(Haproxy(tmp / "haproxy", backends, fall=10, http=True))
        await asyncio.to_thread(_all_up, proxy, count)
        first = instances[0]
        yield Fronted(**{f.name: getattr(first, f.name) for f in fields(first)}, front=proxy.url)


def _all_up(proxy: Haproxy, count: int) -> None:
    for index in range(count):
        proxy.wait_state(index, "UP")


class ServerProcess:
    """The server as a child process, started, signalled and restarted on one port.

    ``command`` runs it: ``python -m signaling_server`` by default, a frozen
    ``voxroom-server``, either behind a prefix such as ``ip netns exec NAME``,
    or anything that takes the same options and prints the same line. It is
    given ``--host 127.0.0.1 --port PORT --data-dir WORKDIR/data`` and
    ``args``. Started means it printed ``listening on URL``: a first start on
    port 0 learns the kernel's port from that line, later starts reuse it.
    Its stderr goes to a file in ``workdir`` (a pipe nobody reads would
    block its logging once full); ``kill`` returns what it wrote.
    """

    def __init__(
        self, workdir: Path, *args: str, port: int = 0, command: Sequence[str] = PYTHON_SERVER
    ) -> None:
        self.workdir, self.args, self.port, self.command = workdir, args, port, tuple(command)
        self.data_dir = workdir / "data"
        fd, log = tempfile.mkstemp(prefix="server-", suffix=".log", dir=workdir)
        os.close(fd)
        self.log_path = Path(log)
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Start it and wait until it listens; stopped again (and its log raised) if it does not."""
        cmd = [*self.command, "--host", HOST, "--port", str(self.port), "--data-dir", str(self.data_dir)]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen([*cmd, *self.args], cwd=REPO, stdout=subprocess.PIPE, stderr=log)
        try:
            listening = self._wait_listening(time.monotonic() + timeout_s)
        except BaseException:
            self.kill()
            raise
        self.url, self.port = listening.group(1).decode(), int(listening.group(2))

    def _wait_listening(self, deadline: float) -> re.Match[bytes]:
        assert self.proc is not None
        assert self.proc.stdout is not None
        fd, seen = self.proc.stdout.fileno(), b""
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([fd], [], [], min(left, 0.1))
            chunk = os.read(fd, 4096) if ready else b""
            seen += chunk
            if match := LISTENING.search(seen):
                return match
            if (ready and not chunk) or self.proc.poll() is not None:
                break
        raise RuntimeError(f"the server did not start; stdout {seen!r}, stderr:\n{self.log_tail()}")

    def kill(self, sig: int = signal.SIGKILL, timeout_s: float = STOP_TIMEOUT_S) -> bytes:
        """Send ``sig`` and wait for the exit (SIGKILL after ``timeout_s``); return its stderr.

        A hang ends in SIGKILL, so ``proc.returncode`` then says -9.
        """
        assert self.proc is not None, "not started"
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.log_path.read_bytes()

    async def stop(self, sig: int = signal.SIGTERM) -> bytes:
        """``kill`` without blocking the loop (a test's clients live on it)."""
        return await asyncio.to_thread(self.kill, sig)

    def close(self) -> None:
        """SIGTERM if it still runs: it closes its connections and flushes its store."""
        if self.running:
            self.kill(signal.SIGTERM)

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def health(self) -> dict[str, Any]:
        """``GET /health``, as a load balancer asks it."""
        with urllib.request.urlopen(f"http://{HOST}:{self.port}/health", timeout=10) as response:
            answer: dict[str, Any] = json.load(response)
            return answer


@contextlib.contextmanager
def child_server(*args: str, command: Sequence[str] = PYTHON_SERVER) -> Iterator[ServerProcess]:
    """A started ``ServerProcess`` in a temporary folder, stopped and removed at the end."""
    with tempfile.TemporaryDirectory(prefix="vx-server-") as workdir:
        server = ServerProcess(Path(workdir), *args, command=command)
        server.start()
        try:
            yield server
        finally:
            server.close()
