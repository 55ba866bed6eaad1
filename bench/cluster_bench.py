"""Benchmark of several instances as one server (issue 11): fan-out on two instances against one; failover.

Usage: ``nice -n 5 .venv/bin/python bench/cluster_bench.py [--quick] [--rounds N] [--only fanout,failover]
[--json PATH]`` (as root: the PostgreSQL cluster runs as the ``postgres`` user, see tests/support/postgres.py)

fanout    ``one`` (a single server on PostgreSQL, no ``--redis``) and ``two``
          (two instances on the same PostgreSQL and a Redis), alternately,
          ``--rounds`` times each, every run on fresh servers, database and
          Redis. The load generators of server_bench (vxbench_agent), two
          processes: with two instances, agent k talks to instance k
          directly, and every room has half its members on each. Per run:
          200 timed joins (two sequential streams, 10 rooms of 20), chat
          latency in those rooms (10 msg/s each; send -> each member's
          receipt, the sender's own echo included, as vxbench_compare's
          "chat round trip"), the servers' CPU per delivery at 300 msg/s into
          a room of 100 (CPU time of every instance from /proc over the
          deliveries), then server_bench's ramp (2 s steps, doubling then
          bisecting: bounded in count and time) for the most deliveries/s
          held with p99 < 100 ms and nothing lost.
failover  200 clients through HAProxy (round robin, HTTP mode) into 20 rooms
          of 10 spread over two instances; ``kill -9`` of one; each of its
          clients reconnects through HAProxy on the real client's schedule
          (client_desktop/engine/session.py: the back-off delays with their
          jitter, the first one before the first attempt) and resumes with
          its token. Measured per client: from the kill to its ``joined``
          with ``resumed`` true. Each client sends its own ``X-Forwarded-For``
          address (a label in 198.18.0.0/15; nothing is sent there): the
          servers' per-address caps (8 places in grace, 8 unjoined
          connections) are meant for one person's connections, not for 200
          people behind one proxy.

Only 127.0.0.1; every server, Redis, PostgreSQL, HAProxy and agent is stopped
at the end, whatever happened. Prints a markdown report.
"""

import argparse
import asyncio
import contextlib
import json
import random
import signal
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # a script in bench/: the packages live one level up

from server_bench import FANOUT_FLAGS, Plan, _ramp_step, ramp, timed_phase, warm_up  # noqa: E402
from vxbench_agent import free_socket_limit  # noqa: E402 - beside this script
from vxbench_compare import COMPARE  # noqa: E402
from vxbench_host import Agents, Meter, Server, latency_summary, split  # noqa: E402
from vxbench_machine import machine, wait_quiet  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidHandshake  # noqa: E402

from client_desktop.engine.session import DEFAULT_BACKOFF_S, DEFAULT_JITTER  # noqa: E402
from tests.support import postgres as pg  # noqa: E402
from tests.support.haproxy import Haproxy  # noqa: E402
from tests.support.redis import Redis  # noqa: E402
from tests.support.server import HOST, ServerProcess  # noqa: E402
from tests.wsclient import Client  # noqa: E402

Result = dict[str, Any]
CONFIGS = ("one", "two")
ROOM = 100
JOIN_ROOMS, JOIN_PER_ROOM = 10, 20
CHAT_RATE_PER_ROOM = 10.0
CPU_RATE = 300.0
"""msg/s into the room of 100 while the CPU per delivery is read (vxbench_compare's rate)."""
FAILOVER_CLIENTS, FAILOVER_PER_ROOM = 200, 10
FAILOVER_DEADLINE_S = 20.0
"""After the kill: a client not back by then counts as failed (the default grace is 15 s)."""
JOIN_CONCURRENCY = 16


@dataclass(frozen=True)
class Settings:
    plan: Plan
    rounds: int
    chat_s: float
    failover_rounds: int
    quiet_wait_s: float = 10.0


FULL = Settings(COMPARE, rounds=3, chat_s=5.0, failover_rounds=3)
QUICK = Settings(
    replace(COMPARE, low_rate_s=1.5, step_s=1.0, refine=0, drain_timeout_s=5.0, warmup_s=0.3),
    rounds=1,
    chat_s=1.5,
    failover_rounds=1,
    quiet_wait_s=0.5,
)


# --- the service under test -------------------------------------------------------------


class Service(Server):
    """Every instance of one configuration: its CPU is the sum of theirs."""

    def __init__(self, processes: Sequence[ServerProcess]) -> None:
        super().__init__(processes[0])
        self.processes = tuple(processes)

    def cpu(self) -> tuple[float, float]:
        readings = [Server(p).cpu() for p in self.processes]
        return sum(total for total, _ in readings), sum(loop for _, loop in readings)


class Spread(Agents):
    """``n`` agents, agent k connecting to ``ports[k % len(ports)]``: what is dealt to it lands there."""

    def __init__(self, ports: Sequence[int], n: int) -> None:
        super().__init__(1, ports[0])
        try:
            for k in range(1, n):
                more = Agents(1, ports[k % len(ports)])
                self._pipes += more._pipes
                self._procs += more._procs
        except BaseException:
            self.close()
            raise


@contextlib.contextmanager
def instances(postgres: pg.Postgres, count: int, *flags: str) -> Iterator[list[ServerProcess]]:
    """``count`` started instances on a fresh database; two or more share a fresh Redis too.

    One alone runs without ``--redis``: a single server on the same
    PostgreSQL, so that the difference between one and two is the replication.
    """
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vx-cluster-bench-")))
        shared = ["--database", stack.enter_context(postgres.database())]
        if count > 1:
            (tmp / "redis").mkdir()
            shared += ["--redis", stack.enter_context(Redis(tmp / "redis")).url]
        servers = []
        for n in range(count):
            (tmp / f"instance-{n}").mkdir()
            server = ServerProcess(tmp / f"instance-{n}", *shared, *flags)
            server.start()
            stack.callback(server.close)
            servers.append(server)
        yield servers


def spread_rooms(rooms: int, per_room: int, prefix: str, n: int) -> list[list[tuple[str, str]]]:
    """Member j of every room goes to agent j % n, so every room spans the agents (and instances).

    Agent 0's first ``rooms`` members are each room's member 0: the senders.
    """
    parts: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    for j in range(per_room):
        parts[j % n] += [(f"{prefix}{r}", f"u{j}") for r in range(rooms)]
    return parts


# --- fan-out, one against two -------------------------------------------------------------


def fanout_run(settings: Settings, postgres: pg.Postgres, config: str, n_agents: int) -> Result:
    """One configuration on fresh servers: joins, chat latency, CPU per delivery, the ramp."""
    plan = settings.plan
    count = CONFIGS.index(config) + 1
    with (
        instances(postgres, count, *FANOUT_FLAGS) as servers,
        Spread([s.port for s in servers], n_agents) as agents,
    ):
        meter = Meter(Service(servers), agents)
        room = split([("fan", f"u{i}") for i in range(ROOM)], n_agents)  # the sender: agent 0's client 0
        agents.join(room)
        fanout = [len(part) for part in room]

        rooms = spread_rooms(JOIN_ROOMS, JOIN_PER_ROOM, "talk", n_agents)
        meter.start()
        joined = agents.join(rooms, timed=True)
        join_cpu = meter.read()
        join = latency_summary([array("q", j.latencies_ns).tobytes() for j in joined])

        senders: list[tuple[int, str | None]] = [(len(room[0]) + r, None) for r in range(JOIN_ROOMS)]
        per_agent = [len(part) // JOIN_ROOMS for part in rooms]
        rate = CHAT_RATE_PER_ROOM * JOIN_ROOMS
        warm_up(agents, meter, plan, senders, rate, per_agent)
        chat = timed_phase(agents, meter, 1, senders, rate, settings.chat_s, per_agent, 10)

        sender: list[tuple[int, str | None]] = [(0, None)]
        warm_up(agents, meter, plan, sender, CPU_RATE, fanout)
        steady = timed_phase(agents, meter, 2, sender, CPU_RATE, plan.low_rate_s, fanout, 10)
        steps = ramp(plan, ROOM, lambda step, r: _ramp_step(plan, agents, meter, step, r, fanout))
        errors = [s.log_tail(5) for s in servers if "Traceback" in s.log_path.read_text(errors="replace")]
    held = [s for s in steps if s["held"]]
    best = max(held, key=lambda s: s["deliveries_per_s"]) if held else None
    return {
        "config": config,
        "join": join | {"cpu": join_cpu},
        "chat": chat,
        "steady": steady,
        "ramp": steps,
        "best": best,
        "server_errors": errors,
        "figures": {
            "max_deliveries_per_s": float(best["deliveries_per_s"]) if best else 0.0,
            "cpu_us_per_delivery": 1e6 * steady["cpu"]["server_cpu_s"] / max(1, steady["received"]),
            "fanout_p50_ms": steady["p50_ms"],
            "fanout_p99_ms": steady["p99_ms"],
            "join_p50_ms": join["p50_ms"],
            "join_p99_ms": join["p99_ms"],
            "chat_p50_ms": chat["p50_ms"],
            "chat_p99_ms": chat["p99_ms"],
            "lost_at_fixed_rates": float(chat["lost"] + steady["lost"]),
            "max_server_pct": best["cpu"]["server_cpu_pct"] if best else 0.0,
            "max_generator_pct": best["cpu"]["generator_cpu_pct"] if best else 0.0,
            "others_pct": steady["cpu"]["others_pct"],
        },
    }


# --- failover ----------------------------------------------------------------------------------


@dataclass
class Member:
    """One failover client: its place, its connection, and what happened to it after the kill."""

    index: int
    client: Client
    room: str
    name: str
    resume: str
    dropped_at: float | None = None
    back_at: float | None = None
    attempts: int = 0
    outcome: str = "connected"
    others_seen: list[str] = field(default_factory=list)


def address_of(index: int) -> str:
    """Client ``index``'s own address, as a proxy in front of HAProxy would name it."""
    return f"198.18.{index // 250}.{index % 250 + 1}"


async def open_member(url: str, index: int) -> Member:
    room, name = f"fo{index // FAILOVER_PER_ROOM}", f"u{index}"
    client = await Client.open(url, additional_headers={"X-Forwarded-For": address_of(index)})
    joined = await client.join(room, name)
    return Member(index, client, room, name, joined["resume"])


async def watch(member: Member, url: str, killed_at: asyncio.Future[float], deadline: float) -> None:
    """Read until the connection drops (noting peer-left/joined after the kill); resume as the app does."""
    try:
        while True:
            message = await member.client.recv(timeout=deadline - time.monotonic())
            if killed_at.done() and message["type"] in ("peer-left", "peer-joined"):
                member.others_seen.append(message["type"])
    except ConnectionClosed:
        member.dropped_at = time.monotonic()
    except TimeoutError:
        return
    await killed_at
    while (now := time.monotonic()) < deadline:
        delay = DEFAULT_BACKOFF_S[min(member.attempts, len(DEFAULT_BACKOFF_S) - 1)]
        await asyncio.sleep(min(delay * (1.0 + random.uniform(0.0, DEFAULT_JITTER)), deadline - now))
        member.attempts += 1
        try:
            member.client = await Client.open(
                url, additional_headers={"X-Forwarded-For": address_of(member.index)}
            )
            await member.client.send(
                {"type": "join", "room": member.room, "username": member.name, "resume": member.resume}
            )
            answer = await member.client.recv()
        except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError) as exc:
            member.outcome = f"retrying ({type(exc).__name__})"
            continue
        if answer["type"] == "joined":
            member.back_at = time.monotonic()
            member.outcome = "resumed" if answer["resumed"] else "joined anew"
            return
        member.outcome = f"answered {answer.get('code', answer['type'])}"


async def failover_round(postgres: pg.Postgres) -> Result:
    """Two instances behind HAProxy, 200 clients, ``kill -9`` of the first; who came back, and when."""
    flags = ("--trust-proxy", HOST, "--max-room-size", "1000")
    with (
        instances(postgres, 2, *flags) as servers,
        tempfile.TemporaryDirectory(prefix="vx-haproxy-") as tmp,
        Haproxy(Path(tmp), [(HOST, s.port) for s in servers], http=True) as proxy,
    ):
        for index in range(len(servers)):
            await asyncio.to_thread(proxy.wait_state, index, "UP")
        members: list[Member] = []
        for start in range(0, FAILOVER_CLIENTS, JOIN_CONCURRENCY):
            batch = range(start, min(FAILOVER_CLIENTS, start + JOIN_CONCURRENCY))
            members += await asyncio.gather(*(open_member(proxy.url, i) for i in batch))
        await asyncio.sleep(1.0)  # every peer-joined delivered before the watch starts
        loop = asyncio.get_running_loop()
        killed_at: asyncio.Future[float] = loop.create_future()
        deadline = time.monotonic() + FAILOVER_DEADLINE_S + 5
        watchers = [asyncio.create_task(watch(m, proxy.url, killed_at, deadline)) for m in members]
        await asyncio.sleep(0.5)
        started = time.monotonic()
        await asyncio.to_thread(servers[0].kill, signal.SIGKILL)
        killed_at.set_result(started)
        down_s = await asyncio.to_thread(proxy.wait_state, 0, "DOWN")
        until = started + FAILOVER_DEADLINE_S
        while time.monotonic() < until:
            cut = [m for m in members if m.dropped_at is not None]
            if time.monotonic() - started > 3 and all(m.back_at is not None for m in cut):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # any late peer-left among the others
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        cut = [m for m in members if m.dropped_at is not None]
        for m in members:
            await m.client.ws.close()
        errors = [s.log_tail(5) for s in servers if "Traceback" in s.log_path.read_text(errors="replace")]
    back = sorted(m.back_at - started for m in cut if m.back_at is not None and m.outcome == "resumed")
    outcomes: dict[str, int] = {}
    for m in cut:
        outcomes[m.outcome] = outcomes.get(m.outcome, 0) + 1
    seen: dict[str, int] = {}
    for m in members:
        for kind in m.others_seen:
            seen[kind] = seen.get(kind, 0) + 1
    times = latency_summary([array("q", [int(t * 1e9) for t in back]).tobytes()])
    return {
        "clients": len(members),
        "on_killed_instance": len(cut),
        "outcomes": outcomes,
        "seen_by_anyone": seen,
        "attempts_max": max((m.attempts for m in cut), default=0),
        "haproxy_down_s": round(down_s, 3),
        "resume_s": {
            "p50": times["p50_ms"] / 1e3,
            "p99": times["p99_ms"] / 1e3,
            "max": times["max_ms"] / 1e3,
        },
        "resume_times_s": [round(t, 4) for t in back],
        "server_errors": errors,
    }


# --- runs and report ------------------------------------------------------------------------


def run(settings: Settings, only: Sequence[str], n_agents: int) -> Result:
    """One PostgreSQL cluster for everything; fresh servers, database and Redis for every run."""
    results: Result = {"fanout": {config: [] for config in CONFIGS}, "failover": [], "quiet": []}
    with pg.cluster() as postgres:
        if "fanout" in only:
            for r in range(settings.rounds):
                order = CONFIGS if r % 2 == 0 else CONFIGS[::-1]  # neither always goes first
                for config in order:
                    results["quiet"].append(asdict(wait_quiet(settings.quiet_wait_s)))
                    started = time.perf_counter()
                    results["fanout"][config].append(fanout_run(settings, postgres, config, n_agents))
                    print(
                        f"fanout {r + 1}/{settings.rounds} {config}: {time.perf_counter() - started:.0f} s",
                        file=sys.stderr,
                    )
        if "failover" in only:
            for r in range(settings.failover_rounds):
                results["quiet"].append(asdict(wait_quiet(settings.quiet_wait_s)))
                results["failover"].append(asyncio.run(failover_round(postgres)))
                print(f"failover {r + 1}/{settings.failover_rounds}", file=sys.stderr)
    return results


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    unit: str


FIGURES = (
    Figure("max_deliveries_per_s", "room of 100, max deliveries/s with p99 < 100 ms", "/s"),
    Figure("cpu_us_per_delivery", "servers' CPU per delivery, 300 msg/s into 100 (all instances)", "µs"),
    Figure("fanout_p50_ms", "fan-out p50 at 300 msg/s into 100", "ms"),
    Figure("fanout_p99_ms", "fan-out p99 at 300 msg/s into 100", "ms"),
    Figure("join_p50_ms", "join p50 (200, two sequential streams, rooms of 20)", "ms"),
    Figure("join_p99_ms", "join p99", "ms"),
    Figure("chat_p50_ms", "chat round trip p50, 10 rooms of 20, 100 msg/s", "ms"),
    Figure("chat_p99_ms", "chat round trip p99", "ms"),
    Figure("lost_at_fixed_rates", "chats lost at the fixed rates (chat + 300 msg/s phases)", "n"),
    Figure("max_server_pct", "servers' CPU at the max held step, % of a core", "%"),
    Figure("max_generator_pct", "generators' CPU at the max held step, % of a core", "%"),
    Figure(
        "others_pct", "everything else (Redis, PostgreSQL, outside) in the 300 msg/s phase, % of a core", "%"
    ),
)


def cell(values: Sequence[float], unit: str) -> str:
    def fmt(v: float) -> str:
        if unit in ("/s", "n"):
            return f"{v:,.0f}"
        return f"{v:.2f}" if v < 100 else f"{v:,.0f}"

    med = statistics.median(values)
    return f"{fmt(med)} ({fmt(min(values))}-{fmt(max(values))})" if len(values) > 1 else fmt(med)


def fanout_table(runs: dict[str, list[Result]]) -> list[str]:
    out = ["| figure | one | two | two / one |", "|---|---|---|---|"]
    for f in FIGURES:
        values = {c: [r["figures"][f.key] for r in runs[c]] for c in CONFIGS}
        one, two = (statistics.median(values[c]) for c in CONFIGS)
        ratio = f"{two / one:.2f}x" if one else "—"
        out.append(
            f"| {f.title} ({f.unit}) | {cell(values['one'], f.unit)} "
            f"| {cell(values['two'], f.unit)} | {ratio} |"
        )
    return out


def ramp_lines(runs: dict[str, list[Result]]) -> list[str]:
    out = []
    for config in CONFIGS:
        for n, result in enumerate(runs[config], 1):
            steps = ", ".join(
                f"{s['offered_deliveries_per_s'] / 1000:,.0f}k {'held' if s['held'] else 'failed'}"
                f" (p99 {s['p99_ms']:.0f} ms, lost {s['lost']:,}"
                f"{'' if s['sender_kept_up'] else ', sender behind'})"
                for s in result["ramp"]
            )
            out.append(f"- {config}, run {n}: {steps}")
    return out


def failover_lines(rounds: list[Result]) -> list[str]:
    out = [
        "| round | clients on the killed instance | outcomes | resumed: p50 s | p99 s | max s "
        "| peer-left/joined seen by anyone | HAProxy marked it down after s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, r in enumerate(rounds, 1):
        outcomes = ", ".join(f"{k} {v}" for k, v in r["outcomes"].items())
        seen = ", ".join(f"{k} {v}" for k, v in r["seen_by_anyone"].items()) or "none"
        t = r["resume_s"]
        out.append(
            f"| {n} | {r['on_killed_instance']} of {r['clients']} | {outcomes} "
            f"| {t['p50']:.2f} | {t['p99']:.2f} | {t['max']:.2f} | {seen} | {r['haproxy_down_s']:.2f} |"
        )
    pooled = sorted(t for r in rounds for t in r["resume_times_s"])
    if pooled:
        summary = latency_summary([array("q", [int(t * 1e9) for t in pooled]).tobytes()])
        out += [
            "",
            f"All rounds pooled: {summary['count']} resumed, p50 {summary['p50_ms'] / 1e3:.2f} s, "
            f"p99 {summary['p99_ms'] / 1e3:.2f} s, max {summary['max_ms'] / 1e3:.2f} s "
            f"(goal: p99 under 3 s).",
        ]
    return out


def markdown(results: Result, meta: Result) -> str:
    m = meta["machine"]
    quiet = [q["outside_busy_pct"] for q in results["quiet"]]
    out = [
        f"Command: `{meta['command']}`; {m['nproc']} x {m['cpu']}, Python {m['python']}, "
        f"load average {m['loadavg'][0]} at the start, {meta['loadavg_end'][0]} at the end; "
        f"outside load before each run {min(quiet, default=0):.0f}-{max(quiet, default=0):.0f} % of a core; "
        f"took {meta['elapsed_s']:.0f} s.",
    ]
    runs = results["fanout"]
    if runs["one"]:
        out += [
            "",
            f"Fan-out: {len(runs['one'])} runs of each configuration, alternately; median (min-max); "
            "ratio: the medians.",
            "",
            *fanout_table(runs),
            "",
            "Ramp steps (offered deliveries/s):",
            "",
            *ramp_lines(runs),
        ]
    if results["failover"]:
        out += ["", "Failover:", "", *failover_lines(results["failover"])]
    errors = [e for c in CONFIGS for r in runs[c] for e in r["server_errors"]]
    errors += [e for r in results["failover"] for e in r["server_errors"]]
    if errors:
        out += ["", "Tracebacks in the servers' logs:", "", *(f"```\n{e}\n```" for e in errors)]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="one short run of each (a couple of minutes)")
    p.add_argument(
        "--rounds", type=int, help="runs of each fan-out configuration, and failover rounds (default 3)"
    )
    p.add_argument("--only", default="fanout,failover", help="fanout, failover or both (default)")
    p.add_argument("--agents", type=int, default=2, help="load-generator processes (default 2)")
    p.add_argument("--json", type=Path, help="also write every figure here")
    args = p.parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.rounds:
        settings = replace(settings, rounds=args.rounds, failover_rounds=args.rounds)
    free_socket_limit()
    found = machine()
    started = time.perf_counter()
    results = run(settings, args.only.split(","), args.agents)
    meta: Result = {
        "command": " ".join(["nice -n 5 .venv/bin/python bench/cluster_bench.py", *sys.argv[1:]]),
        "machine": asdict(found),
        "loadavg_end": machine().loadavg,
        "elapsed_s": time.perf_counter() - started,
        "settings": asdict(settings),
    }
    print(markdown(results, meta))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
