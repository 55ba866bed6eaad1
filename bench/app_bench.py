"""Benchmark of the desktop app: launch to a usable window, join to the room shown, memory in a call.

Usage: ``.venv/bin/python bench/app_bench.py [--runs 7] [--only launch,room,rss] [--json OUT]
[--before DIR]``. Prints a markdown report; a full run takes about a minute.

Every figure comes from fresh ``python -m client_desktop`` processes,
offscreen (``QT_QPA_PLATFORM=offscreen``), with ``--no-audio`` (these
machines have no sound card) and ``--test-driver``, whose ``VOXROOM {json}``
lines carry the stamps, and with an empty configuration directory each
time (no remembered window or values):

- **launch**: from just before the process is started to the driver's
  ``ready`` (the first window painted and the event loop idle again, so it
  takes input), both on ``time.time()``. Also: bare ``python -c pass`` and
  Qt's floor (a process that shows one line edit and turns its loop once) for
  scale, the app's RSS at ``ready``, and ``python -X importtime`` of the
  app module (from bytecode), summed by top-level package. With ``--before
  DIR`` (a tree holding another version's ``client_desktop``, ``protocol``
  and ``signaling_server``, e.g. from ``git archive``), each run launches
  both, in turns, so the box's noise hits both alike; the report adds the
  median of the paired differences, which that noise moves less than either
  median.
- **room**: a ``python -m signaling_server`` child holds a room with 50
  chat messages (sent by a ``voxroom-bot``); the app starts with ``--join``.
  ``room-shown``'s ``after_joined_ms`` runs from the moment the server's
  ``joined`` reached the bridge to the end of the first paint of the chat
  that follows (all 50 lines in it).
- **rss**: the app joins a room with three ``python -m client_desktop.bot``
  processes playing tones (a 4-person call); once all three are heard
  speaking, VmRSS (and VmHWM) of the app is read from /proc 10 s after the
  join.
"""

import argparse
import contextlib
import json
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # a script in bench/: the packages live one level up

import msgspec  # noqa: E402
from vxbench_machine import Machine, machine  # noqa: E402

from tests.support.server import child_server  # noqa: E402

PREFIX = "VOXROOM "
HISTORY = 50
TARGET_LAUNCH_S = 0.4
QT_FLOOR = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLineEdit
app = QApplication(sys.argv[:1])
edit = QLineEdit()
edit.show()
QTimer.singleShot(0, lambda: (print(time.time(), flush=True), app.quit()))
app.exec()
"""
STACK_FLOOR = """
import asyncio, sys, time
import msgspec
from PySide6.QtWidgets import QApplication, QLineEdit
app = QApplication(sys.argv[:1])
import qasync
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
edit = QLineEdit()
edit.show()
async def shown():
    await asyncio.sleep(0)
    print(time.time(), flush=True)
with loop:
    loop.run_until_complete(shown())
"""
"""Qt's floor with what the app must import before its window: asyncio on the Qt loop (qasync), and
msgspec (the protocol's and the engine's messages). The launch minus this is voxroom's own part."""
TARGET_ROOM_MS = 300.0
TARGET_RSS_MB = 200.0
CALL_SETTLE_S = 10.0
Event = dict[str, Any]
BYTECODE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""Children may write ``__pycache__``: an installed app starts from bytecode, not by compiling its source."""


class App:
    """``python -m client_desktop`` (or ``program``, e.g. a bench's wrapper of it) as a child, its driver
    lines read on a thread; ``nice`` lowers the child's priority by that much (negative: raises it)."""

    def __init__(
        self, *args: str, config: Path, tree: Path = REPO, program: Sequence[str] = (), nice: int = 0
    ) -> None:
        env = {**BYTECODE_ENV, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(config)}
        self.started = time.time()
        self.proc = subprocess.Popen(
            [*(program or (sys.executable, "-m", "client_desktop")), "--no-audio", "--test-driver", *args],
            cwd=tree,  # ``-m`` puts the working directory first on sys.path
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.nice(nice)) if nice else None,
        )
        self.events: queue.Queue[Event] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.output.append(line)
            if line.startswith(PREFIX):
                self.events.put(json.loads(line.removeprefix(PREFIX)))

    def wait(self, kind: str, timeout_s: float = 20.0, **fields: Any) -> Event:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(queue.Empty):
                event = self.events.get(timeout=left)
                if event["event"] == kind and all(event.get(k) == v for k, v in fields.items()):
                    return event
        raise RuntimeError(f"no {kind!r} from the app; its output:\n" + "\n".join(self.output[-30:]))

    def command(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def quit(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.command("quit")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {field} for {pid}")
    return int(match.group(1)) / 1024


def bot(url: str, room: str, name: str, *extra: str) -> "subprocess.Popen[bytes]":
    cmd = [sys.executable, "-m", "client_desktop.bot", "--server", url, "--room", room, "--username", name]
    return subprocess.Popen([*cmd, *extra], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


# --- scenarios -------------------------------------------------------------------


@dataclass(frozen=True)
class LaunchResult:
    launch_s: tuple[float, ...]
    median_s: float
    python_bare_median_s: float
    qt_floor_median_s: float
    stack_floor_median_s: float
    rss_at_ready_mb: float
    imports_ms: dict[str, float]
    """Own import time by top-level package (the ten largest), and ``total``."""
    before_s: tuple[float, ...] = ()
    """The same launches of the ``--before`` tree, taken in turns with these."""


@dataclass(frozen=True)
class RoomResult:
    after_joined_ms: tuple[float, ...]
    median_ms: float
    max_ms: float
    launch_to_room_median_s: float
    lines: tuple[int, ...]
    """History lines shown at the first paint, per run."""


@dataclass(frozen=True)
class CallRssResult:
    users: tuple[str, ...]
    heard: tuple[str, ...]
    rss_mb: float
    hwm_mb: float
    bot_rss_mb: tuple[float, ...]


@dataclass(frozen=True)
class AppReport:
    machine: Machine
    loadavg_end: float
    took_s: float
    launch: LaunchResult | None
    room: RoomResult | None
    rss: CallRssResult | None


def launch_once(tree: Path) -> tuple[float, float]:
    """Seconds from launch to the window usable, and RSS (MB) then."""
    with tempfile.TemporaryDirectory(prefix="vx-app-bench-") as config:
        app = App(config=Path(config), tree=tree)
        try:
            ready = app.wait("ready")
            return ready["t"] - app.started, rss_mb(app.proc.pid)
        finally:
            app.quit()


def _shown_after(script: str) -> float:
    """Seconds from starting ``script`` to the time it prints (its window shown, its loop turned)."""
    t0 = time.time()
    shown = subprocess.run(
        [sys.executable, "-c", script],
        env={**BYTECODE_ENV, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(shown.stdout) - t0


def launch(runs: int, before: Path | None) -> LaunchResult:
    times_s: list[float] = []
    rss: list[float] = []
    before_s: list[float] = []
    for tree in [REPO] if before is None else [REPO, before]:
        launch_once(tree)  # not counted: writes the bytecode, warms the page cache
    bare: list[float] = []
    floor: list[float] = []
    stack: list[float] = []
    for run in range(runs):  # the floors in the same turns as the launches: the box's noise hits all
        # who goes first alternates
        trees = [REPO] if before is None else [REPO, before][:: 1 if run % 2 else -1]
        for tree in trees:
            took_s, mb = launch_once(tree)
            if tree == REPO:
                times_s.append(took_s)
                rss.append(mb)
            else:
                before_s.append(took_s)
        t0 = time.time()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.time() - t0)
        floor.append(_shown_after(QT_FLOOR))
        stack.append(_shown_after(STACK_FLOOR))
    return LaunchResult(
        launch_s=tuple(times_s),
        median_s=statistics.median(times_s),
        python_bare_median_s=statistics.median(bare),
        qt_floor_median_s=statistics.median(floor),
        stack_floor_median_s=statistics.median(stack),
        rss_at_ready_mb=statistics.median(rss),
        imports_ms=import_times(),
        before_s=tuple(before_s),
    )


def import_times(top: int = 10) -> dict[str, float]:
    """``-X importtime`` of the app module: each module's own time, summed by top-level package."""
    subprocess.run(
        [sys.executable, "-c", "import client_desktop.app"], cwd=REPO, env=BYTECODE_ENV, check=True
    )
    out = subprocess.run(  # from bytecode, as the launches are: compiling our source would be most of it
        [sys.executable, "-X", "importtime", "-c", "import client_desktop.app"],
        cwd=REPO,
        env=BYTECODE_ENV,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    by_package: dict[str, float] = {}
    for line in out.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)", line)
        if match:
            package = match.group(2).split(".")[0]
            by_package[package] = by_package.get(package, 0.0) + int(match.group(1)) / 1000
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])
    return {"total": round(sum(by_package.values()), 1)} | {k: round(v, 1) for k, v in ranked[:top]}


def room(runs: int) -> RoomResult:
    after_ms: list[float] = []
    launch_to_room_s: list[float] = []
    lines: list[int] = []
    with child_server("--chat-rate", "1000") as server:  # the history goes in quickly
        texts = [f"message {i}: the quick brown fox, https://example.org/{i}" for i in range(HISTORY)]
        say = [f"--say={t}" for t in texts]
        seeder = bot(server.url, "bench", "seeder", "--no-voice", "--duration", "3", *say)
        seeder.wait(timeout=30)
        for run in range(runs):
            with tempfile.TemporaryDirectory(prefix="vx-app-bench-") as config:
                app = App(
                    *("--server", server.url, "--room", "bench", "--username", f"alice{run}", "--join"),
                    config=Path(config),
                )
                try:
                    shown = app.wait("room-shown")
                    after_ms.append(float(shown["after_joined_ms"]))
                    launch_to_room_s.append(shown["t"] - app.started)
                    lines.append(int(shown["lines"]))
                finally:
                    app.quit()
    return RoomResult(
        after_joined_ms=tuple(after_ms),
        median_ms=statistics.median(after_ms),
        max_ms=max(after_ms),
        launch_to_room_median_s=statistics.median(launch_to_room_s),
        lines=tuple(lines),
    )


def call_rss() -> CallRssResult:
    with child_server() as server, tempfile.TemporaryDirectory(prefix="vx-app-bench-") as config:
        bots = [
            bot(server.url, "call", f"bot{i}", "--tone", str(hz), "--duration", "60")
            for i, hz in enumerate((330, 440, 550), 1)
        ]
        app: App | None = None
        try:
            for b in bots:  # each prints "* joined" once in
                assert b.stdout is not None
                b.stdout.readline()
            app = App(
                *("--server", server.url, "--room", "call", "--username", "alice", "--join"),
                config=Path(config),
            )
            joined = app.wait("joined")
            joined_at = time.monotonic()
            heard: set[str] = set()
            while len(heard) < len(bots):  # the call is up: each bot's tone is heard
                heard.add(app.wait("speaking", on=True)["name"])
            time.sleep(max(0.0, CALL_SETTLE_S - (time.monotonic() - joined_at)))
            return CallRssResult(
                users=tuple(joined["users"]),
                heard=tuple(sorted(heard)),
                rss_mb=rss_mb(app.proc.pid),
                hwm_mb=rss_mb(app.proc.pid, "VmHWM"),
                bot_rss_mb=tuple(round(rss_mb(b.pid), 1) for b in bots),
            )
        finally:
            if app is not None:
                app.quit()
            for b in bots:
                b.terminate()
                b.wait(timeout=10)


# --- report ----------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def report(r: AppReport) -> str:
    rows = ["| measure | result | target | verdict |", "|---|---|---|---|"]
    notes = []
    if r.launch is not None:
        la = r.launch
        runs = ", ".join(f"{s:.2f}" for s in la.launch_s)
        rows.append(
            f"| launch → login window usable, median | {la.median_s:.2f} s (runs: {runs} s) "
            f"| ≤ {TARGET_LAUNCH_S:.1f} s | {verdict(la.median_s <= TARGET_LAUNCH_S)} |"
        )
        if la.before_s:
            before_median = statistics.median(la.before_s)
            runs = ", ".join(f"{s:.2f}" for s in la.before_s)
            rows.append(
                f"| the same, `--before` tree, in turns | {before_median:.2f} s (runs: {runs} s) "
                f"| | now {la.median_s / before_median:.2f} times it |"
            )
            saved_ms = [(b - a) * 1000 for a, b in zip(la.launch_s, la.before_s, strict=True)]
            faster, saved = sum(ms > 0 for ms in saved_ms), statistics.median(saved_ms)
            rows.append(
                f"| saved per pair of launches (before minus now), median | {saved:.0f} ms "
                f"| | now faster in {faster} of {len(saved_ms)} pairs |"
            )
        imports = ", ".join(f"{k} {v:.0f} ms" for k, v in la.imports_ms.items() if k != "total")
        notes.append(
            f"- Bare `python -c pass`: {la.python_bare_median_s * 1000:.0f} ms; Qt's floor (one line "
            f"edit shown): {la.qt_floor_median_s * 1000:.0f} ms; with asyncio on it and msgspec (the stack's "
            f"floor): {la.stack_floor_median_s * 1000:.0f} ms, so voxroom's own part of the launch is "
            f"{(la.median_s - la.stack_floor_median_s) * 1000:.0f} ms. RSS at the login window "
            f"{la.rss_at_ready_mb:.0f} MB. `-X importtime` of `client_desktop.app`: "
            f"{la.imports_ms['total']:.0f} ms in all (the tracing inflates it); "
            f"own time by package: {imports}."
        )
    if r.room is not None:
        ro = r.room
        runs = ", ".join(f"{ms:.0f}" for ms in ro.after_joined_ms)
        rows.append(
            f"| server's `joined` → room with {HISTORY} history lines painted, median | "
            f"{ro.median_ms:.0f} ms (max {ro.max_ms:.0f}; runs: {runs} ms) "
            f"| ≤ {TARGET_ROOM_MS:.0f} ms | {verdict(ro.median_ms <= TARGET_ROOM_MS)} |"
        )
        notes.append(
            f"- Lines shown at that paint: {sorted(set(ro.lines))}. Launch with `--join` → room "
            f"painted, median {ro.launch_to_room_median_s:.2f} s."
        )
    if r.rss is not None:
        rs = r.rss
        rows.append(
            f"| app RSS in a 4-person call, {CALL_SETTLE_S:.0f} s after joining | {rs.rss_mb:.0f} MB "
            f"(peak {rs.hwm_mb:.0f} MB) | ≤ {TARGET_RSS_MB:.0f} MB "
            f"| {verdict(rs.rss_mb <= TARGET_RSS_MB)} |"
        )
        notes.append(
            f"- In the room: {', '.join(rs.users)}; heard speaking: {', '.join(rs.heard)}. "
            f"Each bot (same engine, no Qt): {', '.join(f'{mb:.0f}' for mb in rs.bot_rss_mb)} MB."
        )
    return "\n".join([*rows, "", *notes])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--only", default="launch,room,rss")
    p.add_argument("--json", type=Path)
    p.add_argument("--before", type=Path, help="another tree to launch in turns (launch only)")
    args = p.parse_args(argv)
    wanted = set(args.only.split(","))
    facts = machine()
    started = time.monotonic()
    results = AppReport(
        machine=facts,
        launch=launch(args.runs, args.before) if "launch" in wanted else None,
        room=room(args.runs) if "room" in wanted else None,
        rss=call_rss() if "rss" in wanted else None,
        took_s=round(time.monotonic() - started, 1),
        loadavg_end=round(os.getloadavg()[0], 2),
    )
    if args.json:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(results), indent=2))
    print(
        f"nproc {facts.nproc}, {facts.cpu}, Python {facts.python}; load average {facts.loadavg[0]} at start, "
        f"{results.loadavg_end} at end; took {results.took_s} s\n"
    )
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
