"""Where our audio path meets aiortc's RTP: packets in, packets out.

We use aiortc for ICE, DTLS, SRTP and RTP only. Sending, a ``PacketTrack``
hands aiortc Opus packets we encoded once for the whole mesh (aiortc then
skips its own per-peer encoder). Receiving, ``tap_receiver`` replaces the
receiver's jitter buffer (see playout.py for why) with a pass-through to
our own playout buffer. The tap relies on aiortc 1.16.0's internals: the
name-mangled ``RTCRtpReceiver.__jitter_buffer`` and its ``add(packet)``
being called with each RTP packet. That version is pinned in
pyproject.toml, and the audio tests of ``tests/engine/test_call.py`` (e.g.
``test_two_bots_hear_each_others_tone``) fail if the hook stops working.
"""

import asyncio
import fractions
import logging
from collections.abc import Callable
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket

from .pcm import SAMPLE_RATE

log = logging.getLogger("voxroom.rtp")

TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
MAX_QUEUED_PACKETS = 5
"""A sender more than 100 ms behind drops its oldest packets: live audio, not a file."""

OnPacket = Callable[[int, int, bytes], None]
"""(sequence number, RTP timestamp, Opus payload)"""


class PacketTrack(MediaStreamTrack):
    """An audio track that yields already-encoded Opus packets."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: asyncio.Queue[av.Packet[Any] | None] = asyncio.Queue()

    def put(self, payload: bytes, pts: int) -> None:
        while self._queue.qsize() >= MAX_QUEUED_PACKETS:
            self._queue.get_nowait()
        packet = av.Packet(payload)
        packet.pts = pts
        packet.time_base = TIME_BASE
        self._queue.put_nowait(packet)

    async def recv(self) -> "av.Packet[Any]":
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        super().stop()
        self._queue.put_nowait(None)


class _Tap:
    """Stands where aiortc's ``JitterBuffer`` was: forwards every packet, decodes nothing."""

    def __init__(self, on_packet: OnPacket) -> None:
        self._on_packet = on_packet

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        """Hand the packet on; "no PLI, no frame" to aiortc. For Opus the payload is the frame as sent."""
        self._on_packet(packet.sequence_number, packet.timestamp, packet.payload)
        return False, None


_JITTER_ATTR = "_RTCRtpReceiver__jitter_buffer"


def tap_receiver(receiver: RTCRtpReceiver, on_packet: OnPacket) -> None:
    """Route ``receiver``'s RTP payloads to ``on_packet`` instead of aiortc's decoder."""
    if not hasattr(receiver, _JITTER_ATTR):
        raise RuntimeError("aiortc's RTCRtpReceiver changed: the RTP tap needs aiortc 1.16.0")
    setattr(receiver, _JITTER_ATTR, _Tap(on_packet))
