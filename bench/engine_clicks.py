"""Clicks: how the engine benchmark times audio from one side of a call to the other.

A click is a 10 ms, 1 kHz burst at about -6 dBFS. Its onset is the first
sample at or above a quarter of its peak, found by the same detector on the
sender's capture side and the receiver's playout side. A sample at index k
of a block stamped t is taken to be at t + k / 48 kHz on both sides, so a
pass-through with no delay would read 0 ms.
"""

import bisect
import random
from collections.abc import Callable, Sequence

import numpy as np
from engine_results import percentile_ms

from client_desktop.engine.opus import OpusDecoder, OpusEncoder
from client_desktop.engine.pcm import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE, Pcm
from client_desktop.engine.uplink import DEFAULT_BITRATE_BPS

CLICK_HZ = 1_000.0
CLICK_SAMPLES = 480
CLICK_PEAK = 16_000
"""About -6 dBFS: loud enough to stand far above codec noise, far from clipping."""
ONSET_LEVEL = CLICK_PEAK / 4
CLICK_EVERY_S = 0.3
REFRACTORY_S = 0.15
"""After an onset, the rest of the click (and its codec ringing) is not a new onset."""
MAX_LATENCY_S = 0.28
"""A heard click is paired with the latest sent one at most this long before: past it, the next click."""
EARLY_SLACK_S = 0.02
"""Bursty device callbacks (two 10 ms blocks at once) can stamp a click heard a little before it was sent."""
AUDIBLE_LEVEL = 32768 * 10 ** (-60 / 20)


def _burst() -> Pcm:
    n = np.arange(CLICK_SAMPLES)
    burst: Pcm = (CLICK_PEAK * np.sin(2 * np.pi * CLICK_HZ * n / SAMPLE_RATE)).astype(np.int16)
    return burst


BURST = _burst()


class ClickTrack:
    """A ``Source``: silence, then (once armed) ``clicks`` bursts about every 300 ms.

    Each click starts at a random sample of its frame, so the in-frame offset
    is swept rather than fixed: the measurement must hold for any offset.
    """

    def __init__(self, clicks: int, rng: random.Random) -> None:
        self.left = clicks
        self._rng = rng
        self._n = 0
        self._next: int | None = None
        self._spacing = round(CLICK_EVERY_S * SAMPLE_RATE) - FRAME_SAMPLES // 2

    def arm(self) -> None:
        self._next = self._n + self._rng.randrange(FRAME_SAMPLES)

    def read(self) -> Pcm:
        start = self._n
        self._n += FRAME_SAMPLES
        out = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        while self._next is not None and self._next < start + FRAME_SAMPLES:
            at = self._next
            lo, hi = max(at, start), min(at + CLICK_SAMPLES, start + FRAME_SAMPLES)
            out[lo - start : hi - start] = BURST[lo - at : hi - at]
            if at + CLICK_SAMPLES > start + FRAME_SAMPLES:
                break  # the burst goes on in the next frame
            self.left -= 1
            self._next = at + self._spacing + self._rng.randrange(FRAME_SAMPLES) if self.left > 0 else None
        return out

    @property
    def done(self) -> bool:
        return self.left == 0


def click_pcm(clicks: int, rng: random.Random, lead_s: float = 0.3) -> Pcm:
    """A click track: ``lead_s`` of silence, the clicks, 0.5 s of silence."""
    track = ClickTrack(clicks, rng)
    frames = [track.read() for _ in range(round(lead_s / FRAME_S))]
    track.arm()
    while not track.done:
        frames.append(track.read())
    frames += [np.zeros(FRAME_SAMPLES, dtype=np.int16)] * 25
    return np.concatenate(frames)


def click_bytes(clicks: int) -> bytes:
    """A click track for pacat (s16le)."""
    return click_pcm(clicks, random.Random(42)).astype("<i2").tobytes()


class Onsets:
    """Click onsets in a stream of stamped blocks (sample k of a block stamped t is at t + k / rate).

    Fed from PortAudio's threads as well as the loop: appends only.
    """

    def __init__(self) -> None:
        self.times: list[float] = []

    def feed(self, block: Pcm, stamp: float) -> None:
        loud = np.flatnonzero(np.abs(block.astype(np.int32)) >= ONSET_LEVEL)
        if not loud.size:
            return
        times = stamp + loud / SAMPLE_RATE
        if self.times:
            times = times[times >= self.times[-1] + REFRACTORY_S]
        if times.size:
            self.times.append(float(times[0]))


class FirstAudio:
    """Stamps the first audible sample rendered after ``arm()``."""

    def __init__(self) -> None:
        self.armed = False
        self.at: float | None = None

    def arm(self) -> None:
        self.armed, self.at = True, None

    def feed(self, frame: Pcm, stamp: float) -> None:
        if not self.armed or self.at is not None:
            return
        loud = np.flatnonzero(np.abs(frame.astype(np.int32)) >= AUDIBLE_LEVEL)
        if loud.size:
            self.at = stamp + float(loud[0]) / SAMPLE_RATE


def pair(sent: Sequence[float], heard: Sequence[float]) -> list[float]:
    """Latencies (s): each heard onset against the latest sent one before it, each sent one used once."""
    latencies: list[float] = []
    used: set[int] = set()
    for at in heard:
        i = bisect.bisect_right(sent, at + EARLY_SLACK_S) - 1
        if i >= 0 and i not in used and at - sent[i] < MAX_LATENCY_S:
            used.add(i)
            latencies.append(at - sent[i])
    return latencies


def shift_ms(transform: Callable[[Pcm], Pcm], frames: int = 250, lead: int = 50) -> float | None:
    """The clicks' median shift through a frame-by-frame transform: its own delay, with no clock involved.

    ``lead`` frames of silence first, so an adaptive transform reaches its steady state.
    """
    track = ClickTrack((frames - lead) // 20, random.Random(1))
    sent, heard = Onsets(), Onsets()
    for i in range(frames):
        if i == lead:
            track.arm()
        frame = track.read()
        sent.feed(frame, i * FRAME_S)
        heard.feed(transform(frame), i * FRAME_S)
    return percentile_ms(pair(sent.times, heard.times), 50)


def codec_delay_ms() -> float | None:
    """The click's shift through our Opus encoder and decoder alone: the part no buffer can remove."""
    encoder, decoder = OpusEncoder(bitrate_bps=DEFAULT_BITRATE_BPS), OpusDecoder()
    try:
        return shift_ms(lambda frame: decoder.decode(encoder.encode(frame)))
    finally:
        encoder.close()
        decoder.close()
