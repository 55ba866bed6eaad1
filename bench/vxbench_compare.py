"""Side by side (issue 14): voxroom-server against the Node.js reference, interleaved, several rounds.

Why interleaved: these 2-core machines are shared, and load from other work
comes and goes. Each round runs every figure on every server, one right
after the other, in an order that rotates from round to round, so a noisy
minute hits all of them alike; the report gives each figure's median over
the rounds, its spread (min-max), and the ratio to the first server's
median (the reference, by default).

Servers (``--compare NAME,NAME``):
  reference        bench/reference/server.js (Node.js, Express + ws; ``npm ci`` is run if needed)
  voxroom          this tree's ``python -m signaling_server`` (uvloop when installed)
  voxroom-asyncio  the same with uvloop hidden: asyncio's own loop
  before           ``--before TREE``'s signaling_server (``git archive REV signaling_server protocol``)
"""

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from server_bench import (
    FULL,
    Plan,
    Result,
    members_of,
    relay_phase,
    scenario_fanout,
    scenario_join,
    scenario_rss,
    timed_phase,
    warm_up,
)
from vxbench_host import Meter, running
from vxbench_machine import wait_quiet

from tests.support.server import PYTHON_SERVER

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
NO_UVLOOP = (
    "import sys; sys.modules['uvloop'] = None; from signaling_server.__main__ import main; sys.exit(main())"
)
"""Runs the server as ``-m signaling_server`` does, but with ``import uvloop`` failing."""

COMPARE = replace(
    FULL,
    join_rooms=10,
    join_per_room=20,
    low_rate=300.0,
    low_rate_s=5.0,
    step_s=2.0,
    refine=2,
    drain_timeout_s=10.0,
    relay_s=4.0,
    rss_counts=(5000,),
    flood_s=5.0,
    quiet_wait_s=10.0,
    retry_on_load=False,
    ramp_start=40_000.0,
)
"""200 timed joins; 300 msg/s into 100 members for the CPU per delivery; 2 s ramp steps."""
CHAT_ROOMS, CHAT_MEMBERS, CHAT_RATE_PER_ROOM = 10, 10, 10.0


def server_command(name: str, before: Path | None) -> tuple[str, ...]:
    """The command line that starts server ``name`` (the launcher adds host, port and data dir)."""
    if name == "reference":
        if not (REFERENCE_DIR / "node_modules").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=REFERENCE_DIR, check=True)
        return ("node", str(REFERENCE_DIR / "server.js"))
    if name == "voxroom":
        return PYTHON_SERVER
    if name == "voxroom-asyncio":
        return (sys.executable, "-c", NO_UVLOOP)
    if name == "before":
        if before is None:
            raise SystemExit("--compare before needs --before TREE")
        # -P: the working directory (this repository) is not put ahead of PYTHONPATH.
        return ("env", f"PYTHONPATH={before.resolve()}", sys.executable, "-P", "-m", "signaling_server")
    raise SystemExit(f"unknown server {name!r}: reference, voxroom, voxroom-asyncio, before")


def chat_phase(plan: Plan, command: Sequence[str]) -> Result:
    """Chat round trips in 10 rooms of 10, each room's first member sending 10 msg/s (defaults)."""
    members = members_of(CHAT_ROOMS, CHAT_MEMBERS, "calm")
    senders: list[tuple[int, str | None]] = [(r, None) for r in range(CHAT_ROOMS)]
    rate = CHAT_RATE_PER_ROOM * CHAT_ROOMS
    with running([], 1, command) as (server, agents):
        agents.join([members])
        meter = Meter(server, agents)
        warm_up(agents, meter, plan, senders, rate, [CHAT_MEMBERS])
        return timed_phase(agents, meter, 1, senders, rate, plan.flood_s, [CHAT_MEMBERS], 10)


GROUPS = ("join", "relay", "chat", "fanout", "rss")
"""What ``--only`` may pick: each group is one fresh server per round."""


def figures(plan: Plan, command: Sequence[str], n_agents: int, only: Sequence[str]) -> dict[str, float]:
    """The compared figures of one server (the groups in ``only``), each group on a fresh process."""
    out: dict[str, float] = {}
    if "join" in only:
        join = scenario_join(plan, n_agents, command)
        out |= {"join_p50_ms": join["p50_ms"], "join_p99_ms": join["p99_ms"]}
    if "relay" in only:
        relay = relay_phase(plan, [], command)
        out |= {"relay_p50_ms": relay["p50_ms"], "relay_p99_ms": relay["p99_ms"]}
    if "chat" in only:
        chat = chat_phase(plan, command)
        out |= {"chat_p50_ms": chat["p50_ms"], "chat_p99_ms": chat["p99_ms"]}
    if "fanout" in only:
        fan = scenario_fanout(plan, 100, n_agents, command)
        low, best = fan["low_rate"], fan["best"]
        failed = [step for step in fan["ramp"] if not step["held"]]
        out |= {
            "cpu_us_per_delivery": 1e6 * low["cpu"]["server_cpu_s"] / max(1, low["received"]),
            "fanout_p50_ms": low["p50_ms"],
            "max_deliveries_per_s": float(best["deliveries_per_s"]) if best else 0.0,
            "max_generator_pct": best["cpu"]["generator_cpu_pct"] if best else 0.0,
            "max_server_pct": best["cpu"]["server_cpu_pct"] if best else 0.0,
            "failed_sender_behind": float(not failed[0]["sender_kept_up"]) if failed else 0.0,
            "others_pct": low["cpu"]["others_pct"],
        }
    if "rss" in only:
        out["rss_kib_per_conn"] = scenario_rss(plan, n_agents, command)["levels"][-1]["kib_per_conn"]
    return out


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    unit: str
    lower_is_better: bool = True


FIGURES = (
    Figure("max_deliveries_per_s", "100-member room, max deliveries/s with p99 < 100 ms", "/s", False),
    Figure("cpu_us_per_delivery", "server CPU per delivery, 300 msg/s into 100 members", "µs"),
    Figure("rss_kib_per_conn", "RSS per idle joined connection at 5,000", "KiB"),
    Figure("join_p50_ms", "join p50 (200 sequential, rooms of 20)", "ms"),
    Figure("join_p99_ms", "join p99", "ms"),
    Figure("relay_p50_ms", "signal relay p50 (100 pairs, 1,000/s)", "ms"),
    Figure("relay_p99_ms", "signal relay p99", "ms"),
    Figure("chat_p50_ms", "chat round trip p50, 10 rooms of 10, 100 msg/s", "ms"),
    Figure("chat_p99_ms", "chat round trip p99", "ms"),
    Figure("fanout_p50_ms", "fan-out p50 at 300 msg/s into 100", "ms"),
    Figure("others_pct", "outside load during the CPU phase, % of a core", "%"),
    Figure("max_server_pct", "server CPU at the max held step, % of a core", "%"),
    Figure("max_generator_pct", "generators' CPU at the max held step, % of a core", "%"),
    Figure("failed_sender_behind", "rounds whose first failed step was the sender falling behind", "n"),
)


def run_rounds(
    names: Sequence[str],
    commands: dict[str, tuple[str, ...]],
    rounds: int,
    n_agents: int,
    plan: Plan,
    only: Sequence[str],
) -> dict[str, list[dict[str, float]]]:
    """``rounds`` rounds; round r starts with server r (mod n), so no server always goes first."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for r in range(rounds):
        order = [names[(r + k) % len(names)] for k in range(len(names))]
        for name in order:
            wait_quiet(plan.quiet_wait_s)
            started = time.perf_counter()
            runs[name].append(figures(plan, commands[name], n_agents, only))
            print(f"round {r + 1}/{rounds} {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return runs


def _cell(values: Sequence[float], unit: str) -> str:
    def fmt(v: float) -> str:
        if unit == "/s":
            return f"{v:,.0f}"
        return f"{v:.2f}" if v < 100 else f"{v:,.0f}"

    med = statistics.median(values)
    return f"{fmt(med)} ({fmt(min(values))}-{fmt(max(values))})" if len(values) > 1 else fmt(med)


def markdown(runs: dict[str, list[dict[str, float]]], meta: Result) -> str:
    names = list(runs)
    base = names[0]
    out = [
        f"Command: `{meta['command']}`; {meta['machine']['nproc']} x {meta['machine']['cpu']}, "
        f"Python {meta['machine']['python']}, load average {meta['machine']['loadavg'][0]} at the start; "
        f"{meta['rounds']} rounds, interleaved; took {meta['elapsed_s']:.0f} s. "
        f"Median (min-max) over the rounds; ratio: the median over {base}'s.",
        "",
        "| figure | " + " | ".join(names) + " | " + " | ".join(f"{n} / {base}" for n in names[1:]) + " |",
        "|---|" + "---|" * (2 * len(names) - 1),
    ]
    for f in FIGURES:
        if f.key not in runs[base][0]:
            continue
        cells = [_cell([run[f.key] for run in runs[n]], f.unit) for n in names]
        base_median = statistics.median(run[f.key] for run in runs[base])
        ratios = [
            f"{statistics.median(run[f.key] for run in runs[n]) / base_median:.2f}x" if base_median else "—"
            for n in names[1:]
        ]
        out.append(f"| {f.title} ({f.unit}) | " + " | ".join(cells + ratios) + " |")
    return "\n".join(out)


def compare(
    names: Sequence[str],
    before: Path | None,
    rounds: int,
    n_agents: int,
    meta: Callable[[], Result],
    only: Sequence[str] = GROUPS,
) -> tuple[str, dict[str, Any]]:
    """Run the comparison; the markdown report and everything measured."""
    unknown = set(only) - set(GROUPS)
    if unknown:
        raise SystemExit(f"--only with --compare takes {', '.join(GROUPS)}; not {', '.join(sorted(unknown))}")
    commands = {name: server_command(name, before) for name in names}
    os.environ.setdefault("NODE_ENV", "production")  # Express's own advice for measured servers
    started = time.perf_counter()
    runs = run_rounds(names, commands, rounds, n_agents, COMPARE, only)
    info = meta() | {"rounds": rounds, "elapsed_s": time.perf_counter() - started}
    return markdown(runs, info), {"meta": info, "runs": runs}
