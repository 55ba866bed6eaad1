"""The capture side: gate (mute, push-to-talk, voice activity), encode once, fan out.

One Opus encode feeds every peer: the packet is copied to each peer's
``PacketTrack``. Frames come from the capture thread (a device callback)
or the bot's audio clock (pacer.py); the packet crosses to the event loop
through ``loop.call_soon_threadsafe``, the capture side's one meeting point.
"""

import asyncio
import threading
from collections.abc import Callable

import numpy as np

from .opus import OpusEncoder
from .pcm import FRAME_SAMPLES, Pcm, level_dbfs
from .rtp import PacketTrack
from .shapes import DEFAULT_BITRATE_BPS as DEFAULT_BITRATE_BPS
from .shapes import DEFAULT_VAD_THRESHOLD_DBFS as DEFAULT_VAD_THRESHOLD_DBFS
from .shapes import TalkMode as TalkMode

VAD_HANGOVER_FRAMES = 15
"""Keep sending for 300 ms after the voice drops below the threshold, so words keep their tails."""
PAUSE_TAIL_FRAMES = 5
"""Silent frames still sent once the gate closes, so every decoder ends on true silence (libopus
needs three to get there from a loud frame)."""
PAUSE_KEEPALIVE_FRAMES = 10
"""Then one silent frame in ten (every 200 ms): enough for the call rules, which take a link with no
packet for 1 s as broken, and a tenth of the packets, which is what a big room's muted members cost
everyone (docs/benchmarks.md). The RTP timestamps skip the frames not sent, as with Opus DTX."""


class Uplink:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        tracks: Callable[[], list[PacketTrack]],
        bitrate_bps: int = DEFAULT_BITRATE_BPS,
    ) -> None:
        self._loop = loop
        self._tracks = tracks
        self._encoder = OpusEncoder(bitrate_bps=bitrate_bps)
        self._encoder_lock = threading.Lock()
        self._pts = 0
        self._hangover = 0
        self._silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        self.muted = False
        self.mode = TalkMode.VOICE_ACTIVITY
        self.vad_threshold_dbfs = DEFAULT_VAD_THRESHOLD_DBFS
        self.push_to_talk_pressed = False
        self.input_level_dbfs = -100.0
        self.transmitting = False
        self._silent_frames = 0

    def set_bitrate(self, bitrate_bps: int) -> None:
        with self._encoder_lock:
            self._encoder.set_bitrate(bitrate_bps)

    def process(self, frame: Pcm) -> None:
        """One 20 ms capture frame (any thread): gate, encode, hand to the loop (a pause sends less)."""
        level = level_dbfs(frame)
        self.input_level_dbfs = level
        self.transmitting = self._gate(level)
        pts = self._pts
        self._pts += FRAME_SAMPLES
        self._silent_frames = 0 if self.transmitting else self._silent_frames + 1
        paused = self._silent_frames - PAUSE_TAIL_FRAMES
        if paused > 0 and paused % PAUSE_KEEPALIVE_FRAMES:
            return
        with self._encoder_lock:
            payload = self._encoder.encode(frame if self.transmitting else self._silence)
        self._loop.call_soon_threadsafe(self._fan_out, payload, pts)

    def _gate(self, level_dbfs: float) -> bool:
        if self.muted:
            return False
        if self.mode is TalkMode.PUSH_TO_TALK:
            return self.push_to_talk_pressed
        if self.mode is TalkMode.VOICE_ACTIVITY:
            if level_dbfs >= self.vad_threshold_dbfs:
                self._hangover = VAD_HANGOVER_FRAMES
            elif self._hangover > 0:
                self._hangover -= 1
            return self._hangover > 0
        return True

    def _fan_out(self, payload: bytes, pts: int) -> None:
        for track in self._tracks():
            track.put(payload, pts)
