"""Benchmark of the server under abuse (issue 9): a flood before join, and joiners that never read.

  flood    20 sockets write `leave` before join as fast as TCP takes it for 2.5 s;
           a joined bystander's chat round trip, before and during (target: within 2x);
           the log bytes written meanwhile
  silent   15 sockets join with `since: 0` a room whose history is full of the longest
           messages and never read; the server's RSS before, at peak and after they close
           (target: under +100 MB, and back after)

The server is a child process (tests/support/server.py, the tests' one launcher), so
its RSS is its own and the flooders (another process) do not share its core.

    .venv/bin/python bench/abuse_bench.py [--json FILE]
"""

import argparse
import asyncio
import json
import multiprocessing
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # a script in bench/: the packages live one level up

from vxbench_wire import frame, handshake  # noqa: E402 - beside this script

from tests.support.server import HOST, ServerProcess, child_server  # noqa: E402
from tests.test_server_abuse import vm_rss_bytes, write_full_history  # noqa: E402
from tests.wsclient import Client  # noqa: E402

FLOODERS = 20
FLOOD_S = 2.5
SILENT = 15
ROUND_TRIPS = 200


def flood(port: int, sockets: int, seconds: float, result: Any) -> None:
    """Child process: ``sockets`` threads each write `leave` frames before join, as fast as TCP takes."""
    block = frame(b'{"type":"leave"}') * 4096
    sent = [0] * sockets

    def one(i: int) -> None:
        request, _ = handshake(HOST, port)
        with socket.create_connection((HOST, port), timeout=seconds + 5) as sock:
            sock.sendall(request)
            deadline = time.monotonic() + seconds
            try:
                while time.monotonic() < deadline:
                    sock.sendall(block)
                    sent[i] += 4096
            except OSError:
                pass  # closed by the server

    threads = [threading.Thread(target=one, args=(i,)) for i in range(sockets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.put(sum(sent))


async def round_trips(client: Client, n: int, budget_s: float) -> list[float]:
    """Chat round trips in ms, one after another, paced under the chat budget (at most ``budget_s``)."""
    times: list[float] = []
    deadline = time.monotonic() + budget_s
    while len(times) < n and time.monotonic() < deadline:
        started = time.perf_counter()
        await client.send({"type": "chat", "text": "ping"})
        await client.expect("chat", timeout=10)
        times.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.06)  # ~16/s, under the 20/s chat budget
    return times


def summary(ms: list[float]) -> dict[str, float]:
    """Median, 90th percentile and worst: a few dozen samples have no meaningful p99."""
    ordered = sorted(ms)
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ordered), 3),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
        "max_ms": round(ordered[-1], 3),
    }


async def scenario_flood() -> dict[str, Any]:
    with child_server() as server:
        bystander = await Client.open(server.url)
        await bystander.join(username="bystander")
        baseline = await round_trips(bystander, ROUND_TRIPS, FLOOD_S * 4)
        log_before = server.log_path.stat().st_size
        sent: Any = multiprocessing.Queue()
        flooders = multiprocessing.Process(target=flood, args=(server.port, FLOODERS, FLOOD_S, sent))
        flooders.start()
        await asyncio.sleep(0.3)  # the flood is under way
        during = await round_trips(bystander, ROUND_TRIPS, FLOOD_S - 0.3)
        await asyncio.to_thread(flooders.join, 30)
        frames = sent.get(timeout=5)
        await bystander.close()
        base, flooded = summary(baseline), summary(during)
        return {
            "flooders": FLOODERS,
            "flood_s": FLOOD_S,
            "frames_written": frames,
            "log_bytes": server.log_path.stat().st_size - log_before,
            "baseline": base,
            "flood": flooded,
            "median_ratio": round(flooded["median_ms"] / base["median_ms"], 2),
            "p90_ratio": round(flooded["p90_ms"] / base["p90_ms"], 2),
            "max_ratio": round(flooded["max_ms"] / base["max_ms"], 2),
        }


async def scenario_silent(workdir: Path) -> dict[str, Any]:
    server = ServerProcess(workdir)
    write_full_history(server.data_dir, "full", 1000)
    server.start()
    try:
        bystander = await Client.open(server.url)
        await bystander.join(room="full", username="bystander", since=0)
        base = peak = vm_rss_bytes(server.pid)
        silent = [
            await Client.not_reading(server.url, room="full", username=f"s{n}", since=0)
            for n in range(SILENT)
        ]
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            peak = max(peak, vm_rss_bytes(server.pid))
            await asyncio.sleep(0.05)
        for client in silent:
            client.ws.transport.abort()
        deadline = time.monotonic() + 10
        while (await asyncio.to_thread(server.health))["clients"] > 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        after = vm_rss_bytes(server.pid)
        await bystander.close()
    finally:
        await server.stop()
    mib = 1024 * 1024
    return {
        "joiners": SILENT,
        "rss_base_mib": round(base / mib, 1),
        "rss_peak_delta_mib": round((peak - base) / mib, 1),
        "rss_after_delta_mib": round((after - base) / mib, 1),
    }


async def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vx-abuse-") as workdir:
        return {"flood": await scenario_flood(), "silent": await scenario_silent(Path(workdir))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = asyncio.run(main())
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
