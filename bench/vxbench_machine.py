"""The machine a benchmark runs on, and how busy the rest of it is: /proc readings every bench shares.

The machine is shared: busy time that is none of ours shows when a figure
was squeezed by other people's tests.
"""

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Machine:
    nproc: int
    cpu: str
    """The model name in /proc/cpuinfo."""
    python: str
    kernel: str
    loadavg: tuple[float, float, float]
    """1, 5 and 15 minutes, when the bench started."""


def machine() -> Machine:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    one, five, fifteen = (round(x, 2) for x in os.getloadavg())
    return Machine(
        os.cpu_count() or 1, cpu, platform.python_version(), platform.release(), (one, five, fifteen)
    )


def machine_cpu() -> tuple[float, float]:
    """Busy and steal CPU seconds of the whole machine (all cores) so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq) / CLOCK_TICKS, steal / CLOCK_TICKS


@dataclass(frozen=True)
class Quiet:
    waited_s: float
    outside_busy_pct: int


def wait_quiet(max_wait_s: float, threshold_pct: float = 30.0, window_s: float = 0.5) -> Quiet:
    """Wait (at most ``max_wait_s``) until the machine's busy time drops under ``threshold_pct`` of a core.

    Called while none of our processes run, so the busy time is outside load
    (other people's tests on this shared box); it would halve a server's
    share of the two cores and the figures with it.
    """
    started = time.perf_counter()
    while True:
        before = machine_cpu()[0]
        time.sleep(window_s)
        busy_pct = 100 * (machine_cpu()[0] - before) / window_s
        waited = time.perf_counter() - started
        if busy_pct < threshold_pct or waited >= max_wait_s:
            return Quiet(round(waited, 1), round(busy_pct))
