"""What a call with one peer looks like from here: the path it took, and how the audio fares.

The path comes from the ICE pair aioice nominated. Neither aiortc 1.16.0
nor aioice 0.13 offers it publicly (aiortc's ``getStats`` has no
candidate-pair report), so ``_ice_connection`` and ``_path`` read two private
attributes; both versions are pinned, and ``tests/engine/test_call.py``
fails if the path can no longer be read. The rest is aiortc's public
``getStats``: loss and jitter of what we receive, the round trip from the
peer's RTCP receiver reports.
"""

from dataclasses import dataclass
from typing import Any

from aiortc import RTCPeerConnection
from aiortc.stats import RTCInboundRtpStreamStats, RTCRemoteInboundRtpStreamStats

from .pcm import SAMPLE_RATE
from .shapes import CandidateType as CandidateType
from .shapes import ConnectionPath as ConnectionPath
from .shapes import PeerCallStats as PeerCallStats
from .shapes import TransportProtocol as TransportProtocol


@dataclass(frozen=True, slots=True)
class TransportStats:
    path: ConnectionPath | None
    rtt_ms: float | None
    loss: float | None
    jitter_ms: float | None


async def transport_stats(pc: RTCPeerConnection) -> TransportStats:
    rtt_ms = loss = jitter_ms = None
    report = await pc.getStats()
    for stats in report.values():
        if isinstance(stats, RTCRemoteInboundRtpStreamStats):
            rtt_ms = _rtt_ms(stats)
        elif isinstance(stats, RTCInboundRtpStreamStats):
            expected = stats.packetsReceived + stats.packetsLost
            loss = max(0, stats.packetsLost) / expected if expected > 0 else 0.0
            jitter_ms = stats.jitter / SAMPLE_RATE * 1000  # RTP timestamp units at 48 kHz
    return TransportStats(_path(pc), rtt_ms, loss, jitter_ms)


def _rtt_ms(stats: RTCRemoteInboundRtpStreamStats) -> float | None:
    """aiortc types the round trip as float, but it is None until a report echoes one of our
    sender reports, which the first reports after connecting do not."""
    rtt: float | None = stats.roundTripTime
    return None if rtt is None else rtt * 1000


def _path(pc: RTCPeerConnection) -> ConnectionPath | None:
    connection = _ice_connection(pc)
    pair = None if connection is None else connection._nominated.get(1)  # RTP's component
    if pair is None:
        return None
    local, remote = pair.local_candidate, pair.remote_candidate
    protocol = TransportProtocol(local.transport.lower())
    if local.type == CandidateType.RELAYED:  # the relayed leg is UDP; what counts is how we reach the relay
        protocol = (
            TransportProtocol.TLS
            if connection.turn_ssl
            else TransportProtocol.TCP
            if connection.turn_transport == "tcp"
            else TransportProtocol.UDP
        )
    return ConnectionPath(CandidateType(local.type), CandidateType(remote.type), protocol)


def _ice_connection(pc: RTCPeerConnection) -> Any:
    """aioice's ``Connection`` under the peer connection: private in aiortc 1.16.0 and aioice 0.13."""
    for sender in pc.getSenders():
        return sender.transport.transport._connection
    return None
