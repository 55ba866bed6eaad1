"""Benchmark of the call engine: mouth-to-ear latency, call set-up, CPU per mesh peer, loss recovery.

Usage: ``.venv/bin/python bench/engine_bench.py [--quick] [--only NAME[,NAME]] [--json OUT]``
with NAME among ``m2e-memory``, ``m2e-pulse``, ``setup``, ``cpu``, ``loss``
(``--devices 480:high,0:low`` picks the PulseAudio device settings). Prints a
markdown report; a full run takes about 5 minutes and first waits until no
``bench/server_bench.py`` is running (the machine is shared).

Everything runs real engines (``Engine``) against a real signaling server on
127.0.0.1, with aiortc connections between them. Latency is measured with
clicks (a 10 ms, 1 kHz burst at about -6 dBFS): a click's onset is the first
sample at or above a quarter of its peak, found by the same detector on the
sender's capture side and the receiver's playout side. A sample at index k
of a block handed over at time t is taken to be at t + k / 48 kHz on both
sides, so a pass-through with no delay would read 0 ms; capture blocks are
stamped when the callback is entered, playout blocks when it returns.

The engine has no timestamp hooks, so the bench stamps from outside: it
subclasses ``PacedAudio`` (ticks on a chosen clock phase, stamped callables)
and ``DeviceAudio`` (stamped PortAudio callbacks, a chosen block size and
latency), and wraps the ``Mixer``. No engine file is changed.

The PulseAudio measurement runs in a child process per device setting (this
script with ``--pulse-child``): PortAudio reads the ALSA configuration when
it is imported, and a stream that hangs must cost a killed child, not the run.
Through PulseAudio the callbacks come in bursts (two 10 ms blocks at once), so
callback-to-callback figures move in 10 ms steps; the same clicks are also
timed on PortAudio's ADC/DAC clock, which adds the device buffers.
"""

import argparse
import asyncio
import bisect
import contextlib
import ctypes
import ctypes.util
import json
import logging
import math
import os
import platform
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # a script in bench/: the packages live one level up

from client_desktop.engine import devices, events  # noqa: E402
from client_desktop.engine.devices import DeviceAudio  # noqa: E402
from client_desktop.engine.engine import AudioIO, Engine  # noqa: E402
from client_desktop.engine.media import Silence, Source, Tone  # noqa: E402
from client_desktop.engine.mixer import Mixer  # noqa: E402
from client_desktop.engine.opus import OpusDecoder, OpusEncoder  # noqa: E402
from client_desktop.engine.pacer import PacedAudio  # noqa: E402
from client_desktop.engine.pcm import Pcm  # noqa: E402
from client_desktop.engine.processing import ProcessingSettings, VoiceProcessor  # noqa: E402
from client_desktop.engine.rtp import OnPacket  # noqa: E402
from client_desktop.engine.uplink import DEFAULT_BITRATE_BPS, TalkMode  # noqa: E402
from signaling_server.app import start as start_server  # noqa: E402
from signaling_server.config import ServerConfig  # noqa: E402

Result = dict[str, Any]
Stamp = Callable[[Pcm, float], None]

RATE = 48_000
FRAME = 960
FRAME_S = FRAME / RATE

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
SETTLE_S = 1.0
"""After the call connects: the playout buffer's jitter window (1 s) fills before anything is measured."""
SAMPLE_EVERY_S = 0.1
BURST_S = 0.3
RECOVERY_WINDOW_S = 3.0
RECOVERY_MARGIN_MS = 10.0

TARGETS = {
    "m2e_memory_p50_ms": 30.0,
    "m2e_memory_p95_ms": 45.0,
    "m2e_pulse_p50_ms": 50.0,
    "setup_p50_ms": 150.0,
    "cpu_per_peer_pct": 2.0,
    "loss_recovery_s": 2.0,
}
PULSE_SINKS = ("in_a", "out_a", "in_b", "out_b")


@dataclass(frozen=True)
class DeviceSetting:
    """How the bench opens the devices: PortAudio block size (0 = PortAudio's choice) and latency.

    The latency is PortAudio's ``"low"`` or ``"high"``, or seconds (``"0.01"``).
    """

    blocksize: int
    latency: str

    @property
    def label(self) -> str:
        return f"{self.blocksize}, {self.latency}"


PULSE_PCMS = {
    "vx_in_a": "in_a.monitor",
    "vx_out_a": "out_a",
    "vx_in_b": "in_b.monitor",
    "vx_out_b": "out_b",
}
"""ALSA names -> PulseAudio sink or source: engine A hears in_a and plays to out_a, B likewise."""
STOCK_DEVICE_SETTING = DeviceSetting(480, "low")
"""What ``DeviceAudio`` opens: ``BLOCK_SAMPLES`` and ``LATENCY``."""


@dataclass(frozen=True)
class Plan:
    """Counts and durations; ``--quick`` shrinks them to fit in a minute."""

    phases: int
    clicks_per_phase: int
    pulse_settings: tuple[DeviceSetting, ...]
    pulse_clicks: int
    pulse_stock_runs: int
    setup_trials: int
    cpu_sizes: tuple[int, ...]
    cpu_window_s: float
    loss_trials: int


FULL = Plan(
    phases=5,
    clicks_per_phase=10,
    pulse_settings=(
        STOCK_DEVICE_SETTING,
        *(
            DeviceSetting(b, lat)
            for b, lat in ((480, "low"), (960, "high"), (960, "low"), (0, "high"), (0, "low"))
        ),
    ),
    pulse_clicks=20,
    pulse_stock_runs=3,
    setup_trials=10,
    cpu_sizes=(2, 4, 8),
    cpu_window_s=10.0,
    loss_trials=5,
)
QUICK = Plan(
    phases=2,
    clicks_per_phase=6,
    pulse_settings=(STOCK_DEVICE_SETTING,),
    pulse_clicks=12,
    pulse_stock_runs=1,
    setup_trials=3,
    cpu_sizes=(2, 4),
    cpu_window_s=3.0,
    loss_trials=1,
)


# --- clicks ---------------------------------------------------------------------------------------


def _burst() -> Pcm:
    n = np.arange(CLICK_SAMPLES)
    burst: Pcm = (CLICK_PEAK * np.sin(2 * np.pi * CLICK_HZ * n / RATE)).astype(np.int16)
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
        self._spacing = round(CLICK_EVERY_S * RATE) - FRAME // 2

    def arm(self) -> None:
        self._next = self._n + self._rng.randrange(FRAME)

    def read(self) -> Pcm:
        start = self._n
        self._n += FRAME
        out = np.zeros(FRAME, dtype=np.int16)
        while self._next is not None and self._next < start + FRAME:
            at = self._next
            lo, hi = max(at, start), min(at + CLICK_SAMPLES, start + FRAME)
            out[lo - start : hi - start] = BURST[lo - at : hi - at]
            if at + CLICK_SAMPLES > start + FRAME:
                break  # the burst goes on in the next frame
            self.left -= 1
            self._next = at + self._spacing + self._rng.randrange(FRAME) if self.left > 0 else None
        return out

    @property
    def done(self) -> bool:
        return self.left == 0


class Onsets:
    """Click onsets in a stream of stamped blocks (sample k of a block stamped t is at t + k / RATE).

    Fed from PortAudio's threads as well as the loop: appends only.
    """

    def __init__(self) -> None:
        self.times: list[float] = []

    def feed(self, block: Pcm, stamp: float) -> None:
        loud = np.flatnonzero(np.abs(block.astype(np.int32)) >= ONSET_LEVEL)
        if not loud.size:
            return
        times = stamp + loud / RATE
        if self.times:
            times = times[times >= self.times[-1] + REFRACTORY_S]
        if times.size:
            self.times.append(float(times[0]))


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


def percentile_ms(values_s: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.array(values_s), q)) * 1000 if values_s else None


def codec_delay_ms() -> float | None:
    """The click's shift through our Opus encoder and decoder alone: the part no buffer can remove."""
    track = ClickTrack(10, random.Random(1))
    track.arm()
    sent, heard = Onsets(), Onsets()
    encoder, decoder = OpusEncoder(bitrate_bps=DEFAULT_BITRATE_BPS), OpusDecoder()
    try:
        for i in range(200):
            frame = track.read()
            sent.feed(frame, i * FRAME_S)
            heard.feed(decoder.decode(encoder.encode(frame)), i * FRAME_S)
    finally:
        encoder.close()
        decoder.close()
    return percentile_ms(pair(sent.times, heard.times), 50)


# --- stamped audio --------------------------------------------------------------------------------


class StampedPacedAudio(PacedAudio):
    """``PacedAudio`` whose ticks sit at ``phase_s`` on a shared 20 ms grid, with stamped callables.

    Why the phase: the receiver's next render after a packet lands is 0-20 ms
    away depending on how its clock sits against the sender's; pinning it lets
    the bench average over phases instead of drawing one lucky (or unlucky)
    value per run. Capture is stamped on entry, render on return.
    """

    def __init__(
        self,
        source: Source,
        phase_s: float = 0.0,
        on_capture: Stamp | None = None,
        on_render: Stamp | None = None,
    ) -> None:
        super().__init__(source, None)
        self.phase_s = phase_s
        self._on_capture = on_capture
        self._on_render = on_render

    def start(self, capture: Callable[[Pcm], None], render: Callable[[], Pcm]) -> None:
        def stamped_capture(frame: Pcm) -> None:
            if self._on_capture is not None:
                self._on_capture(frame, time.monotonic())
            capture(frame)

        def stamped_render() -> Pcm:
            frame = render()
            if self._on_render is not None:
                self._on_render(frame, time.monotonic())
            return frame

        self._task = asyncio.ensure_future(self._on_phase(stamped_capture, stamped_render))

    async def _on_phase(self, capture: Callable[[Pcm], None], render: Callable[[], Pcm]) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        first = (math.floor(now / FRAME_S) + 1) * FRAME_S + self.phase_s
        await asyncio.sleep(first - now)
        await self._run(capture, render)


@dataclass
class CallbackLog:
    """One direction of a device: callback stamps and the xruns PortAudio flagged."""

    stamps: list[float] = field(default_factory=list)
    xruns: int = 0

    def summary(self) -> Result:
        gaps = np.diff(np.array(self.stamps[50:])) * 1000 if len(self.stamps) > 51 else np.zeros(1)
        return {
            "callbacks": len(self.stamps),
            "xruns": self.xruns,
            "gap_p99_ms": round(float(np.percentile(gaps, 99)), 1),
            "gap_max_ms": round(float(gaps.max()), 1),
        }


class TunedSounddevice:
    """``sounddevice`` as ``DeviceAudio`` sees it, but every stream opened with one block size and latency.

    Why: ``DeviceAudio`` fixes 480-sample blocks and the default latency; the
    bench tries others without editing devices.py or copying its ``_open``.
    Installed for a whole child process (both engines use the same setting).
    """

    def __init__(self, sd: Any, setting: DeviceSetting) -> None:
        self._sd = sd
        latency = setting.latency if setting.latency in ("low", "high") else float(setting.latency)
        self._tuning: dict[str, Any] = {"blocksize": setting.blocksize, "latency": latency}

    def InputStream(self, **kwargs: Any) -> Any:  # noqa: N802 - sounddevice's name
        return self._sd.InputStream(**{**kwargs, **self._tuning})

    def OutputStream(self, **kwargs: Any) -> Any:  # noqa: N802 - sounddevice's name
        return self._sd.OutputStream(**{**kwargs, **self._tuning})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sd, name)


def install_device_setting(setting: DeviceSetting) -> None:
    import sounddevice

    tuned = TunedSounddevice(sounddevice, setting)
    devices._sd = lambda: tuned


class TimedDeviceAudio(DeviceAudio):
    """``DeviceAudio`` stamping inside PortAudio's callbacks, and noting each time it opens devices.

    The stamps use ``time.monotonic()`` and PortAudio's own ADC/DAC times.
    A second ``_open`` means the watchdog or a failure fell back to the
    default devices (then B plays into A's input and the figures are void).
    """

    def __init__(
        self,
        on_failure: Callable[[str, str], None],
        input_device: int,
        output_device: int,
        stamp_input: tuple[Stamp, Stamp] | None = None,
        stamp_output: tuple[Stamp, Stamp] | None = None,
    ) -> None:
        no_processing = VoiceProcessor(ProcessingSettings(False, False, False))
        super().__init__(on_failure, input_device, output_device, no_processing)
        self._stamp_input = stamp_input
        self._stamp_output = stamp_output
        self.input_log, self.output_log = CallbackLog(), CallbackLog()
        self.reported_latency_s: tuple[float, float] | None = None
        self.opened: list[tuple[int | str | None, int | str | None, float]] = []

    def _open(self, input_device: int | str | None, output_device: int | str | None) -> None:
        self.opened.append((input_device, output_device, time.monotonic()))
        super()._open(input_device, output_device)
        self.reported_latency_s = (float(self._streams[0].latency), float(self._streams[1].latency))

    def _on_input(self, indata: Any, frames: int, _time: Any, _status: Any) -> None:
        stamp = time.monotonic()
        self.input_log.stamps.append(stamp)
        self.input_log.xruns += bool(_status)
        if self._stamp_input is not None:
            by_callback, by_adc = self._stamp_input
            by_callback(indata[:, 0], stamp)
            by_adc(indata[:, 0], float(_time.inputBufferAdcTime))
        super()._on_input(indata, frames, _time, _status)

    def _on_output(self, outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        super()._on_output(outdata, frames, _time, _status)
        stamp = time.monotonic()
        self.output_log.stamps.append(stamp)
        self.output_log.xruns += bool(_status)
        if self._stamp_output is not None:
            by_callback, by_dac = self._stamp_output
            by_callback(outdata[:, 0], stamp)
            by_dac(outdata[:, 0], float(_time.outputBufferDacTime))


class BenchMixer(Mixer):
    """The engine's mixer behind a switchable blackout, noting when each peer's first packet came.

    Why: the loss scenario needs a burst of total loss on arrival (as
    ``LossyMixer`` in tests/engine/test_call.py), and the set-up breakdown
    needs the first packet's arrival, which the engine does not expose.
    """

    def __init__(self) -> None:
        super().__init__()
        self.blackout = False
        self.first_packet: dict[str, float] = {}

    def input_for(self, peer_id: str) -> OnPacket:
        push = super().input_for(peer_id)

        def stamped(seq: int, timestamp: int, payload: bytes) -> None:
            self.first_packet.setdefault(peer_id, time.monotonic())
            if not self.blackout:
                push(seq, timestamp, payload)

        return stamped


class FirstAudio:
    """Stamps the first audible sample rendered after ``arm()`` (a render-side ``Stamp``)."""

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
            self.at = stamp + float(loud[0]) / RATE


# --- servers and engines --------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def local_server() -> AsyncIterator[str]:
    """The signaling server on this loop (as the tests run it); closed whatever happens."""
    with tempfile.TemporaryDirectory(prefix="vx-engine-bench-") as tmp:
        server = await start_server(ServerConfig(host="127.0.0.1", port=0, data_dir=Path(tmp)))
        try:
            yield server.url
        finally:
            await server.close()


@contextlib.contextmanager
def server_process() -> Iterator[str]:
    """The signaling server as a child process: its CPU then stays out of this process's figures."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with tempfile.TemporaryDirectory(prefix="vx-engine-bench-") as tmp:
        cmd = [sys.executable, "-m", "signaling_server", "--host", "127.0.0.1", "--port", str(port)]
        proc = subprocess.Popen(
            [*cmd, "--data-dir", tmp], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait_healthy(port, proc)
            yield f"ws://127.0.0.1:{port}/ws"
        finally:
            _stop_process(proc)


def _wait_healthy(port: int, proc: "subprocess.Popen[bytes]") -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
            return
        time.sleep(0.05)
    raise RuntimeError("the signaling server did not come up")


def _stop_process(proc: "subprocess.Popen[bytes]") -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.asynccontextmanager
async def engine_pool() -> AsyncIterator[list[Engine]]:
    """Engines appended here leave their room at the end, also when the scenario failed."""
    made: list[Engine] = []
    try:
        yield made
    finally:
        await asyncio.gather(*(engine.leave() for engine in made), return_exceptions=True)


async def join(
    pool: list[Engine],
    url: str,
    room: str,
    name: str,
    audio: AudioIO,
    *,
    mixer: Mixer | None = None,
    on_event: events.EngineEventSink | None = None,
) -> Engine:
    """An engine in ``room`` that always transmits (a click must not wait for the voice gate)."""
    engine = Engine(url, room, name, audio, on_event or (lambda _: None), mixer=mixer)
    engine.set_talk_mode(TalkMode.OPEN)
    pool.append(engine)
    await engine.start()
    return engine


async def until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            while not condition():
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise TimeoutError(f"no {what} within {timeout_s:g} s") from None


def all_connected(pool: Sequence[Engine]) -> Callable[[], bool]:
    return lambda: all(len(e.mesh.connected_peers) == len(pool) - 1 for e in pool)


def peer_of(engine: Engine) -> str:
    return engine.mesh.connected_peers[0]


# --- 1a. mouth-to-ear in memory -------------------------------------------------------------------


async def m2e_memory(plan: Plan) -> Result:
    """Clicks from A's capture to B's playout, both on paced clocks; one fresh call per clock phase."""
    latencies: list[float] = []
    delays: list[float] = []
    sent = heard = 0
    async with local_server() as url:
        for i in range(plan.phases):
            phase_s = i * FRAME_S / plan.phases
            got = await _m2e_call(url, f"m2e-{i}", phase_s, plan.clicks_per_phase, random.Random(i))
            latencies += got[0]
            delays += got[1]
            sent, heard = sent + got[2], heard + got[3]
    return {
        **_latency_summary(latencies, sent, heard),
        "phases": plan.phases,
        "playout_delay_ms_median": round(statistics.median(delays), 1) if delays else None,
        "codec_delay_ms": _round(codec_delay_ms()),
    }


async def _m2e_call(
    url: str, room: str, phase_s: float, clicks: int, rng: random.Random
) -> tuple[list[float], list[float], int, int]:
    track = ClickTrack(clicks, rng)
    sent, heard = Onsets(), Onsets()
    delays: list[float] = []
    async with engine_pool() as pool:
        await join(pool, url, room, "a", StampedPacedAudio(track, 0.0, on_capture=sent.feed))
        b = await join(pool, url, room, "b", StampedPacedAudio(Silence(), phase_s, on_render=heard.feed))
        await until(all_connected(pool), 15, "call")
        await asyncio.sleep(SETTLE_S)
        track.arm()
        while not track.done:
            await asyncio.sleep(SAMPLE_EVERY_S)
            delays.append(b.mixer.stats(peer_of(b)).delay_ms)
        await asyncio.sleep(MAX_LATENCY_S + 0.1)
    return pair(sent.times, heard.times), delays, len(sent.times), len(heard.times)


def _latency_summary(latencies: list[float], sent: int, heard: int) -> Result:
    return {
        "p50_ms": _round(percentile_ms(latencies, 50)),
        "p95_ms": _round(percentile_ms(latencies, 95)),
        "min_ms": _round(min(latencies) * 1000 if latencies else None),
        "max_ms": _round(max(latencies) * 1000 if latencies else None),
        "clicks_sent": sent,
        "clicks_heard": heard,
        "clicks_paired": len(latencies),
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# --- 1b. mouth-to-ear through PulseAudio null sinks -----------------------------------------------


@contextlib.contextmanager
def pulse_daemon() -> Iterator[dict[str, str]]:
    """A private PulseAudio with four null sinks and an ALSA config naming them; yields the env to use."""
    runtime = Path(tempfile.mkdtemp(prefix="vx-engine-pulse-"))
    alsa_conf = runtime / "asound.conf"
    pcms = "".join(f'pcm.{name} {{ type pulse; device "{dev}" }}\n' for name, dev in PULSE_PCMS.items())
    alsa_conf.write_text(f"</usr/share/alsa/alsa.conf>\n{pcms}")
    env = {
        **os.environ,
        "XDG_RUNTIME_DIR": str(runtime),
        "HOME": str(runtime),
        "PULSE_RUNTIME_PATH": str(runtime),
        "ALSA_CONFIG_PATH": str(alsa_conf),
    }
    sinks = [f"--load=module-null-sink sink_name={name} rate=48000 channels=1" for name in PULSE_SINKS]
    cmd = ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--system=false", "--disallow-exit", "-n"]
    cmd += ["--load=module-native-protocol-unix", *sinks, "--log-target=stderr", "--log-level=error"]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    try:
        _wait_pulse(env, proc)
        yield env
    finally:
        _stop_process(proc)
        shutil.rmtree(runtime, ignore_errors=True)


def _wait_pulse(env: dict[str, str], proc: "subprocess.Popen[bytes]") -> None:
    deadline = time.monotonic() + 10
    while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("PulseAudio did not start")
        time.sleep(0.05)


def m2e_pulse(plan: Plan) -> Result:
    """Each device setting in its own child process, against one PulseAudio."""
    if shutil.which("pulseaudio") is None or shutil.which("pacat") is None:
        return {"error": "pulseaudio/pacat not installed"}
    settings: list[Result] = []
    with pulse_daemon() as env:
        for setting in plan.pulse_settings:
            spec = {"setting": asdict(setting), "clicks": plan.pulse_clicks}
            runs = plan.pulse_stock_runs if setting == STOCK_DEVICE_SETTING else 1
            results = [_run_pulse_child(env, spec) for _ in range(runs)]
            settings.append({"setting": setting.label, **asdict(setting), **_pool_runs(results)})
    stock = next((s for s in settings if s["setting"] == STOCK_DEVICE_SETTING.label), None)
    return {"settings": settings, "stock": stock}


def _pool_runs(runs: list[Result]) -> Result:
    """One setting's runs pooled: each run has its own clock phase between A's input and B's output.

    Two sinks' timers sit at an arbitrary phase to each other, which moves the
    result by up to a frame; more runs sample more phases.
    """
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[0]
    callback = [ms / 1000 for r in good for ms in r["callback_ms"]]
    adc_to_dac = [ms / 1000 for r in good for ms in r["adc_to_dac_ms"]]
    sent = sum(r["clicks_sent"] for r in good)
    return {
        **_latency_summary(callback, sent, sum(r["clicks_heard"] for r in good)),
        "adc_to_dac": _latency_summary(adc_to_dac, sent, len(adc_to_dac)),
        "runs": len(good),
        "failed_runs": [r["error"] for r in runs if "error" in r],
        "run_p50_ms": [_round(percentile_ms([ms / 1000 for ms in r["callback_ms"]], 50)) for r in good],
        "reopened_on_defaults": sum(r["reopened_on_defaults"] for r in good),
        "startup_silence_s": max(x for r in good for x in r["startup_silence_s"]),
        **{k: good[0][k] for k in ("reported_latency_ms", "first_callback_s", "a_input", "b_output")},
        "playout_delay_ms_median": _median([r["playout_delay_ms_median"] for r in good]),
        "device_failures": [f for r in good for f in r["failures"]],
    }


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 1) if present else None


def _run_pulse_child(env: dict[str, str], spec: Result) -> Result:
    """Run one setting; a child that hangs (PortAudio can) is killed with its process group."""
    timeout_s = 45 + spec["clicks"] * CLICK_EVERY_S
    cmd = [sys.executable, str(Path(__file__).resolve()), "--pulse-child", json.dumps(spec)]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"error": f"hung: killed after {timeout_s:g} s"}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    lines = out.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = err.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return {"error": tail[0][:200]}
    result: Result = json.loads(lines[-1])
    return result


def pulse_child(spec_text: str) -> int:
    """The child's side: one call between two device-backed engines; prints one JSON line."""
    spec = json.loads(spec_text)
    result = asyncio.run(_pulse_call(DeviceSetting(**spec["setting"]), int(spec["clicks"])))
    print(json.dumps(result), flush=True)
    return 0


def _device_indices() -> dict[str, int]:
    import sounddevice as sd

    return {str(info["name"]): i for i, info in enumerate(sd.query_devices())}


async def _pulse_call(setting: DeviceSetting, clicks: int) -> Result:
    install_device_setting(setting)
    index = _device_indices()
    sent, heard, sent_adc, heard_dac = Onsets(), Onsets(), Onsets(), Onsets()
    failures: list[str] = []

    def failed(message: str, fallback: str) -> None:
        failures.append(f"{message} -> {fallback or 'none'}")

    a_audio = TimedDeviceAudio(
        failed, index["vx_in_a"], index["vx_out_a"], stamp_input=(sent.feed, sent_adc.feed)
    )
    b_audio = TimedDeviceAudio(
        failed, index["vx_in_b"], index["vx_out_b"], stamp_output=(heard.feed, heard_dac.feed)
    )
    delays: list[float] = []
    async with local_server() as url, engine_pool() as pool:
        await join(pool, url, "pulse", "a", a_audio)
        b = await join(pool, url, "pulse", "b", b_audio)
        await until(all_connected(pool), 15, "call")
        await until(lambda: bool(a_audio.input_log.stamps and b_audio.input_log.stamps), 15, "input callback")
        await asyncio.sleep(SETTLE_S)
        await _play_clicks(clicks, lambda: delays.append(b.mixer.stats(peer_of(b)).delay_ms))
    return {
        "callback_ms": [round(x * 1000, 2) for x in pair(sent.times, heard.times)],
        "adc_to_dac_ms": [round(x * 1000, 2) for x in pair(sent_adc.times, heard_dac.times)],
        "clicks_sent": len(sent.times),
        "clicks_heard": len(heard.times),
        "reported_latency_ms": [round(x * 1000, 1) for x in a_audio.reported_latency_s or ()],
        "a_input": a_audio.input_log.summary(),
        "b_output": b_audio.output_log.summary(),
        "playout_delay_ms_median": round(statistics.median(delays), 1) if delays else None,
        "failures": failures,
        "first_callback_s": _first_callbacks(a_audio, b_audio),
        "reopened_on_defaults": sum(len(audio.opened) - 1 for audio in (a_audio, b_audio)),
        "startup_silence_s": [_startup_silence(audio) for audio in (a_audio, b_audio)],
    }


def _first_callbacks(*audios: TimedDeviceAudio) -> dict[str, float | None]:
    """Seconds from opening each engine's streams to their first callbacks: the start-up PulseAudio takes."""
    first: dict[str, float | None] = {}
    for name, audio in zip("ab", audios, strict=True):
        opened = audio.opened[0][2]
        for direction, log in (("in", audio.input_log), ("out", audio.output_log)):
            first[f"{name}_{direction}"] = round(log.stamps[0] - opened, 2) if log.stamps else None
    return first


def _startup_silence(audio: TimedDeviceAudio) -> float:
    """The longest time without any callback in the first 3 s after opening: what the watchdog sees."""
    opened = audio.opened[0][2]
    stamps = sorted([opened, *audio.input_log.stamps, *audio.output_log.stamps])
    early = [t for t in stamps if t - opened <= 3.0]
    return round(float(np.diff(np.array(early)).max()), 2) if len(early) > 1 else 3.0


def click_bytes(clicks: int) -> bytes:
    """A click track for pacat: 0.3 s of silence, the clicks, 0.5 s of silence."""
    track = ClickTrack(clicks, random.Random(42))
    frames = [track.read() for _ in range(15)]
    track.arm()
    while not track.done:
        frames.append(track.read())
    frames += [np.zeros(FRAME, dtype=np.int16)] * 25
    return np.concatenate(frames).astype("<i2").tobytes()


async def _play_clicks(clicks: int, sample: Callable[[], None]) -> None:
    """Play the track into in_a with pacat (at real-time pace), sampling the playout delay meanwhile."""
    raw = ["--format=s16le", f"--rate={RATE}", "--channels=1", "--latency-msec=20"]
    pacat = await asyncio.create_subprocess_exec(
        "pacat", "--playback", "--device=in_a", *raw, stdin=asyncio.subprocess.PIPE
    )
    try:
        assert pacat.stdin is not None
        pacat.stdin.write(click_bytes(clicks))
        writing = asyncio.ensure_future(_feed(pacat.stdin))
        while pacat.returncode is None:
            sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pacat.wait()), SAMPLE_EVERY_S)
        await writing
        await asyncio.sleep(MAX_LATENCY_S + 0.1)
    finally:
        if pacat.returncode is None:
            pacat.terminate()
            await pacat.wait()


async def _feed(stdin: asyncio.StreamWriter) -> None:
    await stdin.drain()
    stdin.close()


# --- 2. call set-up -------------------------------------------------------------------------------


@dataclass
class SetupTrial:
    """Seconds from each step to the first audible sample of A at B."""

    from_a_start: float
    from_peer_joined: float
    peer_joined_to_connected: float
    connected_to_first_packet: float
    first_packet_to_audible: float


async def setup_time(plan: Plan) -> Result:
    """A fresh A joins a room where B waits, once per trial; the first trial warms up and is not counted."""
    mixer, audible = BenchMixer(), FirstAudio()
    seen: dict[tuple[str, str], float] = {}

    def on_b(event: events.EngineEvent) -> None:
        if isinstance(event, events.PeerJoined):
            seen[("joined", event.peer.id)] = time.monotonic()
        elif isinstance(event, events.CallStateChanged):
            seen.setdefault((event.state, event.peer_id), time.monotonic())

    trials: list[SetupTrial] = []
    async with local_server() as url, engine_pool() as pool:
        b_audio = StampedPacedAudio(Silence(), on_render=audible.feed)
        b = await join(pool, url, "setup", "b", b_audio, mixer=mixer, on_event=on_b)
        for i in range(plan.setup_trials + 1):
            trial = await _setup_trial(url, f"a{i}", b, mixer, audible, seen)
            if i > 0:
                trials.append(trial)
    return _setup_summary(trials)


async def _setup_trial(
    url: str, name: str, b: Engine, mixer: BenchMixer, audible: FirstAudio, seen: dict[tuple[str, str], float]
) -> SetupTrial:
    audible.arm()
    async with engine_pool() as pool:
        started = time.monotonic()
        a = await join(pool, url, "setup", name, PacedAudio(Tone(440.0)))
        await until(lambda: audible.at is not None, 15, "audio from A at B")
        a_id = a.signaling.self_id or ""
    await until(lambda: not b.mixer.peer_ids and not b.mesh.connected_peers, 10, "A gone at B")
    heard = audible.at or 0.0
    joined, connected = seen[("joined", a_id)], seen.get(("connected", a_id), heard)
    first_packet = mixer.first_packet.get(a_id, heard)
    return SetupTrial(
        from_a_start=heard - started,
        from_peer_joined=heard - joined,
        peer_joined_to_connected=connected - joined,
        connected_to_first_packet=first_packet - connected,
        first_packet_to_audible=heard - first_packet,
    )


def _setup_summary(trials: list[SetupTrial]) -> Result:
    columns = {name: [getattr(t, name) for t in trials] for name in SetupTrial.__dataclass_fields__}
    return {
        "trials": len(trials),
        **{f"{name}_p50_ms": _round(percentile_ms(v, 50)) for name, v in columns.items()},
        "from_peer_joined_p95_ms": _round(percentile_ms(columns["from_peer_joined"], 95)),
        "raw": [{k: round(v * 1000, 1) for k, v in asdict(t).items()} for t in trials],
    }


# --- 3. CPU per mesh size -------------------------------------------------------------------------


class LagProbe:
    """How late the loop wakes a 10 ms sleeper: when it is saturated, every pacer tick is late too."""

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


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _machine_busy_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat: tells how busy the rest of the machine was."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


async def cpu_mesh(plan: Plan) -> Result:
    """N engines with tones in one process; the server runs in a child process, outside the figure."""
    rows: list[Result] = []
    with server_process() as url:
        for n in plan.cpu_sizes:
            rows.append(await _cpu_for(url, n, plan.cpu_window_s))
            await asyncio.sleep(1.0)  # closing connections stay out of the next window
    return {"rows": rows, **_per_peer(rows)}


CPU_SLICES = 5
"""The window is cut in slices and the median slice taken: a neighbour's burst then skews one slice only."""


async def _cpu_for(url: str, n: int, window_s: float) -> Result:
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
    return {
        "engines": n,
        "peers_each": n - 1,
        "process_pct": round(ours, 1),
        "process_pct_slices": [round(ours, 1) for ours, _ in slices],
        "per_engine_pct": round(ours / n, 2),
        "others_pct": round(statistics.median(others for _, others in slices), 1),
        "loop_lag_p99_ms": round(float(np.percentile(np.array(probe.lags), 99)) * 1000, 1),
        "frames_lost_or_concealed": lost,
    }


async def _cpu_slice(span_s: float) -> tuple[float, float]:
    """(this process, every other process) in % of one core over ``span_s``."""
    cpu0, wall0, (busy0, total0) = _cpu_seconds(), time.monotonic(), _machine_busy_jiffies()
    await asyncio.sleep(span_s)
    cpu1, wall1, (busy1, total1) = _cpu_seconds(), time.monotonic(), _machine_busy_jiffies()
    ours = (cpu1 - cpu0) / (wall1 - wall0) * 100
    machine = (busy1 - busy0) / max(1, total1 - total0) * 100 * (os.cpu_count() or 1)
    return ours, max(0.0, machine - ours)


def _losses(pool: Sequence[Engine]) -> int:
    """Frames lost or concealed so far across every playout buffer: rises when the loop cannot keep up."""
    total = 0
    for engine in pool:
        for peer in engine.mixer.peer_ids:
            stats = engine.mixer.stats(peer)
            total += stats.lost + stats.concealed
    return total


def _per_peer(rows: list[Result]) -> Result:
    """Per-peer cost two ways: per engine between sizes, and a fit of the whole process.

    Per engine: c(N) = process / N; each extra peer costs (c(N) - c(2)) / (N - 2).
    Fit: process(N) = a*N + b*N*(N-1) (a per engine, b per peer an engine talks to), least squares.
    """
    base = next((r for r in rows if r["engines"] == 2), None)
    steps = {
        str(r["engines"]): round((r["per_engine_pct"] - base["per_engine_pct"]) / (r["engines"] - 2), 2)
        for r in rows
        if base is not None and r["engines"] > 2
    }
    fit: float | None = None
    if len(rows) >= 2:
        x = np.array([[r["engines"], r["engines"] * (r["engines"] - 1)] for r in rows], dtype=float)
        y = np.array([r["process_pct"] for r in rows], dtype=float)
        (_, b), *_ = np.linalg.lstsq(x, y, rcond=None)
        fit = round(float(b), 2)
    largest = steps[max(steps, key=int)] if steps else None
    return {"per_extra_peer_pct": steps, "per_peer_fit_pct": fit, "per_extra_peer_largest_pct": largest}


# --- 4. latency after a loss burst ----------------------------------------------------------------


async def loss_recovery(plan: Plan) -> Result:
    """A 300 ms blackout on arrival at B, then B's playout delay sampled every 100 ms for 3 s."""
    mixer = BenchMixer()
    trials: list[Result] = []
    async with local_server() as url, engine_pool() as pool:
        await join(pool, url, "loss", "sender", PacedAudio(Tone(440.0)))
        b = await join(pool, url, "loss", "receiver", PacedAudio(Silence()), mixer=mixer)
        await until(all_connected(pool), 15, "call")
        peer = peer_of(b)
        await asyncio.sleep(SETTLE_S)
        for _ in range(plan.loss_trials):
            trials.append(await _burst_trial(mixer, peer))
    times = [t["recovered_s"] for t in trials]
    return {
        "trials": trials,
        "recovered_s_median": None if None in times else statistics.median(times),
        "recovered_s_max": None if None in times else max(times),
    }


async def _burst_trial(mixer: BenchMixer, peer: str) -> Result:
    before = await _sample_delay(mixer, peer, 1.0)
    floor = statistics.median(d for _, d, playing in before if playing)
    counts_before = mixer.stats(peer)
    mixer.blackout = True
    await asyncio.sleep(BURST_S)
    mixer.blackout = False
    after = await _sample_delay(mixer, peer, RECOVERY_WINDOW_S)
    counts = mixer.stats(peer)
    return {
        "lost": counts.lost - counts_before.lost,
        "concealed": counts.concealed - counts_before.concealed,
        "rebuffers": counts.rebuffers - counts_before.rebuffers,
        "floor_ms": round(floor, 1),
        "peak_ms": round(max(d for _, d, _ in after), 1),
        "recovered_s": _recovered_at(after, floor),
        "series_ms": [round(d, 1) if playing else None for _, d, playing in after],
    }


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


# --- report ---------------------------------------------------------------------------------------


def machine_facts() -> Result:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libopus": _opus_version(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _opus_version() -> str:
    name = ctypes.util.find_library("opus")
    if name is None:
        return "?"
    lib = ctypes.CDLL(name)
    lib.opus_get_version_string.restype = ctypes.c_char_p
    return str(lib.opus_get_version_string().decode())


def _fmt(value: float | None, unit: str = " ms") -> str:
    return "—" if value is None else f"{value:g}{unit}"


def _verdict(value: float | None, limit: float) -> str:
    if value is None:
        return "n/a"
    return "met" if value <= limit else "**not met**"


def summary_rows(results: dict[str, Result]) -> list[tuple[str, str, str, str]]:
    """(measure, result, target, verdict) for the headline table."""
    rows: list[tuple[str, str, str, str]] = []
    mem = results.get("m2e-memory", {})
    if "p50_ms" in mem:
        n = f"n={mem['clicks_paired']}/{mem['clicks_sent']}"
        rows.append(
            (
                "mouth-to-ear, in memory, p50",
                f"{_fmt(mem['p50_ms'])} ({n})",
                "≤ 30 ms (stock aiortc ~80 ms)",
                _verdict(mem["p50_ms"], TARGETS["m2e_memory_p50_ms"]),
            )
        )
        rows.append(
            (
                "mouth-to-ear, in memory, p95",
                _fmt(mem["p95_ms"]),
                "≤ 45 ms",
                _verdict(mem["p95_ms"], TARGETS["m2e_memory_p95_ms"]),
            )
        )
    rows += _pulse_summary_rows((results.get("m2e-pulse", {}) or {}).get("stock"))
    setup = results.get("setup", {})
    if "from_peer_joined_p50_ms" in setup:
        rows.append(
            (
                "call set-up (B learns of A → A audible at B), p50",
                f"{_fmt(setup['from_peer_joined_p50_ms'])} "
                f"(p95 {_fmt(setup['from_peer_joined_p95_ms'])}, n={setup['trials']})",
                "≤ 150 ms",
                _verdict(setup["from_peer_joined_p50_ms"], TARGETS["setup_p50_ms"]),
            )
        )
    cpu = results.get("cpu", {})
    if cpu.get("per_extra_peer_largest_pct") is not None:
        rows.append(
            (
                "client CPU per extra mesh peer (% of one core)",
                f"{cpu['per_extra_peer_largest_pct']} % (fit {cpu['per_peer_fit_pct']} %)",
                "≤ 2 %",
                _verdict(cpu["per_extra_peer_largest_pct"], TARGETS["cpu_per_peer_pct"]),
            )
        )
    loss = results.get("loss", {})
    if "trials" in loss:
        value = loss["recovered_s_max"]
        text = (
            "not within 3 s" if value is None else f"{loss['recovered_s_median']} s median, {value} s worst"
        )
        rows.append(
            (
                "back within 10 ms of the delay floor after a 300 ms burst",
                text,
                "≤ 2 s",
                _verdict(value, TARGETS["loss_recovery_s"]) if value is not None else "**not met**",
            )
        )
    for name, result in results.items():
        if "error" in result:
            rows.append((name, f"failed: {result['error']}", "", "n/a"))
    return rows


def _pulse_summary_rows(stock: Result | None) -> list[tuple[str, str, str, str]]:
    """Two rows: engine-added (callback to callback, the measure asked for) and with PortAudio's buffers."""
    if not stock or "p50_ms" not in stock:
        return []
    n = f"n={stock['clicks_paired']}/{stock['clicks_sent']}, {stock['runs']} runs"
    adc = stock["adc_to_dac"]
    return [
        (
            "mouth-to-ear, PulseAudio null sinks, DeviceAudio (480, high), engine-added "
            "(input callback → output callback), p50 / p95",
            f"{_fmt(stock['p50_ms'])} / {_fmt(stock['p95_ms'])} ({n})",
            "≤ 50 ms p50 (stock 170-190 ms)",
            _verdict(stock["p50_ms"], TARGETS["m2e_pulse_p50_ms"]),
        ),
        (
            "same clicks, ADC → DAC (adds the device buffers PortAudio reports), p50 / p95",
            f"{_fmt(adc['p50_ms'])} / {_fmt(adc['p95_ms'])}",
            "(≤ 50 ms p50 if read as the whole path)",
            _verdict(adc["p50_ms"], TARGETS["m2e_pulse_p50_ms"]),
        ),
    ]


def render_report(results: dict[str, Result], machine: Result, quick: bool) -> str:
    lines = [
        f"# Engine benchmark{' (quick)' if quick else ''}",
        "",
        f"Machine: {machine['nproc']} x {machine['cpu']}, Python {machine['python']}, "
        f"{machine['libopus']}, load average at start {machine['loadavg_at_start']}.",
        "",
        "| measure | result | target | verdict |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in summary_rows(results)),
    ]
    lines += _memory_details(results.get("m2e-memory", {}))
    lines += _pulse_details(results.get("m2e-pulse", {}))
    lines += _setup_details(results.get("setup", {}))
    lines += _cpu_details(results.get("cpu", {}))
    lines += _loss_details(results.get("loss", {}))
    return "\n".join(lines)


def _memory_details(mem: Result) -> list[str]:
    if "p50_ms" not in mem:
        return []
    return [
        "",
        f"In memory: {mem['phases']} calls, receiver clock at {mem['phases']} phases across 20 ms; "
        f"min {_fmt(mem['min_ms'])}, max {_fmt(mem['max_ms'])}; of which Opus encode+decode alone "
        f"{_fmt(mem['codec_delay_ms'])}, receiver playout delay (median) "
        f"{_fmt(mem['playout_delay_ms_median'])}.",
    ]


def _pulse_details(pulse: Result) -> list[str]:
    if not pulse.get("settings"):
        return []
    lines = [
        "",
        "PulseAudio null sinks, real `DeviceAudio` on both sides, one setting per child process. Callback "
        "to callback; `ADC→DAC` is the same clicks on PortAudio's ADC/DAC times (adds its buffers). "
        "First callbacks: seconds from opening to A in/out, B in/out. Silent start: the longest time "
        "without any callback in the first 3 s (the engine's watchdog must allow for it). Reopened: times "
        "the engine fell back to the default devices (then B plays into A's input: figures invalid).",
        "",
        "| blocksize, latency | p50 / p95 | clicks heard | ADC→DAC p50 / p95 | PortAudio latency in/out | "
        "first callbacks | silent start | reopened | callbacks A in / B out (xruns, max gap) | "
        "playout delay |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in pulse["settings"]:
        lines.append(_pulse_row(s))
    return lines


def _pulse_row(s: Result) -> str:
    if "error" in s:
        return f"| {s['setting']} | {s['error']} | | | | | | | | |"
    i, o, first = s["a_input"], s["b_output"], s["first_callback_s"]
    firsts = " / ".join(_fmt(first[k], "") for k in ("a_in", "a_out", "b_in", "b_out"))
    runs = f" (runs: {', '.join(f'{v:g}' for v in s['run_p50_ms'])})" if s["runs"] > 1 else ""
    invalid = " (invalid: reopened on the defaults)" if s["reopened_on_defaults"] else ""
    adc = s["adc_to_dac"]
    return (
        f"| {s['setting']} | {_fmt(s['p50_ms'])} / {_fmt(s['p95_ms'])}{runs}{invalid} | "
        f"{s['clicks_paired']}/{s['clicks_sent']} | {_fmt(adc['p50_ms'])} / {_fmt(adc['p95_ms'])} | "
        f"{s['reported_latency_ms']} ms | {firsts} s | {s['startup_silence_s']} s | "
        f"{s['reopened_on_defaults']} | "
        f"{i['callbacks']} ({i['xruns']}, {i['gap_max_ms']} ms) / {o['callbacks']} ({o['xruns']}, "
        f"{o['gap_max_ms']} ms) | {_fmt(s['playout_delay_ms_median'])} |"
    )


def _setup_details(setup: Result) -> list[str]:
    if "trials" not in setup:
        return []
    return [
        "",
        f"Set-up breakdown (p50 of {setup['trials']}): A's start() → audible "
        f"{_fmt(setup['from_a_start_p50_ms'])}; "
        f"B's PeerJoined → connected {_fmt(setup['peer_joined_to_connected_p50_ms'])}, → first packet "
        f"+{_fmt(setup['connected_to_first_packet_p50_ms'])}, → audible "
        f"+{_fmt(setup['first_packet_to_audible_p50_ms'])}.",
    ]


def _cpu_details(cpu: Result) -> list[str]:
    if "rows" not in cpu:
        return []
    lines = [
        "",
        "CPU: user+system time of this process (all threads, getrusage) ÷ wall time = % of one core, "
        "median of 5 slices of the window; per engine = that ÷ N; "
        "per extra peer = (per engine(N) - per engine(2)) ÷ (N - 2); "
        "fit = b in process(N) = a·N + b·N·(N-1). The signaling server runs in another process, "
        "not counted.",
        "",
        "| engines | peers each | process % | per engine % | per extra peer % | other processes % | "
        "loop lag p99 | frames lost/concealed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in cpu["rows"]:
        step = cpu["per_extra_peer_pct"].get(str(r["engines"]), "—")
        lines.append(
            f"| {r['engines']} | {r['peers_each']} | {r['process_pct']} | {r['per_engine_pct']} | {step} | "
            f"{r['others_pct']} | {r['loop_lag_p99_ms']} ms | {r['frames_lost_or_concealed']} |"
        )
    return lines


def _loss_details(loss: Result) -> list[str]:
    if "trials" not in loss:
        return []
    lines = ["", "Playout delay after a 300 ms blackout (every 100 ms for 3 s; — = not playing):", ""]
    for t in loss["trials"]:
        series = " ".join("—" if d is None else f"{d:g}" for d in t["series_ms"])
        lines.append(
            f"- floor {t['floor_ms']} ms, peak {t['peak_ms']} ms, back at {t['recovered_s']} s "
            f"(lost {t['lost']}, concealed {t['concealed']}, re-buffered {t['rebuffers']}): {series}"
        )
    return lines


# --- main -----------------------------------------------------------------------------------------


def _async(scenario: Callable[[Plan], Coroutine[Any, Any, Result]]) -> Callable[[Plan], Result]:
    """Each scenario gets a fresh loop: nothing left over from one can skew the next."""
    return lambda plan: asyncio.run(scenario(plan))


SCENARIOS: dict[str, Callable[[Plan], Result]] = {
    "m2e-memory": _async(m2e_memory),
    "m2e-pulse": m2e_pulse,
    "setup": _async(setup_time),
    "cpu": _async(cpu_mesh),
    "loss": _async(loss_recovery),
}


def wait_until_quiet() -> None:
    """The machine is shared: a running server benchmark would skew every figure here (and ours its)."""
    announced = False
    while subprocess.run(["pgrep", "-f", "server_bench.py"], capture_output=True).returncode == 0:
        if not announced:
            print("waiting for bench/server_bench.py to finish…", file=sys.stderr, flush=True)
            announced = True
        time.sleep(10)


def _device_settings(text: str) -> tuple[DeviceSetting, ...]:
    settings = []
    for item in text.split(","):
        blocksize, latency = item.split(":")
        settings.append(DeviceSetting(int(blocksize), latency))
    return tuple(settings)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="small counts, under a minute")
    p.add_argument("--only", help=f"comma-separated scenarios among {', '.join(SCENARIOS)}")
    p.add_argument("--json", type=Path, help="also write every figure to this file")
    p.add_argument(
        "--devices",
        type=_device_settings,
        help="m2e-pulse device settings (blocksize:latency) instead of the plan's, e.g. 480:low,0:high",
    )
    p.add_argument("--pulse-child", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    if args.pulse_child:
        return pulse_child(args.pulse_child)
    names = args.only.split(",") if args.only else list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    if not args.quick:
        wait_until_quiet()
    plan = QUICK if args.quick else FULL
    if args.devices:
        plan = replace(plan, pulse_settings=args.devices)
    machine = machine_facts()
    results: dict[str, Result] = {}
    for name in names:
        began = time.monotonic()
        try:
            results[name] = SCENARIOS[name](plan)
        except Exception as exc:
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        results[name]["elapsed_s"] = round(time.monotonic() - began, 1)
        print(f"{name}: done in {results[name]['elapsed_s']} s", file=sys.stderr, flush=True)
    print(render_report(results, machine, args.quick))
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine, "plan": asdict(plan), "results": results}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
