"""Benchmark of calls across the NAT lab: set-up time and mouth-to-ear delay, direct and through coturn.

Usage (as root): ``.venv/bin/python bench/turn_bench.py [--trials N] [--json OUT]``.
Prints a markdown report; the default 5 trials per path take about 3 minutes.

The lab, coturn and server are the NAT-lab tests' own (``tests/lab/calls.py``):
"direct" is two full-cone NATs, "relayed" two symmetric NATs whose WANs
cannot reach each other, so coturn in ``pub`` carries every packet, and
"relayed, a without UDP" has a's network drop UDP (TURN over TCP). Each trial
runs bench/turn_worker.py in hosts b (waiting in a fresh room) and a
(joining): set-up is a's start of the join to its call connected (relay
choice, gathering, ICE, DTLS); mouth-to-ear pairs each click a captured with
the one b rendered (bench/engine_clicks.py), both stamped on the one
monotonic clock. Its median, relayed minus direct, is what the relay adds.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # a script in bench/: the packages live one level up

import msgspec  # noqa: E402
from engine_clicks import pair  # noqa: E402
from turn_worker import WorkerReport  # noqa: E402
from vxbench_machine import machine  # noqa: E402

from client_desktop.bot_output import PATH_LINE  # noqa: E402
from tests.lab.calls import TurnSite, turn_site  # noqa: E402
from tests.support.natlab import Host, Nat, missing_tools  # noqa: E402

WORKER = REPO / "bench" / "turn_worker.py"
FRAME_MS = 20.0
TRIAL_TIMEOUT_S = 60.0
PATHS = {
    "direct": (Nat.FULL_CONE, Nat.FULL_CONE, False),
    "relayed": (Nat.SYMMETRIC, Nat.SYMMETRIC, True),
    "relayed, a without UDP": (Nat.UDP_BLOCKED, Nat.FULL_CONE, False),
}
"""Each path's NATs at a and b, and whether their WANs are cut from each other."""


class Trial(msgspec.Struct):
    setup_ms: float | None
    m2e_ms: float | None
    """Median over the trial's clicks."""
    clicks_heard: int
    path: str
    """a's ``client_desktop.bot_output.path_line`` at the end."""
    rtt_ms: float | None


class PathResult(msgspec.Struct):
    name: str
    trials: list[Trial]

    def values(self, field: str) -> list[float]:
        return [v for t in self.trials if (v := getattr(t, field)) is not None]

    def median(self, field: str) -> float | None:
        values = self.values(field)
        return round(statistics.median(values), 1) if values else None

    def mean(self, field: str) -> float | None:
        """Over the trials' phases: what a call with an unknown phase can expect."""
        values = self.values(field)
        return round(statistics.fmean(values), 1) if values else None


async def _worker(host: Host, role: str, site: TurnSite, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *host.prefix,
        sys.executable,
        str(WORKER),
        role,
        *("--server", site.server.url, *args),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )


async def _report(proc: asyncio.subprocess.Process) -> WorkerReport:
    out, _ = await asyncio.wait_for(proc.communicate(), TRIAL_TIMEOUT_S)
    return msgspec.json.decode(out.splitlines()[-1], type=WorkerReport)


async def trial(site: TurnSite, room: str, phase_ms: float) -> Trial:
    """One call; b's audio clock ``phase_ms`` after a's (a 20 ms tick would otherwise favour one path)."""
    procs = [await _worker(site.lab.b, "b", site, "--room", room, "--phase-ms", str(phase_ms))]
    try:
        b = procs[0]
        assert b.stdout is not None
        assert await asyncio.wait_for(b.stdout.readline(), TRIAL_TIMEOUT_S) == b"joined\n"
        procs.append(a := await _worker(site.lab.a, "a", site, "--room", room))
        sent, heard = await asyncio.gather(_report(a), _report(b))
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    latencies = pair(sent.onsets, heard.onsets)
    return Trial(
        setup_ms=None if sent.connected is None else round((sent.connected - sent.started) * 1000, 1),
        m2e_ms=round(statistics.median(latencies) * 1000, 1) if latencies else None,
        clicks_heard=len(latencies),
        path=sent.path,
        rtt_ms=float(rtt) if (m := PATH_LINE.fullmatch(sent.path)) and (rtt := m["rtt_ms"]) else None,
    )


async def bench_path(name: str, trials: int) -> PathResult:
    nat_a, nat_b, isolate = PATHS[name]
    with (
        tempfile.TemporaryDirectory(prefix="vx-turn-bench-") as tmp,
        turn_site(Path(tmp), nat_a, nat_b, isolate_wans=isolate) as site,
    ):
        phases = [FRAME_MS * i / trials for i in range(trials)]
        return PathResult(name, [await trial(site, f"{nat_a}-{nat_b}-{i}", phases[i]) for i in range(trials)])


def render(results: Sequence[PathResult], trials: int) -> str:
    m = machine()
    lines = [
        f"Machine: {m.nproc} x {m.cpu}, Python {m.python}, kernel {m.kernel}, load {m.loadavg}",
        f"Trials per path: {trials}",
        "",
        "| path | set-up, median (ms) | mouth-to-ear, mean (ms) | RTT, median (ms) | clicks | reported |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        heard = sum(t.clicks_heard for t in r.trials)
        paths = sorted({t.path.partition(": ")[2].partition(", rtt")[0] for t in r.trials})
        figures = (r.median("setup_ms"), r.mean("m2e_ms"), r.median("rtt_ms"), heard, "; ".join(paths))
        lines.append(f"| {r.name} | " + " | ".join(map(str, figures)) + " |")
    by_name = {r.name: r.mean("m2e_ms") for r in results}
    if (direct := by_name.get("direct")) is not None and (relayed := by_name.get("relayed")) is not None:
        lines += [
            "",
            f"The relay adds {relayed - direct:.1f} ms mouth-to-ear (mean relayed minus mean direct).",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=5)
    p.add_argument("--json", type=Path, default=None, metavar="OUT")
    args = p.parse_args(argv)
    if missing := missing_tools():
        print(f"turn_bench: the NAT lab needs {', '.join(missing)}", file=sys.stderr)
        return 2
    results = [asyncio.run(bench_path(name, args.trials)) for name in PATHS]
    print(render(results, args.trials))
    if args.json:
        args.json.write_bytes(msgspec.json.encode(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
