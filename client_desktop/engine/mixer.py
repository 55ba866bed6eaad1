"""Every peer's playout buffer, mixed with per-peer gain into one output frame, and the cues.

This is where the playout side meets the event loop: packets are pushed
from the loop's thread, frames are rendered from the playout thread (the
output device's callback, or the bot's audio clock in pacer.py), under one
short lock. A peer's gain and server mute belong to the peer, not to one
call: they are kept when a call is made again, and forgotten when the peer
leaves. Cues (``play``) are added after the peers' levels are taken, so
they never light anyone's speaking light.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .pcm import FRAME_SAMPLES, SILENCE_DBFS, Pcm, level_dbfs
from .playout import PlayoutBuffer, PlayoutStats
from .rtp import OnPacket


@dataclass
class _Peer:
    buffer: PlayoutBuffer
    level_dbfs: float = SILENCE_DBFS


class Mixer:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._peers: dict[str, _Peer] = {}
        self._gains: dict[str, float] = {}
        self._silenced: set[str] = set()
        self._cue = np.zeros(0, dtype=np.float32)
        self.deafened = False

    def input_for(self, peer_id: str) -> OnPacket:
        """The packet sink for one peer's RTP (a fresh playout buffer each call)."""
        with self._lock:
            self._peers[peer_id] = _Peer(PlayoutBuffer())

        def push(seq: int, timestamp: int, payload: bytes) -> None:
            now = self._clock()
            with self._lock:
                peer = self._peers.get(peer_id)
                if peer is not None:
                    peer.buffer.push(seq, timestamp, payload, now)

        return push

    def remove(self, peer_id: str) -> None:
        """The call with ``peer_id`` ended: its buffer goes; its gain and mute stay for the next call."""
        with self._lock:
            self._peers.pop(peer_id, None)

    def forget(self, peer_id: str) -> None:
        """``peer_id`` left the room: nothing of it stays."""
        with self._lock:
            self._peers.pop(peer_id, None)
            self._gains.pop(peer_id, None)
            self._silenced.discard(peer_id)

    def silence(self, peer_id: str, silenced: bool) -> None:
        """Play nothing of ``peer_id`` (the server muted it): its own client may ignore the mute."""
        with self._lock:
            if silenced:
                self._silenced.add(peer_id)
            else:
                self._silenced.discard(peer_id)

    def set_gain(self, peer_id: str, gain: float) -> None:
        """Set before the call exists too (a volume remembered for a name applies as the peer arrives)."""
        with self._lock:
            self._gains[peer_id] = max(0.0, gain)

    def play(self, cue: npt.NDArray[np.float32]) -> None:
        """Add a cue (int16 units as float) to what is rendered next, over any cue still playing."""
        with self._lock:
            rest = self._cue
            self._cue = np.zeros(max(len(rest), len(cue)), dtype=np.float32)
            self._cue[: len(rest)] += rest
            self._cue[: len(cue)] += cue

    @property
    def peer_ids(self) -> list[str]:
        with self._lock:
            return list(self._peers)

    def levels(self) -> dict[str, float]:
        """Each peer's level (dBFS) in the last rendered frame, before gain: who is speaking."""
        with self._lock:
            return {peer_id: peer.level_dbfs for peer_id, peer in self._peers.items()}

    def stats(self, peer_id: str) -> PlayoutStats:
        with self._lock:
            return self._peers[peer_id].buffer.stats

    def render(self) -> Pcm:
        """The next 20 ms of mixed audio; every buffer, and the cue, is pulled even when deafened."""
        now = self._clock()
        mixed = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        with self._lock:
            for peer_id, peer in self._peers.items():
                frame = peer.buffer.pull(now)
                if peer_id in self._silenced:
                    peer.level_dbfs = SILENCE_DBFS
                    continue
                peer.level_dbfs = level_dbfs(frame)
                if gain := self._gains.get(peer_id, 1.0):
                    mixed += frame.astype(np.float32) * gain
            cue, self._cue = self._cue[:FRAME_SAMPLES], self._cue[FRAME_SAMPLES:]
        mixed[: len(cue)] += cue
        if self.deafened:
            return np.zeros(FRAME_SAMPLES, dtype=np.int16)
        return np.clip(mixed, -32768, 32767).astype(np.int16)
