"""Benchmark of audio through Janus: each speaker forwarded (VideoRoom) against a mix (AudioBridge).

Usage (as root): ``.venv/bin/python bench/janus_bench.py [--sizes 4 8 16] [--json OUT]``.
Prints a markdown report; the default sizes take about 3 minutes.

Each scenario starts a fresh Janus in the Janus lab (``tests/lab/janus_site.py``)
with only the plugin under test, creates a room, and runs N ``janus_peer``
processes in the peers' namespace, every one sending a tone (one Opus encode,
as the engine does) and decoding all it receives with its own decoder per
stream: in a VideoRoom that is N-1 streams on one multistream subscription,
in an AudioBridge one mix. Once every peer has heard all it should, a
``WINDOW_S`` window is taken: Janus's CPU from /proc/PID/stat, each peer's
own CPU (getrusage) and bytes on the wire (aiortc's transport stats: RTP,
RTCP, STUN, DTLS), and the whole machine's busy time.

Mouth-to-ear (``--m2e-rounds``): bench/janus_m2e.py, in the peers'
namespace, sends clicks directly, through a VideoRoom and through an
AudioBridge in turn, each round in a fresh Janus; the median per path over
every click of every round.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # a script in bench/: the packages live one level up

import msgspec  # noqa: E402
from vxbench_machine import CLOCK_TICKS, machine, machine_cpu, wait_quiet  # noqa: E402

from tests.lab.janus_site import (  # noqa: E402
    API_SECRET,
    JanusSite,
    PeerProcess,
    create_room,
    janus_site,
    peers,
    start_peer,
)
from tests.support.janus import Plugin  # noqa: E402
from tests.support.natlab import missing_tools  # noqa: E402

WINDOW_S = 10.0
SETTLE_S = 2.0
"""After the last peer heard everyone: the joins' own work (imports, DTLS) is over."""
REPORT_TIMEOUT_S = 120.0
ROOM, PIN = 1, "bench-pin"
PACKETS_PER_S = 50
"""One Opus packet per 20 ms per stream."""


class Scenario(msgspec.Struct):
    plugin: str
    n: int
    janus_pct: float
    """Of one core, during the window."""
    client_pct: list[float]
    up_kbps: list[float]
    down_kbps: list[float]
    down_pps: list[float]
    expected_down_pps: int
    machine_pct: float
    """Everything busy on the machine (ours included), of one core."""
    outside_pct_before: int


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def scenario(plugin: Plugin, n: int) -> Scenario:
    quiet = await asyncio.to_thread(wait_quiet, 15.0)
    with tempfile.TemporaryDirectory() as tmp, janus_site(Path(tmp), [plugin]) as site:
        await create_room(site, plugin, ROOM, PIN)
        started: list[PeerProcess] = []
        async with peers(started):
            speakers = n - 1 if plugin is Plugin.VIDEOROOM else 1
            for i in range(n):
                extra = ("--record-s", "1", "--timeout-s", str(REPORT_TIMEOUT_S))
                started.append(
                    await start_peer(site, plugin, ROOM, PIN, f"p{i}", 300 + 37 * i, speakers, *extra)
                )
            reports = await asyncio.gather(*(peer.report(REPORT_TIMEOUT_S) for peer in started))
            heard = [len(report["heard"]) for report in reports]
            if heard != [speakers] * n:
                raise RuntimeError(f"{plugin.name} {n}: streams heard per peer {heard}, not {speakers}")
            await asyncio.sleep(SETTLE_S)
            return await window(site, plugin, n, started, quiet.outside_busy_pct)


async def window(
    site: JanusSite, plugin: Plugin, n: int, started: list[PeerProcess], outside: int
) -> Scenario:
    janus0, machine0, t0 = proc_cpu_s(site.janus.pid), machine_cpu()[0], time.monotonic()
    before = await asyncio.gather(*(peer.counters() for peer in started))
    await asyncio.sleep(WINDOW_S)
    after = await asyncio.gather(*(peer.counters() for peer in started))
    janus1, machine1, t1 = proc_cpu_s(site.janus.pid), machine_cpu()[0], time.monotonic()

    def rate(key: str, scale: float) -> list[float]:
        return [
            round(scale * (a[key] - b[key]) / (a["at"] - b["at"]), 1)
            for a, b in zip(after, before, strict=True)
        ]

    return Scenario(
        plugin.name.lower(),
        n,
        round(100 * (janus1 - janus0) / (t1 - t0), 1),
        rate("cpu_s", 100),
        rate("bytes_sent", 8 / 1000),
        rate("bytes_received", 8 / 1000),
        rate("packets_received", 1),
        PACKETS_PER_S * (n - 1 if plugin is Plugin.VIDEOROOM else 1),
        round(100 * (machine1 - machine0) / (t1 - t0), 1),
        outside,
    )


M2E_WORKER = REPO / "bench" / "janus_m2e.py"
M2E_TIMEOUT_S = 120.0


async def mouth_to_ear_round() -> dict[str, list[float]]:
    """One run of bench/janus_m2e.py: latencies (s) per path."""
    with tempfile.TemporaryDirectory() as tmp, janus_site(Path(tmp)) as site:
        for plugin in Plugin:
            await create_room(site, plugin, ROOM, PIN)
        cmd = [*site.peers.prefix, sys.executable, str(M2E_WORKER), "--url", site.janus.url]
        cmd += ["--api-secret", API_SECRET, "--room", str(ROOM), "--pin", PIN]
        proc = await asyncio.create_subprocess_exec(*cmd, cwd=REPO, stdout=asyncio.subprocess.PIPE)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), M2E_TIMEOUT_S)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        latencies: dict[str, list[float]] = json.loads(out)
        return latencies


def render_m2e(rounds: Sequence[dict[str, list[float]]]) -> str:
    rows = ["| path | clicks heard | median ms | p90 ms | median minus direct, ms |", "|---|---|---|---|---|"]
    direct = statistics.median([x for r in rounds for x in r["direct"]]) * 1000
    for path in rounds[0]:
        values = sorted(x * 1000 for r in rounds for x in r[path])
        median, p90 = statistics.median(values), values[int(0.9 * (len(values) - 1))]
        rows.append(f"| {path} | {len(values)} | {median:.1f} | {p90:.1f} | {median - direct:+.1f} |")
    return "\n".join(rows)


def render(results: Sequence[Scenario]) -> str:
    rows = [
        "| plugin | N | Janus % of a core | Janus % per participant | client % (median) | up kbit/s "
        "| down kbit/s | down packets/s (expected) | machine % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        med = statistics.median
        rows.append(
            f"| {r.plugin} | {r.n} | {r.janus_pct:.1f} | {r.janus_pct / r.n:.2f} | {med(r.client_pct):.1f} "
            f"| {med(r.up_kbps):.1f} | {med(r.down_kbps):.1f} "
            f"| {med(r.down_pps):.0f} ({r.expected_down_pps}) | {r.machine_pct:.0f} |"
        )
    return "\n".join(rows)


async def run(sizes: Sequence[int], plugins: Sequence[Plugin]) -> list[Scenario]:
    results = []
    for n in sizes:
        for plugin in plugins:
            result = await scenario(plugin, n)
            print(render([result]).splitlines()[-1], file=sys.stderr, flush=True)
            results.append(result)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", type=int, nargs="*", default=[4, 8, 16], help="empty: none")
    p.add_argument(
        "--plugins", nargs="+", choices=[x.name.lower() for x in Plugin], default=["videoroom", "audiobridge"]
    )
    p.add_argument("--m2e-rounds", type=int, default=3, help="0: no mouth-to-ear")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if missing := missing_tools():
        print(f"needs {', '.join(missing)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    info = machine()
    results = asyncio.run(run(args.sizes, [Plugin[x.upper()] for x in args.plugins]))
    rounds = [asyncio.run(mouth_to_ear_round()) for _ in range(args.m2e_rounds)]
    print(
        f"Command: `.venv/bin/python bench/janus_bench.py {' '.join(argv or sys.argv[1:])}`; "
        f"{info.nproc} x {info.cpu}, Python {info.python}, kernel {info.kernel}, load {info.loadavg}; "
        f"window {WINDOW_S:g} s; took {time.monotonic() - started:.0f} s; pid {os.getpid()}.\n"
    )
    print(render(results))
    if rounds:
        print("\nMouth-to-ear (capture to decode, no playout buffer):\n")
        print(render_m2e(rounds))
    if args.json:
        args.json.write_bytes(msgspec.json.encode({"scenarios": results, "m2e": rounds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
