"""The engine benchmark's in-memory scenarios: mouth-to-ear, call set-up, CPU per mesh peer, loss recovery.

Each runs real engines against a real signaling server on 127.0.0.1 (the
tests' launcher), with aiortc connections between them and paced clocks
instead of sound cards. The PulseAudio scenario is in engine_pulse.py.
"""

import asyncio
import contextlib
import random
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import fields

import numpy as np
from engine_audio import BenchMixer, ClockedPacedAudio
from engine_calls import SETTLE_S, all_connected, engine_pool, join, peer_of, playout_delay_ms, until
from engine_clicks import MAX_LATENCY_S, ClickTrack, FirstAudio, Onsets, codec_delay_ms, pair
from engine_results import (
    BurstTrial,
    CpuResult,
    CpuRow,
    Latency,
    LossResult,
    MemoryResult,
    Plan,
    SetupResult,
    SetupSteps,
    median_of,
    rounded,
)
from vxbench_machine import machine_cpu

from client_desktop.engine import events
from client_desktop.engine.engine import Engine
from client_desktop.engine.media import Silence, Tone
from client_desktop.engine.pacer import PacedAudio
from client_desktop.engine.pcm import FRAME_S
from tests.support.server import child_server, in_process_server

SAMPLE_EVERY_S = 0.1
BURST_S = 0.3
RECOVERY_WINDOW_S = 3.0
RECOVERY_MARGIN_MS = 10.0
CPU_SLICES = 5
"""The window is cut in slices and the median slice taken: a neighbour's burst then skews one slice only."""
MESH_GAP_S = 1.0
"""Between mesh sizes: the closing connections stay out of the next window."""


# --- mouth-to-ear in memory -----------------------------------------------------------------------


async def m2e_memory(plan: Plan) -> MemoryResult:
    """Clicks from A's capture to B's playout, both on paced clocks; one fresh call per clock phase."""
    latencies: list[float] = []
    delays: list[float | None] = []
    sent = heard = 0
    async with in_process_server() as server:
        for i in range(plan.phases):
            phase_s = i * FRAME_S / plan.phases
            track = ClickTrack(plan.clicks_per_phase, random.Random(i))
            sent_at, heard_at = Onsets(), Onsets()
            delays += await m2e_call(server.url, f"m2e-{i}", phase_s, track, sent_at, heard_at)
            latencies += pair(sent_at.times, heard_at.times)
            sent, heard = sent + len(sent_at.times), heard + len(heard_at.times)
    return MemoryResult(
        latency=Latency.of(latencies, sent, heard),
        phases=plan.phases,
        playout_delay_ms_median=median_of(delays),
        codec_delay_ms=rounded(codec_delay_ms()),
    )


def one_peer_delay(engine: Engine) -> list[float | None]:
    """The playout delay of the engine's one peer (None before its voice arrived)."""
    return [playout_delay_ms(engine)]


async def m2e_call(
    url: str,
    room: str,
    phase_s: float,
    track: ClickTrack,
    sent: Onsets,
    heard: Onsets,
    *,
    connect_s: float = 15.0,
    delays_of: Callable[[Engine], Sequence[float | None]] = one_peer_delay,
) -> list[float | None]:
    """One call: A plays ``track``; returns B's playout delay (``delays_of``) sampled while the clicks ran."""
    delays: list[float | None] = []
    async with engine_pool() as pool:
        await join(pool, url, room, "a", ClockedPacedAudio(track, 0.0, on_capture=sent.feed))
        b = await join(pool, url, room, "b", ClockedPacedAudio(Silence(), phase_s, on_render=heard.feed))
        await until(all_connected(pool), connect_s, "call")
        await asyncio.sleep(SETTLE_S)
        track.arm()
        while not track.done:
            await asyncio.sleep(SAMPLE_EVERY_S)
            delays += delays_of(b)
        await asyncio.sleep(MAX_LATENCY_S + 0.1)  # the last click's way through
    return delays


# --- call set-up ----------------------------------------------------------------------------------


async def setup_time(plan: Plan) -> SetupResult:
    """A fresh A joins a room where B waits, once per trial; the first trial warms up and is not counted."""
    mixer, audible = BenchMixer(), FirstAudio()
    arrived: dict[str, float] = {}
    connected: dict[str, float] = {}

    def on_b(event: events.EngineEvent) -> None:
        if isinstance(event, events.PeerArrived):
            arrived[event.peer.id] = time.monotonic()
        elif isinstance(event, events.CallStateChanged) and event.state is events.CallState.CONNECTED:
            connected.setdefault(event.peer_id, time.monotonic())

    trials: list[SetupSteps] = []
    async with in_process_server() as server, engine_pool() as pool:
        b_audio = ClockedPacedAudio(Silence(), on_render=audible.feed)
        b = await join(pool, server.url, "setup", "b", b_audio, mixer=mixer, on_event=on_b)
        for i in range(plan.setup_trials + 1):
            audible.arm()
            async with engine_pool() as trial:
                started = time.monotonic()
                a = await join(trial, server.url, "setup", f"a{i}", PacedAudio(Tone(440.0)))
                await until(lambda: audible.at is not None, 15, "audio from A at B")
                a_id = a.self_id or ""
            await until(lambda: not mixer.peer_ids and not b.connected_peers, 10, "A gone at B")
            heard = audible.at or 0.0
            first_packet = mixer.first_packet.get(a_id, heard)
            steps = _steps(started, arrived[a_id], connected.get(a_id, heard), first_packet, heard)
            if i > 0:
                trials.append(steps)
    return _setup_summary(trials)


def _steps(started: float, arrived: float, connected: float, first_packet: float, heard: float) -> SetupSteps:
    return SetupSteps(
        from_a_start_ms=round((heard - started) * 1000, 1),
        from_peer_arrived_ms=round((heard - arrived) * 1000, 1),
        peer_arrived_to_connected_ms=round((connected - arrived) * 1000, 1),
        connected_to_first_packet_ms=round((first_packet - connected) * 1000, 1),
        first_packet_to_audible_ms=round((heard - first_packet) * 1000, 1),
    )


def _setup_summary(trials: list[SetupSteps]) -> SetupResult:
    def percentile(name: str, q: float) -> float:
        return round(float(np.percentile([getattr(t, name) for t in trials], q)), 1)

    p50 = SetupSteps(**{f.name: percentile(f.name, 50) for f in fields(SetupSteps)})
    return SetupResult(tuple(trials), p50, percentile("from_peer_arrived_ms", 95))


# --- CPU per mesh size ----------------------------------------------------------------------------


class LagProbe:
    """How late the loop wakes a 10 ms sleeper: when it is saturated, every audio tick is late too."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.lags.append(loop.time() - before - 0.01)


async def cpu_mesh(plan: Plan) -> CpuResult:
    """N engines with tones in one process; the server runs in a child process, outside the figure."""
    rows: list[CpuRow] = []
    with child_server() as server:
        for n in plan.cpu_sizes:
            rows.append(await _cpu_for(server.url, n, plan.cpu_window_s))
            await asyncio.sleep(MESH_GAP_S)
    return _per_peer(rows)


async def _cpu_for(url: str, n: int, window_s: float) -> CpuRow:
    probe = LagProbe()
    async with engine_pool() as pool:
        for i in range(n):
            await join(pool, url, f"cpu-{n}", f"e{i}", PacedAudio(Tone(300.0 + 70.0 * i)))
        await until(all_connected(pool), 30, f"full mesh of {n}")
        await asyncio.sleep(2 * SETTLE_S)
        lost_before = _losses(pool)
        probe.start()
        slices = [await _cpu_slice(window_s / CPU_SLICES) for _ in range(CPU_SLICES)]
        await probe.stop()
        lost = _losses(pool) - lost_before
    ours = statistics.median(ours for ours, _ in slices)
    return CpuRow(
        engines=n,
        peers_each=n - 1,
        process_pct=round(ours, 1),
        process_pct_slices=tuple(round(ours, 1) for ours, _ in slices),
        per_engine_pct=round(ours / n, 2),
        others_pct=round(statistics.median(others for _, others in slices), 1),
        loop_lag_p99_ms=round(float(np.percentile(np.array(probe.lags), 99)) * 1000, 1),
        frames_lost_or_concealed=lost,
    )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _cpu_slice(span_s: float) -> tuple[float, float]:
    """(this process, every other process) in % of one core over ``span_s``."""
    cpu0, wall0, busy0 = _cpu_seconds(), time.monotonic(), machine_cpu()[0]
    await asyncio.sleep(span_s)
    cpu1, wall1, busy1 = _cpu_seconds(), time.monotonic(), machine_cpu()[0]
    ours = (cpu1 - cpu0) / (wall1 - wall0) * 100
    machine = (busy1 - busy0) / (wall1 - wall0) * 100
    return ours, max(0.0, machine - ours)


def _losses(pool: Sequence[Engine]) -> int:
    """Frames lost or concealed so far across every playout buffer: rises when the loop cannot keep up."""
    total = 0
    for engine in pool:
        for peer in engine.connected_peers:
            if (stats := engine.playout_stats(peer)) is not None:
                total += stats.lost + stats.concealed
    return total


def _per_peer(rows: list[CpuRow]) -> CpuResult:
    """Per-peer cost two ways: per engine between sizes, and a fit of the whole process.

    Per engine: c(N) = process / N; each extra peer costs (c(N) - c(2)) / (N - 2).
    Fit: process(N) = a*N + b*N*(N-1) (a per engine, b per peer an engine talks to), least squares.
    """
    base = next((r for r in rows if r.engines == 2), None)
    steps = {
        r.engines: round((r.per_engine_pct - base.per_engine_pct) / (r.engines - 2), 2)
        for r in rows
        if base is not None and r.engines > 2
    }
    fit: float | None = None
    if len(rows) >= 2:
        x = np.array([[r.engines, r.engines * (r.engines - 1)] for r in rows], dtype=float)
        y = np.array([r.process_pct for r in rows], dtype=float)
        (_, b), *_ = np.linalg.lstsq(x, y, rcond=None)
        fit = round(float(b), 2)
    return CpuResult(
        rows=tuple(rows),
        per_extra_peer_pct=steps,
        per_peer_fit_pct=fit,
        per_extra_peer_largest_pct=steps[max(steps)] if steps else None,
    )


# --- latency after a loss burst -------------------------------------------------------------------


async def loss_recovery(plan: Plan) -> LossResult:
    """A 300 ms blackout on arrival at B, then B's playout delay sampled every 100 ms for 3 s."""
    mixer = BenchMixer()
    trials: list[BurstTrial] = []
    async with in_process_server() as server, engine_pool() as pool:
        await join(pool, server.url, "loss", "sender", PacedAudio(Tone(440.0)))
        b = await join(pool, server.url, "loss", "receiver", PacedAudio(Silence()), mixer=mixer)
        await until(all_connected(pool), 15, "call")
        peer = peer_of(b)
        await asyncio.sleep(SETTLE_S)
        for _ in range(plan.loss_trials):
            trials.append(await _burst_trial(mixer, peer))
    times = [t.recovered_s for t in trials]
    recovered = [t for t in times if t is not None]
    every = len(recovered) == len(times)
    return LossResult(
        trials=tuple(trials),
        recovered_s_median=statistics.median(recovered) if every else None,
        recovered_s_max=max(recovered) if every else None,
    )


async def _burst_trial(mixer: BenchMixer, peer: str) -> BurstTrial:
    before = await _sample_delay(mixer, peer, 1.0)
    floor = statistics.median(d for _, d, playing in before if playing)
    counts_before = mixer.stats(peer)
    mixer.blackout = True
    await asyncio.sleep(BURST_S)
    mixer.blackout = False
    after = await _sample_delay(mixer, peer, RECOVERY_WINDOW_S)
    counts = mixer.stats(peer)
    return BurstTrial(
        lost=counts.lost - counts_before.lost,
        concealed=counts.concealed - counts_before.concealed,
        rebuffers=counts.rebuffers - counts_before.rebuffers,
        floor_ms=round(floor, 1),
        peak_ms=round(max(d for _, d, _ in after), 1),
        recovered_s=_recovered_at(after, floor),
        series_ms=tuple(round(d, 1) if playing else None for _, d, playing in after),
    )


async def _sample_delay(mixer: BenchMixer, peer: str, span_s: float) -> list[tuple[float, float, bool]]:
    """(seconds since start, delay_ms, playing) every 100 ms; playing: frames played since the last."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    samples: list[tuple[float, float, bool]] = []
    played = mixer.stats(peer).played
    for i in range(1, round(span_s / SAMPLE_EVERY_S) + 1):
        await asyncio.sleep(max(0.0, start + i * SAMPLE_EVERY_S - loop.time()))
        stats = mixer.stats(peer)
        samples.append((loop.time() - start, stats.delay_ms, stats.played > played and stats.delay_ms > 0))
        played = stats.played
    return samples


def _recovered_at(samples: list[tuple[float, float, bool]], floor_ms: float) -> float | None:
    """The first sample from which the buffer plays and stays within 10 ms of the floor to the end."""
    recovered: float | None = None
    for at, delay, playing in samples:
        if playing and delay <= floor_ms + RECOVERY_MARGIN_MS:
            recovered = at if recovered is None else recovered
        else:
            recovered = None
    return None if recovered is None else round(recovered, 2)
