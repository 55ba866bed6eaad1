"""One side of a TURN benchmark call, run inside a NAT-lab namespace by bench/turn_bench.py.

``a`` joins, plays clicks once its call connects and leaves when they are
done; ``b`` waits in the room, stamps the clicks it renders, and leaves when
``a`` has gone. Each prints ``joined`` once in the room, then one JSON line
(``WorkerReport``) at the end. Every stamp is
``time.monotonic()``, which all namespaces share (one kernel, one clock), so
the parent can subtract a's stamps from b's.
"""

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a script in bench/

import msgspec
from engine_audio import ClockedPacedAudio
from engine_clicks import ClickTrack, Onsets

from client_desktop.bot_output import path_line
from client_desktop.engine import events
from client_desktop.engine.engine import Engine
from client_desktop.engine.media import Silence
from client_desktop.engine.uplink import TalkMode

CLICKS = 30
CONNECT_TIMEOUT_S = 20.0
STAY_LIMIT_S = 40.0
TAIL_S = 0.5
"""After the last click: time for it to cross the call."""


class WorkerReport(msgspec.Struct):
    started: float
    """Before the join."""
    connected: float | None
    """The first ``CallStateChanged`` to connected."""
    path: str
    """``client_desktop.bot_output.path_line`` at the end."""
    onsets: list[float]
    """Clicks captured (a) or rendered (b)."""


async def run(role: str, url: str, room: str, phase_s: float) -> WorkerReport:
    onsets = Onsets()
    track = ClickTrack(CLICKS, random.Random(7))
    audio = (
        ClockedPacedAudio(track, on_capture=onsets.feed)
        if role == "a"
        else ClockedPacedAudio(Silence(), phase_s, on_render=onsets.feed)
    )
    connected = asyncio.Event()
    departed = asyncio.Event()
    connected_at: list[float] = []

    def on_event(event: events.EngineEvent) -> None:
        if isinstance(event, events.CallStateChanged) and event.state is events.CallState.CONNECTED:
            connected_at.append(time.monotonic())
            connected.set()
        elif isinstance(event, events.PeerDeparted):
            departed.set()

    started = time.monotonic()
    engine = Engine(url, room, role, audio, on_event)
    engine.set_talk_mode(TalkMode.OPEN)
    await engine.start()
    print("joined", flush=True)
    path = "no call"
    try:
        await asyncio.wait_for(connected.wait(), CONNECT_TIMEOUT_S)
        if role == "a":
            track.arm()
            while not track.done:
                await asyncio.sleep(0.05)
            await asyncio.sleep(TAIL_S)
        else:
            await asyncio.wait_for(departed.wait(), STAY_LIMIT_S)
        if stats := await engine.call_stats():  # b's is gone with a
            path = path_line("b" if role == "a" else "a", stats[0])
    finally:
        await engine.leave()
    return WorkerReport(started, connected_at[0] if connected_at else None, path, onsets.times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("role", choices=["a", "b"])
    p.add_argument("--server", required=True)
    p.add_argument("--room", required=True)
    p.add_argument("--phase-ms", type=float, default=0.0, help="b's audio clock against a's (0-20 ms)")
    args = p.parse_args()
    report = asyncio.run(run(args.role, args.server, args.room, args.phase_ms / 1000))
    print(msgspec.json.encode(report).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
