"""One call's path and figures in plain words, and which icon the people list shows for it.

Pure but for Qt's translation of the words: the people panel draws the
``PathLook`` and puts the words in the row's tooltip, so a person can tell
a relayed or struggling call from a direct one without a debug window.
"""

from enum import Enum
from typing import assert_never

from PySide6.QtCore import QCoreApplication

from ..engine.events import CallState
from ..engine.shapes import PeerCallStats


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
            return QCoreApplication.translate("CallPath", "The call could not connect")
        case PathLook.CONNECTING:
            return QCoreApplication.translate("CallPath", "Connecting the call…")
        case PathLook.DIRECT | PathLook.RELAYED as kind:
            assert stats.path is not None  # look() says so
            route = (
                QCoreApplication.translate("CallPath", "Direct connection ({protocol})")
                if kind is PathLook.DIRECT
                else QCoreApplication.translate("CallPath", "Through the relay server ({protocol})")
            )
            parts = [route.format(protocol=stats.path.protocol.upper()), _round_trip(stats.rtt_ms)]
            if stats.loss is not None:
                parts.append(
                    QCoreApplication.translate("CallPath", "loss {percent} %").format(
                        percent=f"{stats.loss * 100:.1f}"
                    )
                )
            if stats.jitter_ms is not None:
                parts.append(
                    QCoreApplication.translate("CallPath", "jitter {ms} ms").format(
                        ms=f"{stats.jitter_ms:.0f}"
                    )
                )
            if stats.playout_delay_ms is not None:
                parts.append(
                    QCoreApplication.translate("CallPath", "buffer {ms} ms").format(
                        ms=f"{stats.playout_delay_ms:.0f}"
                    )
                )
            return " · ".join(parts)
        case unknown:
            assert_never(unknown)


def _round_trip(rtt_ms: float | None) -> str:
    """Unknown for the first seconds of a call: the peer's first reports echo no sender report yet."""
    return (
        QCoreApplication.translate("CallPath", "round trip measuring…")
        if rtt_ms is None
        else QCoreApplication.translate("CallPath", "round trip {ms} ms").format(ms=f"{rtt_ms:.0f}")
    )
