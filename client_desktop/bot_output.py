"""What ``voxroom-bot`` prints: one line per event or call path, in words or as JSON.

In words, when a call connects and again at the end of the run, one line per
person says how the audio travels (``PATH_LINE``)::

    * call with bob: direct over udp (srflx to srflx), rtt 3 ms
    * call with bob: relayed over tcp (relay to srflx), rtt unknown
    * call with bob: not connected (connecting)

``relayed`` means a TURN relay carries the audio; the protocol is how our
packets leave us (to the relay when ours is the relayed candidate); the round
trip is unknown until the peer's first receiver report echoes ours. With
``--json``, every engine event and each call's path is one JSON object per
line (``JSON_HELP``), for scripts and tests.
"""

import dataclasses
import json
import math
import re
import sys
import time
from enum import Enum
from typing import assert_never, get_args

import msgspec

from .engine import events
from .engine.call_stats import PeerCallStats
from .engine.engine import Engine

PATH_LINE = re.compile(
    r"\* call with (?P<name>.+?): (?:(?P<route>direct|relayed) over (?P<protocol>udp|tcp|tls) "
    r"\((?P<local>\w+) to (?P<remote>\w+)\), rtt (?:(?P<rtt_ms>\d+) ms|unknown)"
    r"|not connected \((?P<state>\w+)\))$"
)
"""What ``path_line`` prints, for scripts and tests that read the bot's stdout."""


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


JSON_TYPES = [_kebab(kind.__name__) for kind in (*get_args(events.EngineEvent), PeerCallStats)]
"""Every ``type`` a ``--json`` line can have: the engine's events, and each call's path."""
JSON_HELP = (
    "With --json, stdout carries one JSON object per line instead: "
    '{"type": TYPE, FIELD: VALUE ...}, TYPE the class name in kebab case, one of '
    + ", ".join(JSON_TYPES)
    + "; the fields are those of the engine's events (client_desktop/engine/events.py) and of "
    "PeerCallStats (client_desktop/engine/call_stats.py), peers and chats as the protocol writes them "
    "(every field), enums as their values. levels-changed comes every 100 ms."
)


def json_line(value: object) -> str:
    """An engine event (or a call's ``PeerCallStats``) as one line of JSON, as ``JSON_HELP`` says."""
    fields = _plain(value)
    assert isinstance(fields, dict), value
    return json.dumps({"type": _kebab(type(value).__name__), **fields}, ensure_ascii=False)


def _plain(value: object) -> object:
    """JSON's values for ours: every field of a dataclass, and of a protocol struct by its wire name."""
    if isinstance(value, msgspec.Struct):
        return {f.encode_name: _plain(getattr(value, f.name)) for f in msgspec.structs.fields(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no infinity
    return value


def path_line(name: str, stats: PeerCallStats) -> str:
    """One person's call in words: direct or relayed, over what, between which candidates, and its RTT."""
    path = stats.path
    if path is None:
        return f"* call with {name}: not connected ({stats.state})"
    route = "relayed" if path.relayed else "direct"
    rtt = "unknown" if stats.rtt_ms is None else f"{stats.rtt_ms:.0f} ms"
    return f"* call with {name}: {route} over {path.protocol} ({path.local} to {path.remote}), rtt {rtt}"


async def print_paths(engine: Engine, peer_id: str | None = None, *, as_json: bool = False) -> None:
    """Print ``path_line`` (``as_json``: a ``peer-call-stats`` line) for ``peer_id``'s call, or every call."""
    for stats in await engine.call_stats():
        if peer_id in (None, stats.peer_id):
            peer = engine.peers.get(stats.peer_id)
            name = peer.username if peer else stats.peer_id
            print(json_line(stats) if as_json else path_line(name, stats), flush=True)


def print_json(event: events.EngineEvent) -> None:
    print(json_line(event), flush=True)


def print_event(event: events.EngineEvent) -> None:
    match event:
        case events.ChatReceived():
            chat = event.chat
            stamp = time.strftime("%H:%M:%S", time.localtime(chat.ts / 1000))
            print(f"[{stamp}] {chat.username}: {chat.text}", flush=True)
        case events.PeerArrived():
            print(f"* {event.peer.username} joined", flush=True)
        case events.RoomModerated():
            print(f"* {event.text}", flush=True)
        case events.ServerError():
            print(f"* server: {event.message}", file=sys.stderr, flush=True)
        case events.RelayUnusable():
            print(f"* relay: {event}", file=sys.stderr, flush=True)
        case events.MediaUnreachable():
            print("* media server: its media port cannot be reached from here", file=sys.stderr, flush=True)
        case events.AudioDeviceFailed():
            print(
                f"* audio: {event.message}; using {event.fallback or 'no audio'}", file=sys.stderr, flush=True
            )
        case events.ConnectionLost():
            print(
                f"* connection lost ({event.reason}); retrying in {event.retry_in_s:g} s",
                file=sys.stderr,
                flush=True,
            )
        case (
            events.RoomJoined()
            | events.HistoryPaged()
            | events.PeerDeparted()
            | events.PeerUpdated()
            | events.ConnectionFailed()
            | events.CallStateChanged()
            | events.LevelsChanged()
        ):
            pass  # the join and a final failure are printed by run(); the rest is noise on a console
        case _:
            assert_never(event)
