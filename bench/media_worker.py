"""One process of bench/media_bench.py: voxroom engines in one room, answering the bench on stdin/stdout.

Each engine is voxroom's own ``Engine`` on the 20 ms paced clock, as
voxroom-bot runs it: a tone for a talker, a muted microphone (the uplink
sends a 100 ms tail of silence, then one frame in ten, as the app does) for
the others. The bench sends one JSON line per question and reads one JSON
line back:

- ``status``: per engine its peer id, whether it joined with voice, call path, peers connected, when each
  peer was first connected (``time.monotonic()``, one clock for every process
  on the machine) and when audio was first audible in its playout;
- ``counters``: this process's CPU seconds and bytes on the wire summed over
  every peer connection its engines ever had (aiortc's transport stats, the
  figures tests/lab/janus_peer.py reads), a closed connection's last figures
  kept so the totals only grow (the connections are noted as aiortc makes them);
- ``quit``: the engines leave, and the process ends.

The process also ends after ``--max-s`` whatever happens, so a bench that
died leaves no engine running.
"""

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a script in bench/

from aiortc import RTCPeerConnection
from engine_audio import ClockedPacedAudio
from engine_calls import engine_pool, join
from engine_clicks import FirstAudio

from client_desktop.engine import events
from client_desktop.engine.engine import Engine
from client_desktop.engine.media import Silence, Source, Tone

_COUNTERS = {"bytes_sent": "bytesSent", "bytes_received": "bytesReceived"}
_connections: list[RTCPeerConnection] = []
"""Every connection made here, held so a closed one's last counters stay in the totals (a few per engine)."""
_last: dict[int, dict[str, int]] = {}
"""Each connection's last counters, by its place in ``_connections``."""


def _register_connections() -> None:
    """Note every RTCPeerConnection made in this process (the engine's own, mesh and media server alike)."""
    init = RTCPeerConnection.__init__

    def noted(self: RTCPeerConnection, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        _connections.append(self)

    RTCPeerConnection.__init__ = noted  # type: ignore[method-assign]


async def counters() -> dict[str, float]:
    for i, pc in enumerate(list(_connections)):
        if pc.connectionState == "closed" and i in _last:
            continue
        totals = dict.fromkeys(_COUNTERS, 0)
        for stats in (await pc.getStats()).values():
            if stats.type == "transport":
                for key, attribute in _COUNTERS.items():
                    totals[key] += getattr(stats, attribute)
        _last[i] = totals
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        **{key: sum(c[key] for c in _last.values()) for key in _COUNTERS},
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "at": time.monotonic(),
    }


class Member:
    """One engine and what the bench asks of it."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.voice = True
        self.connected_at: dict[str, float] = {}
        self.audible = FirstAudio()
        self.audible.arm()

    def on_event(self, event: events.EngineEvent) -> None:
        if isinstance(event, events.CallStateChanged) and event.state is events.CallState.CONNECTED:
            self.connected_at.setdefault(event.peer_id, time.monotonic())

    def status(self) -> dict[str, Any]:
        engine = self.engine
        assert engine is not None
        mode = engine.media_mode
        return {
            "id": engine.self_id,
            "voice": self.voice,
            "mode": None if mode is None else mode.value,
            "connected": len(engine.connected_peers),
            "connected_at": self.connected_at,
            "audible_at": self.audible.at,
        }


async def serve(args: argparse.Namespace) -> None:
    members = [Member() for _ in range(args.engines)]
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with engine_pool() as pool:
        for i, member in enumerate(members):
            talks = i < args.talkers
            source: Source = Tone(300.0 + 37 * (args.index + i), -12.0) if talks else Silence()
            audio = ClockedPacedAudio(source, on_render=member.audible.feed)
            started = time.monotonic()
            member.voice = i < args.engines - args.voice_off
            if member.voice:
                member.engine = await join(
                    pool, args.url, args.room, f"{args.name}-{i}", audio, on_event=member.on_event
                )
            else:  # in the room for its chat, out of the call
                member.engine = Engine(
                    args.url, args.room, f"{args.name}-{i}", audio, member.on_event, voice=False
                )
                pool.append(member.engine)
                await member.engine.start()
            member.engine.set_muted(not talks)
            print(json.dumps({"joined": i, "sent_at": started}), flush=True)
        while line := await reader.readline():
            op = json.loads(line)["op"]
            if op == "quit":
                break
            reply = await counters() if op == "counters" else [m.status() for m in members]
            print(json.dumps(reply), flush=True)


async def bounded(args: argparse.Namespace) -> None:
    try:
        async with asyncio.timeout(args.max_s):
            await serve(args)
    except TimeoutError:
        print("media_worker: --max-s reached, leaving", file=sys.stderr)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--room", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--index", type=int, default=0, help="of this process's first engine, for its tone")
    p.add_argument("--engines", type=int, default=1)
    p.add_argument("--talkers", type=int, default=0, help="the first this many engines play a tone")
    p.add_argument("--voice-off", type=int, default=0, help="the last this many engines join with voice off")
    p.add_argument("--max-s", type=float, default=300.0)
    _register_connections()
    asyncio.run(bounded(p.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
