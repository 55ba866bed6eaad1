"""The parent's side: the server under test, the agent pool, /proc readings and percentiles.

Everything here exists so that each scenario can say "a fresh server with
these flags, these agents" and always get both stopped again, also when a
scenario fails half-way (the machine is shared; a leaked server or agent
would skew everyone's numbers). The server is started by the launcher the
tests use (tests/support/server.py).
"""

import contextlib
import multiprocessing
import multiprocessing.connection
import sys
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from vxbench_agent import Collect, Collected, Command, Join, Joined, Pace, Paced, Stop, Usage, agent_main
from vxbench_machine import CLOCK_TICKS, machine_cpu

from signaling_server.hub import MAX_UNJOINED_PER_ADDRESS
from tests.support.server import HOST, PYTHON_SERVER, ServerProcess, child_server

T = TypeVar("T")
Result = dict[str, Any]


FLOOR = (sys.executable, str(Path(__file__).resolve().parent / "vxbench_floor.py"))
"""The stand-in relay (see vxbench_floor), started in place of the server."""


class Server:
    """The server (or the floor relay) a scenario runs, with /proc readings of it."""

    def __init__(self, process: ServerProcess) -> None:
        self.process = process

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> tuple[float, float]:
        """CPU seconds of the whole server and of its main (event-loop) thread, from /proc."""
        return _stat_cpu(f"/proc/{self.pid}/stat"), _stat_cpu(f"/proc/{self.pid}/task/{self.pid}/stat")

    def rss_kib(self) -> int:
        return _status_kib(self.pid, "VmRSS")

    def nofile(self) -> str:
        """The server's 'Max open files' soft limit, to show the raised limit reached it."""
        for line in Path(f"/proc/{self.pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                return line.split()[3]
        return "?"


def _stat_cpu(path: str) -> float:
    """utime + stime; split after the ``)`` since the command name may hold spaces."""
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


class Agents:
    """``n`` agent processes (fork), each with a command pipe; stopped on exit whatever happened."""

    def __init__(self, n: int, port: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self._pipes: list[multiprocessing.connection.Connection] = []
        self._procs: list[multiprocessing.process.BaseProcess] = []
        for _ in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=agent_main, args=(child, HOST, port), daemon=True)
            proc.start()
            child.close()
            self._pipes.append(parent)
            self._procs.append(proc)

    def __len__(self) -> int:
        return len(self._pipes)

    def __enter__(self) -> "Agents":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def send(self, i: int, command: Command) -> None:
        self._pipes[i].send(command)

    def reply(self, i: int, timeout: float = 600) -> Any:
        """The agent's answer; its traceback becomes ours."""
        if not self._pipes[i].poll(timeout):
            raise TimeoutError(f"agent {i} did not answer within {timeout:.0f} s")
        status, value = self._pipes[i].recv()
        if status != "ok":
            raise RuntimeError(f"agent {i} failed:\n{value}")
        return value

    def call(self, i: int, command: Command, kind: type[T]) -> T:
        self.send(i, command)
        value = self.reply(i)
        assert isinstance(value, kind)
        return value

    def call_all(self, commands: Sequence[Command], kind: type[T]) -> list[T]:
        """One command per agent, run concurrently."""
        for i, command in enumerate(commands):
            self.send(i, command)
        values = [self.reply(i) for i in range(len(commands))]
        assert all(isinstance(v, kind) for v in values)
        return values

    def join(self, members: Sequence[Sequence[tuple[str, str]]], timed: bool = False) -> list[Joined]:
        # All agents connect from one address, which may have only so many connections waiting to join.
        concurrency = max(1, MAX_UNJOINED_PER_ADDRESS // len(members))
        return self.call_all([Join(list(m), concurrency, timed) for m in members], Joined)

    def pace(self, i: int, command: Pace) -> Paced:
        return self.call(i, command, Paced)

    def collect(self, step: int, expected: Sequence[int], timeout: float) -> list[Collected]:
        return self.call_all([Collect(step, e, timeout) for e in expected], Collected)

    def cpu(self) -> float:
        """Sum of every agent's CPU seconds so far."""
        return sum(self.call_all([Usage()] * len(self), float))

    def close(self) -> None:
        for i, proc in enumerate(self._procs):
            if proc.is_alive():
                with contextlib.suppress(OSError, RuntimeError, TimeoutError):
                    self.send(i, Stop())
                    self.reply(i, timeout=10)
        for proc in self._procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
        for pipe in self._pipes:
            pipe.close()


@dataclass
class Meter:
    """CPU of server (all threads, and the loop thread), generator and everything else over a stretch."""

    server: Server
    agents: Agents
    wall: float = 0.0
    server_cpu: tuple[float, float] = (0.0, 0.0)
    agents_cpu: float = 0.0
    machine: tuple[float, float] = (0.0, 0.0)

    def start(self) -> "Meter":
        self.server_cpu, self.agents_cpu = self.server.cpu(), self.agents.cpu()
        self.wall, self.machine = time.perf_counter(), machine_cpu()
        return self

    def read(self, extra_generator_cpu: float = 0.0) -> dict[str, float]:
        """Percentages of one core; ``others_pct`` is machine busy time minus server and generator."""
        wall = time.perf_counter() - self.wall
        busy, steal = machine_cpu()
        total, main = self.server.cpu()
        server = total - self.server_cpu[0]
        generator = self.agents.cpu() - self.agents_cpu + extra_generator_cpu

        def pct(seconds: float) -> float:
            return round(100 * seconds / wall, 1)

        return {
            "wall_s": round(wall, 3),
            "server_cpu_s": round(server, 3),
            "server_cpu_pct": pct(server),
            "server_loop_thread_pct": pct(main - self.server_cpu[1]),
            "generator_cpu_s": round(generator, 3),
            "generator_cpu_pct": pct(generator),
            "others_pct": pct(max(0.0, busy - self.machine[0] - server - generator)),
            "steal_pct": pct(steal - self.machine[1]),
        }


def latency_summary(chunks: Sequence[bytes]) -> dict[str, float]:
    """p50/p99/max in milliseconds over every agent's latencies (nearest rank)."""
    values = array("q")
    for chunk in chunks:
        values.frombytes(chunk)
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))] / 1e6

    return {"count": len(ordered), "p50_ms": rank(0.50), "p99_ms": rank(0.99), "max_ms": ordered[-1] / 1e6}


def split(items: Sequence[T], n: int) -> list[list[T]]:
    """Deal ``items`` round-robin to ``n`` agents."""
    return [list(items[i::n]) for i in range(n)]


@contextlib.contextmanager
def running(
    flags: Sequence[str], agents: int, command: Sequence[str] = PYTHON_SERVER
) -> Iterator[tuple[Server, Agents]]:
    """A fresh server and ``agents`` generator processes, both always stopped."""
    with child_server(*flags, command=command) as process, Agents(agents, process.port) as pool:
        yield Server(process), pool
