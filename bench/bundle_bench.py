"""Sizes and start-up times of the frozen programs (the bundles from packaging/build.sh).

    .venv/bin/python bench/bundle_bench.py [--dist dist] [--runs 7]

Start-up, each the median of ``--runs`` runs after one warm-up run (the first run after
unpacking reads the files from disk; it is reported too):

- app: ``voxroom --selftest`` off-screen; its ``window_ms`` is the time from the process's start
  (``/proc``) to the main window shown with its first events processed. The same for the app
  run from the venv, for comparison.
- server: from spawning ``voxroom-server`` (with the tests' launcher) to its ``listening on``
  line and a ``200`` from ``/health``, then SIGTERM.

Prints a Markdown table (docs/benchmarks.md, "Installers").
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a script in bench/: the packages live one level up

from tests.support.server import ServerProcess  # noqa: E402


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB ({n / 2**20:.1f} MiB)"


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _app_window_ms(command: list[str]) -> tuple[float, float]:
    """(window_ms reported by the self-test, wall-clock ms of the whole self-test)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    began = time.perf_counter()
    run = subprocess.run([*command, "--selftest"], capture_output=True, text=True, env=env, timeout=120)
    wall_ms = (time.perf_counter() - began) * 1000
    match = re.search(r"window_ms=(\d+)", run.stdout)
    if run.returncode != 0 or match is None:
        raise SystemExit(f"self-test failed: {run.stdout}{run.stderr}")
    return float(match.group(1)), wall_ms


def _server_health_ms(exe: Path) -> float:
    with tempfile.TemporaryDirectory() as workdir:
        server = ServerProcess(Path(workdir), command=[str(exe)])
        began = time.perf_counter()
        server.start()
        try:
            server.health()
            return (time.perf_counter() - began) * 1000
        finally:
            server.close()


def _median_after_warmup(runs: int, measure: Callable[[], float]) -> tuple[float, float]:
    first = measure()
    return first, statistics.median(measure() for _ in range(runs))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dist", type=Path, default=ROOT / "dist")
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    dist: Path = args.dist
    rows: list[tuple[str, str]] = []
    for name in ("voxroom", "voxroom-server"):
        archives = sorted(dist.glob(f"{name}-[0-9]*-linux-x86_64.tar.gz"))
        if not archives or not (dist / name / name).is_file():
            raise SystemExit(f"no {name} bundle in {dist}: run packaging/build.sh")
        archive = archives[-1]
        with tarfile.open(archive) as tar:
            files = sum(1 for m in tar.getmembers() if m.isfile())
        rows.append((f"`{archive.name}`", _mb(archive.stat().st_size)))
        rows.append((f"`{name}/` unpacked", f"{_mb(_tree_bytes(dist / name))}, {files} files"))

    app = [str(dist / "voxroom" / "voxroom")]
    first, median = _median_after_warmup(args.runs, lambda: _app_window_ms(app)[0])
    rows.append(("frozen app: process start to window shown", f"{median:.0f} ms (first run {first:.0f} ms)"))
    walls = [_app_window_ms(app)[1] for _ in range(3)]
    rows.append(("frozen app: whole `--selftest`, wall clock", f"{statistics.median(walls):.0f} ms"))
    venv = [sys.executable, "-m", "client_desktop"]
    _, venv_median = _median_after_warmup(args.runs, lambda: _app_window_ms(venv)[0])
    rows.append(("app from the venv: process start to window shown", f"{venv_median:.0f} ms"))
    server = dist / "voxroom-server" / "voxroom-server"
    first, median = _median_after_warmup(args.runs, lambda: _server_health_ms(server))
    rows.append(
        ("frozen server: spawn to first `/health` 200", f"{median:.0f} ms (first run {first:.0f} ms)")
    )

    print("| what | measured |\n|---|---|")
    for what, value in rows:
        print(f"| {what} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
