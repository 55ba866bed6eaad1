"""The engine benchmark's sound-card scenario: mouth-to-ear through PulseAudio null sinks.

Two engines with real ``DeviceAudio`` in one process: pacat plays clicks
into A's microphone sink, B's speaker sink is watched by B's output
callback. Each device setting runs in a child process (engine_bench.py
``--pulse-child``): PortAudio reads the ALSA configuration when it is
imported, and a stream that hangs must cost a killed child, not the run.
Through PulseAudio the callbacks come in bursts (two 10 ms blocks at once),
so callback-to-callback figures move in 10 ms steps; the same clicks are
also timed on PortAudio's ADC/DAC clock, which adds the device buffers.
"""

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
from engine_audio import ProbedDeviceAudio
from engine_calls import SETTLE_S, all_connected, engine_pool, join, playout_delay_ms, until
from engine_clicks import CLICK_EVERY_S, MAX_LATENCY_S, click_bytes, pair
from engine_results import (
    FirstCallbacks,
    Latency,
    Plan,
    PulseFailure,
    PulseResult,
    PulseRun,
    PulseSetting,
    median_of,
    percentile_ms,
    rounded,
)

from client_desktop.engine.devices import DEFAULT_STREAMS, STARTUP_S, Direction, StreamSettings, list_devices
from client_desktop.engine.events import AudioDeviceFailed
from client_desktop.engine.pcm import SAMPLE_RATE
from tests.support.pulse import SINKS, Pulse
from tests.support.server import in_process_server

CLI = Path(__file__).resolve().with_name("engine_bench.py")
PULSE_PCMS = {
    "vx_in_a": "in_a.monitor",
    "vx_out_a": "out_a",
    "vx_in_b": "in_b.monitor",
    "vx_out_b": "out_b",
}
"""ALSA names -> PulseAudio sink or source: engine A hears in_a and plays to out_a, B likewise."""
SAMPLE_EVERY_S = 0.1
DEFAULTS = "default devices"
"""The fallback ``DeviceAudio`` reports when it reopens on the defaults (then B plays into A's input)."""


@dataclass(frozen=True)
class ChildSpec:
    """What one child measures (passed as JSON on its command line)."""

    setting: StreamSettings
    clicks: int


def m2e_pulse(plan: Plan) -> PulseResult:
    """Each device setting in its own child process, against one PulseAudio."""
    if shutil.which("pacat") is None:
        raise RuntimeError("pacat is not installed (apt-get install pulseaudio-utils)")
    settings: list[PulseSetting | PulseFailure] = []
    with Pulse(SINKS, alsa_pcms=PULSE_PCMS) as pulse:
        for setting in plan.pulse_settings:
            spec = ChildSpec(setting, plan.pulse_clicks)
            runs = plan.pulse_stock_runs if setting == DEFAULT_STREAMS else 1
            settings.append(_pool_runs(setting, [_run_child(pulse.env, spec) for _ in range(runs)]))
    stock = next((s for s in settings if isinstance(s, PulseSetting) and s.setting == DEFAULT_STREAMS), None)
    return PulseResult(tuple(settings), stock)


def _pool_runs(setting: StreamSettings, runs: list[PulseRun | str]) -> PulseSetting | PulseFailure:
    """One setting's runs pooled (a str is a run's error).

    Two sinks' timers sit at an arbitrary phase to each other, which moves the
    result by up to a frame; more runs sample more phases.
    """
    good = [r for r in runs if isinstance(r, PulseRun)]
    failed = tuple(r for r in runs if isinstance(r, str))
    if not good:
        return PulseFailure(setting, failed[0])
    callback = [ms / 1000 for r in good for ms in r.callback_ms]
    adc_to_dac = [ms / 1000 for r in good for ms in r.adc_to_dac_ms]
    sent = sum(r.clicks_sent for r in good)
    first = good[0]
    return PulseSetting(
        setting=setting,
        latency=Latency.of(callback, sent, sum(r.clicks_heard for r in good)),
        adc_to_dac=Latency.of(adc_to_dac, sent, len(adc_to_dac)),
        runs=len(good),
        failed_runs=failed,
        run_p50_ms=tuple(rounded(percentile_ms([ms / 1000 for ms in r.callback_ms], 50)) for r in good),
        reopened_on_defaults=sum(r.reopened_on_defaults for r in good),
        startup_silence_s=max(x for r in good for x in r.startup_silence_s),
        reported_latency_ms=first.reported_latency_ms,
        first_callback_s=first.first_callback_s,
        a_input=first.a_input,
        b_output=first.b_output,
        playout_delay_ms_median=median_of([r.playout_delay_ms_median for r in good]),
        device_failures=tuple(f for r in good for f in r.failures),
    )


def _run_child(env: dict[str, str], spec: ChildSpec) -> PulseRun | str:
    """Run one setting; a child that hangs (PortAudio can) is killed with its process group."""
    timeout_s = 45 + spec.clicks * CLICK_EVERY_S
    cmd = [sys.executable, str(CLI), "--pulse-child", msgspec.json.encode(spec).decode()]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return f"hung: killed after {timeout_s:g} s"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    lines = out.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = err.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return tail[0][:200]
    return msgspec.json.decode(lines[-1], type=PulseRun)


def pulse_child(spec_json: str) -> int:
    """The child's side: one call between two device-backed engines; prints one JSON line."""
    spec = msgspec.json.decode(spec_json, type=ChildSpec)
    run = asyncio.run(_pulse_call(spec))
    print(msgspec.json.encode(run).decode(), flush=True)
    return 0


async def _pulse_call(spec: ChildSpec) -> PulseRun:
    index = {d.name: d.index for d in await asyncio.to_thread(list_devices)}
    failures: list[tuple[str, str]] = []

    def failed(event: AudioDeviceFailed) -> None:
        failures.append((event.message, event.fallback))

    a = ProbedDeviceAudio(failed, index["vx_in_a"], index["vx_out_a"], spec.setting, Direction.INPUT)
    b = ProbedDeviceAudio(failed, index["vx_in_b"], index["vx_out_b"], spec.setting, Direction.OUTPUT)
    delays: list[float | None] = []
    async with in_process_server() as server, engine_pool() as pool:
        await join(pool, server.url, "pulse", "a", a)
        b_engine = await join(pool, server.url, "pulse", "b", b)
        await until(all_connected(pool), 15, "call")
        await until(lambda: bool(a.input_log.stamps and b.input_log.stamps), 15, "input callback")
        await asyncio.sleep(SETTLE_S)
        await _play_clicks(spec.clicks, lambda: delays.append(playout_delay_ms(b_engine)))
        reported_latency_s = a.latency_s or ()
    return PulseRun(
        callback_ms=tuple(round(x * 1000, 2) for x in pair(a.onsets.times, b.onsets.times)),
        adc_to_dac_ms=tuple(round(x * 1000, 2) for x in pair(a.device_onsets.times, b.device_onsets.times)),
        clicks_sent=len(a.onsets.times),
        clicks_heard=len(b.onsets.times),
        reported_latency_ms=tuple(round(x * 1000, 1) for x in reported_latency_s),
        a_input=a.input_log.summary(),
        b_output=b.output_log.summary(),
        playout_delay_ms_median=median_of(delays),
        failures=tuple(f"{message} -> {fallback or 'none'}" for message, fallback in failures),
        first_callback_s=_first_callbacks(a, b),
        reopened_on_defaults=sum(fallback == DEFAULTS for _, fallback in failures),
        startup_silence_s=(_startup_silence(a), _startup_silence(b)),
    )


def _first_callbacks(a: ProbedDeviceAudio, b: ProbedDeviceAudio) -> FirstCallbacks:
    """Seconds from starting each engine's audio to its first callbacks: the start-up PulseAudio takes."""

    def after_start(audio: ProbedDeviceAudio, stamps: list[float]) -> float | None:
        if audio.started_at is None or not stamps:
            return None
        return round(stamps[0] - audio.started_at, 2)

    return FirstCallbacks(
        a_in=after_start(a, a.input_log.stamps),
        a_out=after_start(a, a.output_log.stamps),
        b_in=after_start(b, b.input_log.stamps),
        b_out=after_start(b, b.output_log.stamps),
    )


def _startup_silence(audio: ProbedDeviceAudio) -> float:
    """The longest time without any callback in the first 3 s after starting: what the watchdog sees."""
    started = audio.started_at
    if started is None:
        return STARTUP_S
    stamps = sorted([started, *audio.input_log.stamps, *audio.output_log.stamps])
    early = [t for t in stamps if t - started <= STARTUP_S]
    return round(float(np.diff(np.array(early)).max()), 2) if len(early) > 1 else STARTUP_S


async def _play_clicks(clicks: int, sample: Callable[[], None]) -> None:
    """Play the track into in_a with pacat (at real-time pace), sampling the playout delay meanwhile."""
    raw = ["--format=s16le", f"--rate={SAMPLE_RATE}", "--channels=1", "--latency-msec=20"]
    pacat = await asyncio.create_subprocess_exec(
        "pacat", "--playback", "--device=in_a", *raw, stdin=asyncio.subprocess.PIPE
    )
    try:
        assert pacat.stdin is not None
        pacat.stdin.write(click_bytes(clicks))
        writing = asyncio.ensure_future(_close_when_written(pacat.stdin))
        while pacat.returncode is None:
            sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pacat.wait()), SAMPLE_EVERY_S)
        await writing
        await asyncio.sleep(MAX_LATENCY_S + 0.1)  # the last click's way through
    finally:
        if pacat.returncode is None:
            pacat.terminate()
            await pacat.wait()


async def _close_when_written(stdin: asyncio.StreamWriter) -> None:
    await stdin.drain()
    stdin.close()
