"""Rooms through Janus against the mesh, with voxroom's own parts: server, engines, media link.

Usage (as root): ``.venv/bin/python bench/media_bench.py [--json OUT]``; about 10 minutes.
Prints a markdown report.

One run, side by side: Janus 1.1.2 in a network namespace beside this one
(tests/support/media_site.py, as the tests' ``media_server`` fixture), two
voxroom-servers in this process on 127.0.0.1 (one with no media server: the
mesh; one with ``--media-server``, ``--mesh-limit 0``: every call through
Janus, ``--max-room-size 200``), and bench/media_worker.py processes, each
running voxroom ``Engine``s on the 20 ms paced clock as voxroom-bot does.

- Rooms (``--rooms``): N processes of one engine each, T of them playing a
  tone and the rest muted (the engine then pauses: one frame in ten). Once every
  engine hears the N-1 others (or ``CONNECT_S`` ran out: said in the table),
  ``SETTLE_S``, then a ``WINDOW_S`` window: each process's CPU (getrusage),
  its bytes on the wire (aiortc's transport stats over all its connections),
  Janus's CPU from /proc/PID/stat, the machine's busy time.
- Mouth-to-ear: two engines in this process (one clock), clicks captured
  into one and stamped at the other's playout (bench/engine_scenarios.py's
  call), through each server in turn, one fresh call per clock phase.
- Joining a big room: ``--join-room`` engines already in a room through Janus,
  ``--join-voices`` of them in the call (a process each, 3 talking) and the
  rest with voice off (``--per-process`` to a process), then one more joins
  from a process of its own, talking: from its ``join`` sent to its first audible audio and to
  hearing every voice, and to its voice reaching the others in the call.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # a script in bench/: the packages live one level up

import msgspec  # noqa: E402
from engine_clicks import ClickTrack, Onsets, pair  # noqa: E402
from engine_scenarios import m2e_call  # noqa: E402
from janus_bench import proc_cpu_s  # noqa: E402
from vxbench_machine import machine, machine_cpu  # noqa: E402

from client_desktop.engine.engine import Engine  # noqa: E402
from client_desktop.engine.pcm import FRAME_S  # noqa: E402
from signaling_server.app import RunningServer  # noqa: E402
from tests.support.media_site import API_SECRET, janus_beside_us, missing  # noqa: E402
from tests.support.server import in_process_server  # noqa: E402

WORKER = REPO / "bench" / "media_worker.py"
WINDOW_S = 10.0
SETTLE_S = 3.0
CONNECT_S = 90.0
"""For a room's engines to hear each other; past it the window is taken anyway and the shortfall said."""
GAP_S = 3.0
"""Between scenarios: the last room's connections close outside the next window."""
ASK_S = 30.0
WORKER_MAX_S = 400.0
POLL_S = 0.5
MEDIA_ROOM_SIZE = 200
DEFAULT_ROOMS = ["mesh:4:3", "mesh:8:3", "mesh:16:3", "mesh:4:4", "mesh:8:8"]
DEFAULT_ROOMS += [
    "janus:4:3",
    "janus:8:3",
    "janus:16:3",
    "janus:24:3",
    "janus:32:3",
    "janus:4:4",
    "janus:8:8",
]


class Room(msgspec.Struct):
    path: str
    n: int
    talkers: int
    heard_median: float
    """Voices each engine heard when the window began (N-1 when the call was whole)."""
    connect_s: float
    client_pct: list[float]
    up_kbps: list[float]
    down_kbps: list[float]
    janus_pct: float
    machine_pct: float
    loadavg: float


class Mouth(msgspec.Struct):
    path: str
    latencies_ms: list[float]
    clicks_sent: int
    playout_delay_ms: float | None


class Join(msgspec.Struct):
    already: int
    voices: int
    """Of ``already``, those in the call; the others joined with voice off."""
    per_process: int
    room_heard_median: float
    """Voices each of those in the call heard when the newcomer joined (of ``voices - 1``)."""
    audible_s: float | None
    heard_all_s: float | None
    voices_heard: int
    reached_median_s: float | None
    reached_max_s: float | None
    reached: int
    loadavg: float


class Worker:
    """A bench/media_worker.py process: asked one JSON line, answers one."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.joined: list[dict[str, Any]] = []

    @classmethod
    async def start(
        cls, url: str, room: str, name: str, index: int, engines: int, talkers: int, voice_off: int = 0
    ) -> "Worker":
        args = ["--url", url, "--room", room, "--name", name, "--index", str(index)]
        args += ["--engines", str(engines), "--talkers", str(talkers), "--voice-off", str(voice_off)]
        args += ["--max-s", str(WORKER_MAX_S)]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        return cls(proc)

    async def line(self) -> Any:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), ASK_S)
        if not raw:
            raise RuntimeError(f"media worker {self.proc.pid} ended (exit {self.proc.returncode})")
        return json.loads(raw)

    async def wait_joined(self, engines: int) -> None:
        while len(self.joined) < engines:
            self.joined.append(await self.line())

    async def ask(self, op: str) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op}).encode() + b"\n")
        await self.proc.stdin.drain()
        return await self.line()

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(OSError, RuntimeError):
                assert self.proc.stdin is not None
                self.proc.stdin.write(b'{"op": "quit"}\n')
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@contextlib.asynccontextmanager
async def workers() -> AsyncIterator[list[Worker]]:
    """Workers appended here are stopped at the end, also when the scenario failed."""
    started: list[Worker] = []
    try:
        yield started
    finally:
        await asyncio.gather(*(w.stop() for w in started))


async def statuses(started: Sequence[Worker]) -> list[dict[str, Any]]:
    return [s for each in await asyncio.gather(*(w.ask("status") for w in started)) for s in each]


async def heard_by_all(started: Sequence[Worker], want: int, timeout_s: float) -> list[dict[str, Any]]:
    """Poll until every engine with voice hears ``want`` voices, or ``timeout_s``; their last statuses."""
    deadline = time.monotonic() + timeout_s
    while True:
        now = [s for s in await statuses(started) if s["voice"]]
        if all(s["connected"] >= want for s in now) or time.monotonic() > deadline:
            return now
        await asyncio.sleep(POLL_S)


async def room(servers: dict[str, RunningServer], janus_pid: int, path: str, n: int, talkers: int) -> Room:
    name = f"{path}-{n}-{talkers}"
    async with workers() as started:
        t0 = time.monotonic()
        for i in range(n):
            started.append(await Worker.start(servers[path].url, name, f"e{i}", i, 1, int(i < talkers)))
        await asyncio.gather(*(w.wait_joined(1) for w in started))
        now = await heard_by_all(started, n - 1, CONNECT_S)
        connect_s = time.monotonic() - t0
        await asyncio.sleep(SETTLE_S)
        janus0, machine0 = proc_cpu_s(janus_pid), machine_cpu()[0]
        before = await asyncio.gather(*(w.ask("counters") for w in started))
        t_before = time.monotonic()
        await asyncio.sleep(WINDOW_S)
        after = await asyncio.gather(*(w.ask("counters") for w in started))
        span = time.monotonic() - t_before
        janus1, machine1 = proc_cpu_s(janus_pid), machine_cpu()[0]

    def rate(key: str, scale: float) -> list[float]:
        return [
            round(scale * (a[key] - b[key]) / (a["at"] - b["at"]), 1)
            for a, b in zip(after, before, strict=True)
        ]

    return Room(
        path,
        n,
        talkers,
        statistics.median(s["connected"] for s in now),
        round(connect_s, 1),
        rate("cpu_s", 100),
        rate("bytes_sent", 8 / 1000),
        rate("bytes_received", 8 / 1000),
        round(100 * (janus1 - janus0) / span, 1),
        round(100 * (machine1 - machine0) / span, 1),
        round(os.getloadavg()[0], 2),
    )


def heard_delays(engine: Engine) -> list[float]:
    """The playout delays of the peers the engine hears now: none at a moment it hears nobody (a loaded
    box's reconnect), which is skipped rather than fatal, its clicks then missing from the count heard."""
    stats = [engine.playout_stats(peer) for peer in engine.connected_peers]
    return [x.delay_ms for x in stats if x is not None]


async def mouth_to_ear(server: RunningServer, path: str, phases: int, clicks: int) -> Mouth:
    latencies: list[float] = []
    delays: list[float] = []
    sent = 0
    for i in range(phases):
        track = ClickTrack(clicks, random.Random(i))
        sent_at, heard_at = Onsets(), Onsets()
        room, phase_s = f"m2e-{path}-{i}", i * FRAME_S / phases
        sampled = await m2e_call(
            server.url, room, phase_s, track, sent_at, heard_at, connect_s=30.0, delays_of=heard_delays
        )
        delays += [d for d in sampled if d is not None]
        latencies += pair(sent_at.times, heard_at.times)
        sent += len(sent_at.times)
    return Mouth(
        path,
        [round(x * 1000, 2) for x in latencies],
        sent,
        round(statistics.median(delays), 1) if delays else None,
    )


async def join_big_room(server: RunningServer, already: int, voices: int, per_process: int) -> Join:
    """``already`` engines in a room, the first ``voices`` in the call (3 talking), then one more, talking.

    Each engine in the call has a process of its own, as each person has a machine: seven in one
    process receive 49 streams on one Python loop, which fell seconds behind (its sockets' queues
    full and dropping) and made the newcomer look heard late. The voice-off ones share processes."""
    name = f"join-{already}-{voices}"
    async with workers() as started:
        for first in range(voices):
            started.append(await Worker.start(server.url, name, f"p{first}", first, 1, int(first < 3)))
            await started[-1].wait_joined(1)
        for first in range(voices, already, per_process):
            engines = min(per_process, already - first)
            started.append(await Worker.start(server.url, name, f"p{first}", first, engines, 0, engines))
            await started[-1].wait_joined(engines)
        room_now = await heard_by_all(started, voices - 1, CONNECT_S)
        await asyncio.sleep(SETTLE_S)
        newcomer = await Worker.start(server.url, name, "newcomer", already, 1, 1)
        started.append(newcomer)
        await newcomer.wait_joined(1)
        sent_at = newcomer.joined[0]["sent_at"]
        mine = (await heard_by_all([newcomer], voices, CONNECT_S))[0]
        others = await heard_by_all(started[:-1], voices, 20.0)
    reached = [s["connected_at"][mine["id"]] - sent_at for s in others if mine["id"] in s["connected_at"]]
    times = sorted(mine["connected_at"].values())
    return Join(
        already,
        voices,
        per_process,
        statistics.median(s["connected"] for s in room_now),
        None if mine["audible_at"] is None else round(mine["audible_at"] - sent_at, 2),
        round(times[-1] - sent_at, 2) if len(times) == voices else None,
        len(times),
        round(statistics.median(reached), 2) if reached else None,
        round(max(reached), 2) if reached else None,
        len(reached),
        round(os.getloadavg()[0], 2),
    )


def render_rooms(rooms: Sequence[Room]) -> str:
    rows = [
        "| path | N | talking | voices heard (of N-1) | client % of a core (median, max) | up kbit/s "
        "| down kbit/s | Janus % | Janus % per member | machine % | load (1 min) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    med = statistics.median
    for r in rooms:
        rows.append(
            f"| {r.path} | {r.n} | {r.talkers} | {r.heard_median:g} | {med(r.client_pct):.1f}, "
            f"{max(r.client_pct):.1f} | {med(r.up_kbps):.1f} | {med(r.down_kbps):.1f} | {r.janus_pct:.1f} "
            f"| {r.janus_pct / r.n:.2f} | {r.machine_pct:.0f} | {r.loadavg:.1f} |"
        )
    return "\n".join(rows)


def render_m2e(mouths: Sequence[Mouth]) -> str:
    rows = ["| path | clicks heard (sent) | median ms | p90 ms | minus mesh, ms | playout delay ms |"]
    rows.append("|---|---|---|---|---|---|")
    base = statistics.median(mouths[0].latencies_ms) if mouths[0].latencies_ms else 0.0
    for m in mouths:
        values = sorted(m.latencies_ms)
        if not values:
            rows.append(f"| {m.path} | 0 ({m.clicks_sent}) | | | | |")
            continue
        median, p90 = statistics.median(values), values[int(0.9 * (len(values) - 1))]
        rows.append(
            f"| {m.path} | {len(values)} ({m.clicks_sent}) | {median:.1f} | {p90:.1f} | {median - base:+.1f} "
            f"| {m.playout_delay_ms} |"
        )
    return "\n".join(rows)


def render_join(j: Join) -> str:
    return (
        f"{j.already} engines already in the room (voice-off ones {j.per_process} per process), "
        f"{j.voices} of them in the call "
        f"(3 talking; each heard a median {j.room_heard_median:g} of {j.voices - 1} voices), then one more, "
        f"talking: first audible audio {j.audible_s} s after its join was sent, every voice heard after "
        f"{j.heard_all_s} s ({j.voices_heard} of {j.voices}); its voice reached {j.reached} of the others in "
        f"the call, median {j.reached_median_s} s, last {j.reached_max_s} s; load {j.loadavg}."
    )


def parse_room(spec: str) -> tuple[str, int, int]:
    path, n, talkers = spec.split(":")
    if path not in ("mesh", "janus"):
        raise argparse.ArgumentTypeError(f"{spec}: the path is mesh or janus")
    return path, int(n), int(talkers)


def save(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """After each stage: a later stage that fails leaves the figures so far."""
    if args.json:
        args.json.write_bytes(msgspec.json.encode(results))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"rooms": [], "m2e": [], "join": None}
    with tempfile.TemporaryDirectory() as tmp, janus_beside_us(Path(tmp)) as janus:
        async with (
            in_process_server() as mesh,
            in_process_server(
                media_server=janus.url, media_secret=API_SECRET, mesh_limit=0, max_room_size=MEDIA_ROOM_SIZE
            ) as through_janus,
        ):
            deadline = time.monotonic() + 30
            while through_janus.media is None or not through_janus.media.reachable:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server never reached Janus")
                await asyncio.sleep(0.1)
            servers = {"mesh": mesh, "janus": through_janus}
            for path, n, talkers in args.rooms:
                result = await room(servers, janus.pid, path, n, talkers)
                print(render_rooms([result]).splitlines()[-1], file=sys.stderr, flush=True)
                results["rooms"].append(result)
                save(args, results)
                await asyncio.sleep(GAP_S)
            for path in ("mesh", "janus") if args.m2e_phases else ():
                mouth = await mouth_to_ear(servers[path], path, args.m2e_phases, args.clicks)
                results["m2e"].append(mouth)
                save(args, results)
                print(render_m2e([mouth]).splitlines()[-1], file=sys.stderr, flush=True)
            if args.join_room:
                results["join"] = await join_big_room(
                    through_janus, args.join_room, args.join_voices or args.join_room, args.per_process
                )
                print(render_join(results["join"]), file=sys.stderr, flush=True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--rooms",
        type=parse_room,
        nargs="*",
        default=[parse_room(x) for x in DEFAULT_ROOMS],
        help="PATH:N:TALKING",
    )
    p.add_argument("--m2e-phases", type=int, default=4, help="0: no mouth-to-ear")
    p.add_argument("--clicks", type=int, default=20, help="per phase")
    p.add_argument("--join-room", type=int, default=49, help="engines already in the room; 0: no join")
    p.add_argument("--join-voices", type=int, default=0, help="of those, in the call; 0: all")
    p.add_argument("--per-process", type=int, default=7)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if why := missing():
        print(why, file=sys.stderr)
        return 2
    started, info = time.monotonic(), machine()
    results = asyncio.run(run(args))
    print(
        f"Command: `.venv/bin/python bench/media_bench.py {' '.join(argv or sys.argv[1:])}`; "
        f"{info.nproc} x {info.cpu}, Python {info.python}, kernel {info.kernel}, "
        f"load at start {info.loadavg}; "
        f"window {WINDOW_S:g} s; took {time.monotonic() - started:.0f} s.\n"
    )
    print(render_rooms(results["rooms"]))
    if results["m2e"]:
        print("\nMouth-to-ear (capture to playout, both engines in one process):\n")
        print(render_m2e(results["m2e"]))
    if results["join"] is not None:
        print("\nJoining a big room through Janus: " + render_join(results["join"]))
    save(args, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
