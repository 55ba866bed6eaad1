"""One call's path and figures in plain words, and which icon the people list shows for it.

Pure (no Qt): the people panel draws the ``PathLook`` and puts the words in
the row's tooltip, so a person can tell a relayed or struggling call from
a direct one without a debug window.
"""

from enum import Enum
from typing import assert_never

from ..engine.call_stats import PeerCallStats
from ..engine.events import CallState


class PathLook(Enum):
    """The icon a call gets: connecting until ICE has chosen a pair, then direct or relayed."""

    CONNECTING = "connecting"
    DIRECT = "direct"
    RELAYED = "relayed"
    FAILED = "failed"


def look(stats: PeerCallStats) -> PathLook:
    if stats.state is CallState.FAILED:
        return PathLook.FAILED
    if stats.path is None:
        return PathLook.CONNECTING
    return PathLook.RELAYED if stats.path.relayed else PathLook.DIRECT


def words(stats: PeerCallStats) -> str:
    """E.g. "Direct connection (UDP) · round trip 12 ms · loss 0.0 % · jitter 3 ms · buffer 60 ms"."""
    match look(stats):
        case PathLook.FAILED:
            return "The call could not connect"
        case PathLook.CONNECTING:
            return "Connecting the call…"
        case PathLook.DIRECT | PathLook.RELAYED as kind:
            assert stats.path is not None  # look() says so
            route = "Direct connection" if kind is PathLook.DIRECT else "Through the relay server"
            parts = [f"{route} ({stats.path.protocol.upper()})", _round_trip(stats.rtt_ms)]
            if stats.loss is not None:
                parts.append(f"loss {stats.loss * 100:.1f} %")
            if stats.jitter_ms is not None:
                parts.append(f"jitter {stats.jitter_ms:.0f} ms")
            if stats.playout_delay_ms is not None:
                parts.append(f"buffer {stats.playout_delay_ms:.0f} ms")
            return " · ".join(parts)
        case unknown:
            assert_never(unknown)


def _round_trip(rtt_ms: float | None) -> str:
    """Unknown for the first seconds of a call: the peer's first reports echo no sender report yet."""
    return "round trip measuring…" if rtt_ms is None else f"round trip {rtt_ms:.0f} ms"
