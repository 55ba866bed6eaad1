"""One remote peer's receive buffer: packets in whenever they come, 20 ms of audio out on our clock.

It replaces aiortc's jitter buffer: aiortc 1.16.0's ``RTCRtpReceiver``
builds ``JitterBuffer(capacity=16, prefetch=4)`` for audio, which holds 4
packets (80 ms) and, after a single loss, 14 (280 ms) for good. Here the
delay follows the network: one frame on a clean path, more while packets
arrive unevenly, and back down once they arrive evenly again (the spread
is forgotten after ``JITTER_WINDOW_S``, the excess dropped within
``DROP_PATIENCE_S`` more).

How the delay is chosen (every time is the caller's clock, in seconds):

- A packet's *transit* is its arrival time minus its media time (RTP
  timestamp / 48 kHz). The clocks' offset and the path's base delay are
  the same for every packet, so only differences matter: the late tail
  (95th percentile) of the last second's transits says when a packet is
  due at the latest. Late packets count too, so an outlier is learned from
  even when it is dropped; a single outlier, though, stays below the
  percentile and is left to FEC or concealment instead of delaying
  everyone.
- The *playout offset* is a pull's time minus the media time of the frame
  it plays. A frame is in time when its transit is at most the offset. The
  target offset is the late tail plus a 2 ms guard, plus one frame while
  packets are being lost and the sender sends FEC, so that the next packet
  is at hand when one is missing.
- The offset moves in whole frames. It grows when the next frame is
  missing while the offset is below target: the buffer conceals in place
  and waits for it. It shrinks when a frame is dropped (at once if two or
  more frames above target; with one frame above, when a quiet frame
  comes or after 0.3 s), or when lost frames are skipped while above
  target. The same two moves absorb clock drift between the two ends.
- A frame missing with the offset on target is lost: rebuilt from the
  next packet's FEC when that packet is here (even below target), else
  concealed. On a clean path, one frame deep, the next packet is not here
  yet, so a single loss is concealed rather than waited for: waiting
  conceals anyway, and libopus then ramps in what follows (FEC decoded
  after a concealed frame comes out far too quiet, from a clean state at
  full level: docs/benchmarks.md).
- Missing audio is concealed (libopus PLC) for 40 ms at full level, faded
  out over the next 40 ms; at 100 ms the buffer outputs silence and starts
  over (re-buffers) when packets come back.

Pure logic: no threads, no I/O, no sleeping. The caller serialises calls.
"""

import math
from collections import deque
from dataclasses import asdict, dataclass
from typing import Final

import numpy as np

from .opus import OpusDecoder, OpusError, packet_has_fec, packet_samples
from .pcm import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE, Pcm, level_dbfs

JITTER_WINDOW_S: Final = 1.0
"""How long a transit sample counts; after a jitter spike the delay comes down this much later."""
LATE_QUANTILE: Final = 0.95
GUARD_S: Final = 0.002
"""Margin between a packet's latest expected arrival and its pull, for timing noise."""
LOSS_WINDOW_S: Final = 2.0
LOSSES_FOR_FEC_HEADROOM: Final = 2
"""Gaps within ``LOSS_WINDOW_S`` that make one extra frame worth holding for FEC."""
DROP_PATIENCE_S: Final = 0.3
QUIET_DBFS: Final = -45.0
"""Below -45 dBFS a frame is dropped as soon as there is one frame too many."""
CONCEAL_FULL_FRAMES: Final = 2
CONCEAL_MAX_FRAMES: Final = 5
"""At the 5th missing frame in a row (100 ms), output silence and re-buffer."""
MAX_BUFFER_FRAMES: Final = 50
"""One second: beyond that the oldest frames are dropped, whatever the estimate says."""
STREAM_JUMP_FRAMES: Final = 250
"""A timestamp 5 s away from the newest one is a new stream (the sender restarted)."""

_FRAME_TICKS: Final = FRAME_SAMPLES
"""RTP timestamp ticks per 20 ms frame: the Opus RTP clock is always 48 kHz (RFC 7587)."""
_SEQ_MOD: Final = 1 << 16
_TS_MOD: Final = 1 << 32
_RECENT_FRAMES: Final = 64


@dataclass(frozen=True, slots=True)
class PlayoutStats:
    """A snapshot. Output counts (per pull): played, fec_recovered, concealed (silence is not counted).

    Input counts (per packet or frame): lost (slot passed without the packet), paused (the same after
    a quiet frame: the sender's pause, see uplink.py, or a loss in silence), dropped_late (arrived
    after its slot), dropped_for_latency (received but skipped to cut delay), duplicates, invalid (not a
    20 ms Opus packet, or failed to decode), rebuffers (started over after an outage or a sender restart).
    """

    depth_ms: float
    """Audio received and not yet played, from the next frame to the newest (holes included)."""
    target_ms: float
    """One frame + jitter + FEC headroom: about the most the depth should read just before a pull."""
    jitter_ms: float
    """Spread of recent transit times: the 95th percentile minus the minimum, over the last second."""
    delay_ms: float
    """How long the earliest-arriving packets wait before they play (0 while not playing)."""
    played: int
    fec_recovered: int
    concealed: int
    lost: int
    paused: int
    dropped_late: int
    dropped_for_latency: int
    duplicates: int
    invalid: int
    rebuffers: int


@dataclass(slots=True)
class _Counters:
    played: int = 0
    fec_recovered: int = 0
    concealed: int = 0
    lost: int = 0
    paused: int = 0
    dropped_late: int = 0
    dropped_for_latency: int = 0
    duplicates: int = 0
    invalid: int = 0
    rebuffers: int = 0


@dataclass(frozen=True, slots=True)
class _Packet:
    seq: int
    payload: bytes
    has_fec: bool


class PlayoutBuffer:
    """Push RTP Opus payloads as they arrive; pull 960 samples every 20 ms."""

    _ts_base: int | None
    _ts_newest: int
    _frames: dict[int, _Packet]
    _recent: set[int]
    _played_upto: int | None
    _cursor: int | None
    _last_seq: int | None

    def __init__(self) -> None:
        self._decoder = OpusDecoder()
        self._n = _Counters()
        self._transits: deque[tuple[float, float]] = deque()
        self._losses: deque[float] = deque()
        self._late_s = 0.0
        self._jitter_s = 0.0
        self._fec_seen_s: float | None = None
        self._now_s = 0.0
        self._offset_s = 0.0
        self._min_s = 0.0
        self._conceal_run = 0
        self._gain = 0.0
        self._excess_since: float | None = None
        self._in_gap = False
        self._last_played: Pcm | None = None
        self._new_stream()

    def _new_stream(self) -> None:
        """Forget the sender's timeline: first packet, or the sender started over."""
        self._ts_base = None
        self._ts_newest = 0
        self._frames = {}
        self._recent = set()
        self._played_upto = None
        self._cursor = None
        self._last_seq = None
        self._transits.clear()
        self._losses.clear()

    def close(self) -> None:
        self._decoder.close()

    # -- input

    def push(self, seq: int, rtp_ts: int, payload: bytes, now_s: float) -> None:
        """Take one packet (16-bit ``seq``, 32-bit ``rtp_ts``, both may wrap); never raises for bad data."""
        try:
            valid = packet_samples(payload) == FRAME_SAMPLES
        except OpusError:
            valid = False
        if not valid:
            self._n.invalid += 1
            return
        index, media_s = self._locate(rtp_ts)
        if index in self._frames or index in self._recent:
            self._n.duplicates += 1
            return
        self._transits.append((now_s, now_s - media_s))
        self._forget_old(now_s)
        if self._played_upto is not None and index <= self._played_upto:
            self._n.dropped_late += 1
            return
        packet = _Packet(seq % _SEQ_MOD, payload, packet_has_fec(payload))
        if packet.has_fec:
            self._fec_seen_s = now_s
        self._frames[index] = packet
        while len(self._frames) > MAX_BUFFER_FRAMES:
            oldest = min(self._frames)
            del self._frames[oldest]
            self._n.dropped_for_latency += 1
            self._consume(oldest, None)

    def _locate(self, rtp_ts: int) -> tuple[int, float]:
        """Frame index and media time (s) of a timestamp, unwrapped around the newest one seen."""
        ts = rtp_ts % _TS_MOD
        delta = (ts - self._ts_newest + _TS_MOD // 2) % _TS_MOD - _TS_MOD // 2
        if self._ts_base is not None and abs(delta) > STREAM_JUMP_FRAMES * _FRAME_TICKS:
            self._n.rebuffers += 1
            self._new_stream()
        if self._ts_base is None:
            self._ts_base = self._ts_newest = ts
            delta = 0
        extended = self._ts_newest + delta
        self._ts_newest = max(self._ts_newest, extended)
        ticks = extended - self._ts_base
        return round(ticks / _FRAME_TICKS), ticks / SAMPLE_RATE

    def _forget_old(self, now_s: float) -> None:
        while self._transits and self._transits[0][0] < now_s - JITTER_WINDOW_S:
            self._transits.popleft()
        while self._losses and self._losses[0] < now_s - LOSS_WINDOW_S:
            self._losses.popleft()

    # -- output

    def pull(self, now_s: float) -> Pcm:
        """The next 20 ms (960 int16 samples); silence before the first packet and while re-buffering."""
        self._now_s = now_s
        self._forget_old(now_s)
        if self._transits:
            transits = sorted(transit for _, transit in self._transits)
            self._late_s = transits[min(len(transits) - 1, math.ceil(LATE_QUANTILE * len(transits)) - 1)]
            self._min_s = transits[0]
            self._jitter_s = self._late_s - self._min_s
        if self._cursor is None and not self._start(now_s):
            return self._silence()
        return self._play(now_s)

    def _headroom_s(self, now_s: float) -> float:
        recent_fec = self._fec_seen_s is not None and now_s - self._fec_seen_s <= LOSS_WINDOW_S
        return FRAME_S if recent_fec and len(self._losses) >= LOSSES_FOR_FEC_HEADROOM else 0.0

    def _excess_frames(self, now_s: float, index: int) -> int:
        """Whole frames of delay beyond the target if ``index`` plays now (negative: below target)."""
        offset_s = now_s - index * FRAME_S
        return math.floor((offset_s - self._late_s - GUARD_S - self._headroom_s(now_s)) / FRAME_S)

    def _start(self, now_s: float) -> bool:
        """(Re)start at the frame that puts the delay on target, once it is here; skipping is free now."""
        if not self._frames:
            return False
        due = math.floor((now_s - self._late_s - GUARD_S - self._headroom_s(now_s)) / FRAME_S)
        if due < min(self._frames):
            return False
        start = min(due, max(self._frames))
        for index in sorted(i for i in self._frames if i < start):
            del self._frames[index]
            self._n.dropped_for_latency += 1
            self._consume(index, None)
        self._cursor = start
        self._decoder.reset()
        self._last_seq = None
        self._conceal_run = 0
        self._excess_since = None
        return True

    def _play(self, now_s: float) -> Pcm:
        assert self._cursor is not None
        index = self._cursor
        self._offset_s = now_s - index * FRAME_S
        excess = self._excess_frames(now_s, index)
        if excess < 1:
            self._excess_since = None
        elif self._excess_since is None:
            self._excess_since = now_s
        packet = self._frames.pop(index, None)
        if packet is not None:
            return self._play_packet(now_s, index, packet, excess)
        if excess < 0 and self._fec_source(index) is None:
            # Below target: packets have lately come this late, so this one may still come. Wait in
            # place; this is how the delay grows (jitter rising, a sender clock slower than ours).
            # With FEC at hand, though, the frame is rebuilt now: nearly as good as the original,
            # while a wait conceals first and libopus then ramps the next frame back in.
            return self._conceal(advance=False)
        return self._recover(now_s, index, excess)

    def _fec_source(self, index: int) -> _Packet | None:
        """The next frame's packet, if it carries FEC for ``index`` (and was not just a DTX pause)."""
        after = self._frames.get(index + 1)
        if after is None or not after.has_fec:
            return None
        if self._last_seq is not None and (after.seq - self._last_seq) % _SEQ_MOD < 2:
            return None
        return after

    def _recover(self, now_s: float, index: int, excess: int) -> Pcm:
        """The frame at ``index`` is lost (or later than the estimate allows): FEC, skip or conceal.

        After a quiet frame it is a pause (a muted or silent sender sends one frame in ten): it is
        concealed the same way, but does not count as a loss, which would hold an extra frame of
        delay for FEC when the voice comes back."""
        pause = self._quiet()
        if not self._in_gap:
            if not pause:
                self._losses.append(now_s)
            self._in_gap = True
        while True:
            if pause:
                self._n.paused += 1
            else:
                self._n.lost += 1
            after = self._fec_source(index)
            if after is not None:
                try:
                    pcm = self._decoder.decode_fec(after.payload)
                except OpusError:
                    self._n.invalid += 1
                    break
                self._n.fec_recovered += 1
                self._consume(index, None)
                self._last_seq = (after.seq - 1) % _SEQ_MOD
                return self._audio(pcm)
            if excess < 1 or not self._frames:
                break
            # Delay to spare and newer frames here: skip the lost one rather than conceal it.
            self._consume(index, None)
            index, excess = index + 1, excess - 1
            packet = self._frames.pop(index, None)
            if packet is not None:
                return self._play_packet(now_s, index, packet, excess)
        return self._conceal(advance=True)

    def _play_packet(self, now_s: float, index: int, packet: _Packet, excess: int) -> Pcm:
        try:
            pcm = self._decoder.decode(packet.payload)
        except OpusError:
            self._n.invalid += 1
            return self._recover(now_s, index, excess)
        self._consume(index, packet.seq)
        self._last_played = pcm
        after = self._frames.get(index + 1)
        if after is not None and excess >= 1 and self._should_drop(now_s, excess):
            self._n.dropped_for_latency += 1
            self._excess_since = None
            del self._frames[index + 1]
            try:
                pcm = self._decoder.decode(after.payload)
            except OpusError:
                self._n.invalid += 1
            self._consume(index + 1, after.seq)
        self._n.played += 1
        return self._audio(pcm)

    def _should_drop(self, now_s: float, excess: int) -> bool:
        if excess >= 2:
            return True
        if self._excess_since is not None and now_s - self._excess_since >= DROP_PATIENCE_S:
            return True
        return self._quiet()

    def _quiet(self) -> bool:
        """Whether the last frame decoded from a packet was quiet: asked at a gap's start and before a
        drop, not for every frame (this runs in the audio callback)."""
        pcm = self._last_played
        return pcm is not None and level_dbfs(pcm) < QUIET_DBFS

    def _consume(self, index: int, seq: int | None) -> None:
        """The slot ``index`` is done: later packets for it are late, a repeat of it a duplicate."""
        self._played_upto = index if self._played_upto is None else max(self._played_upto, index)
        if self._cursor is not None and self._cursor <= index:
            self._cursor = index + 1
        if seq is not None:
            self._last_seq = seq
            self._recent.add(index)
            if len(self._recent) > 2 * _RECENT_FRAMES:
                self._recent = {i for i in self._recent if i > index - _RECENT_FRAMES}

    def _conceal(self, *, advance: bool) -> Pcm:
        self._conceal_run += 1
        if self._conceal_run >= CONCEAL_MAX_FRAMES:
            self._cursor = None
            self._n.rebuffers += 1
            return self._silence()
        pcm = self._decoder.conceal()
        self._n.concealed += 1
        if advance and self._cursor is not None:
            self._consume(self._cursor, None)
        fade_frames = CONCEAL_MAX_FRAMES - 1 - CONCEAL_FULL_FRAMES
        gain = min(1.0, max(0.0, (CONCEAL_MAX_FRAMES - 1 - self._conceal_run) / fade_frames))
        return self._ramp(pcm, min(gain, self._gain))

    def _audio(self, pcm: Pcm) -> Pcm:
        self._conceal_run = 0
        self._in_gap = False
        return self._ramp(pcm, 1.0)

    def _ramp(self, pcm: Pcm, gain: float) -> Pcm:
        """Scale from the previous frame's end gain to ``gain``, so fades and resumes do not click."""
        start, self._gain = self._gain, gain
        if start == gain == 1.0:
            return pcm
        ramp = np.linspace(start, gain, FRAME_SAMPLES, dtype=np.float32)
        shaped: Pcm = np.rint(pcm * ramp).astype(np.int16)
        return shaped

    def _silence(self) -> Pcm:
        self._gain = 0.0
        return np.zeros(FRAME_SAMPLES, dtype=np.int16)

    # -- observation

    @property
    def stats(self) -> PlayoutStats:
        depth = 0
        if self._frames:
            first = self._cursor if self._cursor is not None else min(self._frames)
            depth = max(0, max(self._frames) - first + 1)
        headroom_s = self._headroom_s(self._now_s)
        return PlayoutStats(
            depth_ms=depth * FRAME_S * 1000,
            target_ms=(FRAME_S + self._jitter_s + headroom_s) * 1000,
            jitter_ms=self._jitter_s * 1000,
            delay_ms=max(0.0, self._offset_s - self._min_s) * 1000 if self._cursor is not None else 0.0,
            **asdict(self._n),
        )
