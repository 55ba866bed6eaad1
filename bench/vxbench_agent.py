"""Load-generator processes: each hosts many clients on uvloop and obeys commands over a pipe.

Why processes: the server gets one core of this 2-core machine, and the
clients must not share one Python interpreter with anything the parent does
(sorting latencies, reading /proc). Why commands: one agent type serves every
scenario, and the parent keeps the timeline (who joins, who sends, when a step
ends) in plain sequential code.

Latencies are receive ``time.time_ns()`` minus the send ``time.time_ns()``
written into the message, so sender and receivers may live in different
processes; they are kept per step in ``array('q')`` and shipped as bytes.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import multiprocessing.connection
import os
import resource
import time
import traceback
from array import array
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import uvloop
from vxbench_wire import MARK, STAMP, WsClient, blocking_open, frame


@dataclass(frozen=True)
class Join:
    """Connect and join each ``(room, username)``; ``timed`` joins one by one and times each."""

    members: list[tuple[str, str]]
    concurrency: int = 32
    timed: bool = False


@dataclass(frozen=True)
class Joined:
    peer_ids: list[str]
    latencies_ns: list[int]


@dataclass(frozen=True)
class Pace:
    """Send ``rate`` timed messages per second for ``duration`` s, round-robin over ``senders``.

    A sender is ``(client index, signal target peer id or None for chat)``.
    """

    senders: list[tuple[int, str | None]]
    rate: float
    duration: float
    step: int


@dataclass(frozen=True)
class Paced:
    sent: int
    elapsed_s: float


@dataclass(frozen=True)
class Collect:
    """Wait for ``expected`` deliveries of ``step``; give up after ``idle_s`` idle or ``timeout``."""

    step: int
    expected: int
    timeout: float
    idle_s: float = 1.0


@dataclass(frozen=True)
class Collected:
    received: int
    latencies: bytes
    closed_clients: int


@dataclass(frozen=True)
class Usage:
    """This process's CPU seconds (user + system, every thread)."""


@dataclass(frozen=True)
class Stop:
    pass


Command = Join | Pace | Collect | Usage | Stop


class _Sink:
    """Minimal receive work: find the mark, slice two fixed-width integers, append one."""

    __slots__ = ("counts", "latencies")

    def __init__(self) -> None:
        self.latencies: defaultdict[int, array[int]] = defaultdict(lambda: array("q"))
        self.counts: defaultdict[int, int] = defaultdict(int)

    def __call__(self, payload: bytes, now: int) -> None:
        i = payload.find(MARK)
        if i < 0:
            return
        step = int(payload[i + 3 : i + 6])
        self.latencies[step].append(now - int(payload[i + 7 : i + 26]))
        self.counts[step] += 1


class Agent:
    def __init__(self, conn: multiprocessing.connection.Connection, host: str, port: int) -> None:
        self.conn, self.host, self.port = conn, host, port
        self.sink = _Sink()
        self.clients: list[WsClient] = []

    async def serve(self) -> None:
        """Run commands in order until ``Stop``; report failures instead of dying silently.

        The pipe is watched by the loop itself (``add_reader``): a helper thread
        blocked on it measurably delayed the loop's wake-ups.
        """
        loop = asyncio.get_running_loop()
        readable = asyncio.Event()
        loop.add_reader(self.conn.fileno(), readable.set)
        os.set_blocking(
            self.conn.fileno(), True
        )  # add_reader made it non-blocking; big replies need blocking
        while True:
            await readable.wait()
            readable.clear()
            while self.conn.poll():
                command: Command = self.conn.recv()
                try:
                    result = await self.run(command)
                except Exception:
                    self.conn.send(("error", traceback.format_exc()))
                else:
                    self.conn.send(("ok", result))
                if isinstance(command, Stop):
                    loop.remove_reader(self.conn.fileno())
                    return

    async def run(self, command: Command) -> object:
        if isinstance(command, Join):
            return await self.join(command)
        if isinstance(command, Pace):
            return await self.pace(command)
        if isinstance(command, Collect):
            return await self.collect(command)
        if isinstance(command, Usage):
            usage = resource.getrusage(resource.RUSAGE_SELF)
            return usage.ru_utime + usage.ru_stime
        for client in self.clients:
            client.abort()
        return None

    async def join(self, command: Join) -> Joined:
        """Connect (untimed) then join; keep the clients open for later commands."""
        members = command.members
        opened: list[WsClient | None] = [None] * len(members)
        peer_ids = [""] * len(members)
        latencies: list[int] = []
        next_index = iter(range(len(members)))

        async def worker() -> None:
            for k in next_index:
                client = opened[k] = await WsClient.open(self.host, self.port, self.sink)
                room, name = members[k]
                join = json.dumps({"type": "join", "room": room, "username": name}).encode()
                started = time.perf_counter_ns()
                reply = await client.request(join)
                if command.timed:
                    latencies.append(time.perf_counter_ns() - started)
                message = json.loads(reply)
                if message.get("type") != "joined":
                    raise RuntimeError(f"join {room}/{name} refused: {message}")
                peer_ids[k] = message["self"]["id"]

        workers = 1 if command.timed else command.concurrency
        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            self.clients += [client for client in opened if client is not None]
        return Joined(peer_ids, latencies)

    async def pace(self, command: Pace) -> Paced:
        """Send what is due, writing each sender's due messages in one go; stamp each at build time."""
        templates = [(self.clients[i], _template(target)) for i, target in command.senders]
        step, rate, n = command.step, command.rate, len(templates)
        started = time.perf_counter()
        sent = 0
        while True:
            elapsed = time.perf_counter() - started
            if elapsed >= command.duration:
                break
            due = min(int(elapsed * rate) + 1, int(command.duration * rate + 0.999999)) - sent
            if due > 0:
                batches: dict[int, list[bytes]] = defaultdict(list)
                for k in range(sent, sent + due):
                    client_index = k % n
                    batches[client_index].append(frame(templates[client_index][1] % (step, time.time_ns())))
                for client_index, frames in batches.items():
                    templates[client_index][0].write(b"".join(frames))
                sent += due
            # Until the next message is due, but >= 1 ms (uvloop timers have ms resolution; less spins).
            await asyncio.sleep(max(0.001, (sent / rate) - (time.perf_counter() - started)))
        return Paced(sent, time.perf_counter() - started)

    async def collect(self, command: Collect) -> Collected:
        """Wait for a step's deliveries; an overloaded server is still draining while counts grow."""
        counts = self.sink.counts
        deadline = time.monotonic() + command.timeout
        last, last_change = -1, time.monotonic()
        while counts[command.step] < command.expected and time.monotonic() < deadline:
            if counts[command.step] != last:
                last, last_change = counts[command.step], time.monotonic()
            elif time.monotonic() - last_change > command.idle_s:
                break
            await asyncio.sleep(0.01)
        latencies = self.sink.latencies.pop(command.step, array("q"))
        received = counts.pop(command.step, 0)
        return Collected(received, latencies.tobytes(), sum(c.closed for c in self.clients))


def _template(target: str | None) -> bytes:
    """A message with a ``%d`` for the step and one for the send time."""
    if target is None:
        return b'{"type":"chat","text":"' + STAMP + b'"}'
    return (
        b'{"type":"signal","target":"' + target.encode() + b'","payload":{"kind":"candidate",'
        b'"candidate":"' + STAMP + b'","sdpMid":"0","sdpMLineIndex":0}}'
    )


def agent_main(conn: multiprocessing.connection.Connection, host: str, port: int) -> None:
    """Process entry point."""
    uvloop.run(Agent(conn, host, port).serve())


# --- the flooder -----------------------------------------------------------------

GARBAGE = b"this is not JSON, just noise from a misbehaving client"


def flooder_main(
    host: str,
    port: int,
    ready: Any,
    go: Any,
    stop: Any,
    results: multiprocessing.connection.Connection,
) -> None:
    """Join, then write pre-framed non-JSON text as fast as TCP takes it, until ``stop``.

    Blocking ``sendall`` of a 256 KiB block of ~60-byte frames keeps the
    flooder's own CPU small: the server sets the pace by how fast it reads.
    """
    sock = blocking_open(host, port)
    sock.sendall(frame(b'{"type":"join","room":"flood","username":"flooder"}'))
    seen = b""
    while b'"joined"' not in seen:
        seen += sock.recv(65536)
    one = frame(GARBAGE)
    block = one * (256 * 1024 // len(one))
    per_block = len(block) // len(one)
    ready.set()
    go.wait()
    sent, outcome, started = 0, "still connected", time.perf_counter()
    try:
        while not stop.is_set():
            sock.sendall(block)
            sent += per_block
    except OSError as exc:
        outcome = f"disconnected ({type(exc).__name__})"
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.send((sent, elapsed, usage.ru_utime + usage.ru_stime, outcome))
    sock.close()


def free_socket_limit() -> int:
    """Raise RLIMIT_NOFILE to the hard limit (inherited by agents and the server)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
