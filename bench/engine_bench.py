"""Benchmark of the call engine: mouth-to-ear latency, call set-up, CPU per mesh peer, loss recovery.

Usage: ``.venv/bin/python bench/engine_bench.py [--quick] [--only NAME[,NAME]] [--json OUT]``
with NAME among ``m2e-memory``, ``m2e-pulse``, ``setup``, ``cpu``, ``loss``
(``--devices 480:high,0:low`` picks the PulseAudio device settings). Prints a
markdown report; a full run takes about 5 minutes and first waits until no
``bench/server_bench.py`` is running (the machine is shared).

Everything runs real engines (``Engine``) against a real signaling server on
127.0.0.1, with aiortc connections between them, timed with clicks
(engine_clicks.py) on instrumented audio (engine_audio.py). The scenarios
are in engine_scenarios.py and engine_pulse.py, the figures' types in
engine_results.py, the report in engine_report.py.
"""

import argparse
import asyncio
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # a script in bench/: the packages live one level up

import msgspec  # noqa: E402
from engine_pulse import m2e_pulse, pulse_child  # noqa: E402
from engine_report import opus_version, render_report  # noqa: E402
from engine_results import FULL, QUICK, Failed, Outcome, Plan, Result  # noqa: E402
from engine_scenarios import cpu_mesh, loss_recovery, m2e_memory, setup_time  # noqa: E402
from vxbench_machine import machine  # noqa: E402

from client_desktop.engine.devices import Latency, StreamSettings  # noqa: E402

QUIET_POLL_S = 10.0


def _fresh_loop(scenario: Callable[[Plan], Coroutine[Any, Any, Result]]) -> Callable[[Plan], Result]:
    """Each scenario gets a fresh loop: nothing left over from one can skew the next."""
    return lambda plan: asyncio.run(scenario(plan))


SCENARIOS: dict[str, Callable[[Plan], Result]] = {
    "m2e-memory": _fresh_loop(m2e_memory),
    "m2e-pulse": m2e_pulse,
    "setup": _fresh_loop(setup_time),
    "cpu": _fresh_loop(cpu_mesh),
    "loss": _fresh_loop(loss_recovery),
}


def wait_until_quiet() -> None:
    """The machine is shared: a running server benchmark would skew every figure here (and ours its)."""
    announced = False
    while subprocess.run(["pgrep", "-f", "server_bench.py"], capture_output=True).returncode == 0:
        if not announced:
            print("waiting for bench/server_bench.py to finish…", file=sys.stderr, flush=True)
            announced = True
        time.sleep(QUIET_POLL_S)


def run(name: str, plan: Plan) -> Outcome:
    """One scenario; one that raises is reported as failed and the others still run."""
    began = time.monotonic()
    result: Result
    try:
        result = SCENARIOS[name](plan)
    except Exception as exc:
        result = Failed(f"{type(exc).__name__}: {exc}")
    outcome = Outcome(name, round(time.monotonic() - began, 1), result)
    print(f"{name}: done in {outcome.elapsed_s} s", file=sys.stderr, flush=True)
    return outcome


def _device_settings(text: str) -> tuple[StreamSettings, ...]:
    """``480:low,0:0.02`` → block sizes and latencies ("low", "high" or seconds)."""
    settings = []
    for item in text.split(","):
        blocksize, latency = item.split(":")
        settings.append(StreamSettings(int(blocksize), _latency(latency)))
    return tuple(settings)


def _latency(text: str) -> Latency:
    if text == "low":
        return "low"
    if text == "high":
        return "high"
    return float(text)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="small counts, under a minute")
    p.add_argument("--only", help=f"comma-separated scenarios among {', '.join(SCENARIOS)}")
    p.add_argument("--json", type=Path, help="also write every figure to this file")
    p.add_argument(
        "--devices",
        type=_device_settings,
        help="m2e-pulse device settings (blocksize:latency, latency low, high or seconds) instead of "
        "the plan's, e.g. 480:low,0:high",
    )
    p.add_argument("--pulse-child", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    if args.pulse_child:
        return pulse_child(args.pulse_child)
    names = args.only.split(",") if args.only else list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    if not args.quick:
        wait_until_quiet()
    plan = QUICK if args.quick else FULL
    if args.devices:
        plan = replace(plan, pulse_settings=args.devices)
    facts, libopus = machine(), opus_version()
    outcomes = [run(name, plan) for name in names]
    print(render_report(outcomes, facts, libopus, args.quick))
    if args.json:
        figures = {"machine": facts, "libopus": libopus, "plan": plan, "outcomes": outcomes}
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(figures), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
