"""Benchmark: the app's event loop while a peer floods the chat at the server's rate limit.

Usage: ``.venv/bin/python bench/chat_flood_bench.py [--seconds 30] [--kind long] [--json OUT]``.
A run takes about ``--seconds`` plus 10 s.

A ``python -m signaling_server`` child with its default budget (chat 20 per
second, burst 40); the real app (``bench/chat_flood_app.py``: the app plus a
5 ms stall meter on its loop) offscreen, ``--no-audio``, joined. Then a
websockets client joins and sends its whole burst at once, then one chat
every 1/rate s for ``--seconds``: as fast as the server lets one peer talk.
Every fifth message mentions the app's user (highlighted, and a
notification when the window is not in front). The meter is read for the
same span idle before the flood, then from its first message until the app
has shown the last one. Kinds: ``long`` (the protocol's 2000 characters of
words, the worst layout), ``short``, ``combining`` (2000 characters, each
letter followed by 49 marks).
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from app_bench import App  # noqa: E402
from chat_flood_app import LAST  # noqa: E402
from chat_view_bench import texts  # noqa: E402

from protocol import limits  # noqa: E402
from tests.support.server import child_server  # noqa: E402

USER = "alice"
STALL_MS = 50.0
PREFIX = "VOXROOM "


async def flood(url: str, kind: str, seconds: float) -> tuple[int, int]:
    """Join as ``flood`` and send at the server's limit; the messages sent and the refusals."""
    rate, burst = limits.DEFAULT_CHAT_RATE_PER_S, limits.DEFAULT_CHAT_BURST
    total = burst + int(seconds * rate)
    refused = 0
    async with connect(url, subprotocols=["voxroom.v1"], max_size=None) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "join", "room": "flood", "username": "flood", "voice": False}))
        while json.loads(await ws.recv())["type"] != "joined":
            pass

        async def read() -> None:
            nonlocal refused
            async for data in ws:
                message = json.loads(data)
                refused += message["type"] == "error"

        reader = asyncio.create_task(read())
        start = time.monotonic()
        for i in range(total + 1):
            due = start + max(0, i - burst + 1) / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            text = texts(kind, i)[: limits.MAX_CHAT_CHARS - 12]
            text = LAST if i == total else f"@{USER} {text}" if i % 5 == 0 else text
            await ws.send(json.dumps({"type": "chat", "text": text}))
        await asyncio.sleep(1.0)
        reader.cancel()
    return total + 1, refused


def stalls(app: App) -> dict[str, Any]:
    app.command("stalls")
    return app.wait("stalls")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="how long the flood lasts after its burst"
    )
    parser.add_argument("--kind", default="long", choices=["long", "short", "combining"])
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--nice", type=int, default=0, help="the app's niceness (below 0 as root: ahead of other work)"
    )
    parser.add_argument(
        "--profile", type=Path, help="py-spy the app during the flood (raw folded stacks) to here"
    )
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with child_server() as server, tempfile.TemporaryDirectory(prefix="vx-flood-") as config:
        app = App(
            *("--server", server.url, "--room", "flood", "--username", USER, "--join"),
            config=Path(config),
            program=(sys.executable, str(REPO / "bench" / "chat_flood_app.py")),
            nice=args.nice,
        )
        try:
            app.wait("room-shown")
            stalls(app)
            time.sleep(args.seconds)
            idle = stalls(app)
            started = time.monotonic()
            spy = None
            if args.profile is not None:
                spy_cmd = [
                    str(REPO / ".venv/bin/py-spy"),
                    "record",
                    "-r",
                    "200",
                    "-f",
                    "raw",
                    "-o",
                    str(args.profile),
                ]
                spy = subprocess.Popen([*spy_cmd, "-p", str(app.proc.pid)], stdout=subprocess.DEVNULL)
            sent, refused = asyncio.run(flood(server.url, args.kind, args.seconds))
            shown = app.wait("chat", timeout_s=60.0, text=LAST, shown=True)
            flooded = stalls(app)
            took = time.monotonic() - started
            if spy is not None:
                spy.send_signal(2)
                spy.wait(30)
            alive = app.proc.poll() is None
        finally:
            app.quit()
    result = {
        "kind": args.kind,
        "nice": args.nice,
        "sent": sent,
        "refused": refused,
        "idle": idle,
        "flood": flooded,
    }
    print(f"load average at end: {os.getloadavg()[0]:.2f}; the app's niceness {args.nice}")
    print(f"{sent} chats ({args.kind}) in {took:.1f} s, {refused} refused; the last shown: {shown['shown']}")
    print("| loop | ticks | median ms | p99 ms | max ms | gaps > 50 ms |")
    print("|---|---|---|---|---|---|")
    for name, m in (("idle", idle), ("flooded", flooded)):
        print(
            f"| {name} | {m['ticks']} | {m['median_ms']} | {m['p99_ms']} | {m['max_ms']} | {m['over_50ms']} |"
        )
    print(f"gaps over 16 ms while flooded: {flooded['slow_ms']}")
    print("where the loop was while a tick was over 40 ms late (samples every 10 ms):")
    for place, count in flooded["where"]:
        print(f"  {count:4d}  {place}")
    print(f"app alive: {alive}; longest stall {'under' if flooded['max_ms'] <= STALL_MS else 'OVER'} 50 ms")
    if args.json is not None:
        args.json.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
