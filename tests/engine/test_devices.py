"""The real sound-card path: PortAudio through PulseAudio null sinks, bots as operators run them."""

import asyncio
import sys
import time

import numpy as np
import pytest
from websockets.asyncio.client import connect

from client_desktop.engine import events
from client_desktop.engine.devices import (
    BLOCK_SAMPLES,
    DEFAULT_STREAMS,
    SERVER_GONE,
    Block,
    DeviceAudio,
    Direction,
    StreamSettings,
    list_devices,
)
from client_desktop.engine.engine import Engine
from client_desktop.engine.media import Tone
from client_desktop.engine.pcm import Pcm
from client_desktop.engine.problems import DeviceFailure, DeviceTrouble
from client_desktop.engine.processing import ProcessingSettings, VoiceProcessor
from signaling_server.app import RunningServer

from ..support.pulse import Pulse
from ..wsclient import Client
from .audio import peaks_hz, rms_db
from .calls import until

RATE = 48_000
TENTH_S = RATE // 10


async def start_bot(
    env: dict[str, str], url: str, name: str, source: str, sink: str
) -> asyncio.subprocess.Process:
    routed = {**env, "PULSE_SOURCE": source, "PULSE_SINK": sink}
    cmd = [sys.executable, "-m", "client_desktop.bot", "--server", url, "--room", "hifi", "--username", name]
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        "--devices",
        "--no-processing",
        "--duration",
        "30",
        env=routed,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 15)
    assert line.startswith(b"* joined"), line
    return proc


async def test_a_tone_into_one_sink_comes_out_of_the_other(
    pulse: dict[str, str], server: RunningServer
) -> None:
    a = await start_bot(pulse, server.url, "alice", "in_a.monitor", "out_a")
    b = await start_bot(pulse, server.url, "bob", "in_b.monitor", "out_b")
    source = Tone(440.0, -12.0)
    tone = np.concatenate([source.read() for _ in range(50 * 6)]).astype("<i2").tobytes()
    raw = ["--format=s16le", f"--rate={RATE}", "--channels=1", "--latency-msec=20"]
    play = await asyncio.create_subprocess_exec(
        "pacat", "--playback", "--device=in_a", *raw, env=pulse, stdin=asyncio.subprocess.PIPE
    )
    record = await asyncio.create_subprocess_exec(
        "parec", "--device=out_b.monitor", *raw, env=pulse, stdout=asyncio.subprocess.PIPE
    )
    assert play.stdin is not None
    assert record.stdout is not None
    play.stdin.write(tone)
    try:
        heard = np.zeros(0, dtype="<i2")
        deadline = asyncio.get_running_loop().time() + 15.0
        while not _a_full_second_of(heard, 440) and asyncio.get_running_loop().time() < deadline:
            chunk = await asyncio.wait_for(record.stdout.readexactly(TENTH_S * 2), 5.0)
            heard = np.concatenate([heard, np.frombuffer(chunk, dtype="<i2")])[-RATE:]
        assert _a_full_second_of(heard, 440), f"heard {len(heard)} samples, {rms_db(heard):.1f} dB RMS"
    finally:
        for proc in (play, record, a, b):
            if proc.returncode is None:
                proc.terminate()
            await proc.wait()


def _a_full_second_of(heard: Pcm, hz: float) -> bool:
    """The last second is the tone throughout: its pitch, and every tenth of it a tone, not a whisper."""
    if len(heard) < RATE:
        return False
    tenths = heard[-RATE:].reshape(10, TENTH_S)
    return abs(peaks_hz(heard[-RATE:])[0] - hz) <= 2 and all(rms_db(t) > -30 for t in tenths)


def _route(monkeypatch: pytest.MonkeyPatch, daemon: Pulse, source: str, sink: str) -> None:
    for key in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH", "PULSE_SERVER"):
        monkeypatch.setenv(key, daemon.env[key])
    monkeypatch.setenv("PULSE_SOURCE", source)
    monkeypatch.setenv("PULSE_SINK", sink)


async def test_a_missing_device_falls_back_to_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    with Pulse(("mic", "speaker")) as daemon:
        _route(monkeypatch, daemon, "mic.monitor", "speaker")
        failures: list[tuple[str, str]] = []
        frames: list[int] = []
        audio = DeviceAudio(
            lambda e: failures.append((e.message, e.fallback)), input_device="no such microphone"
        )
        audio.start(lambda frame: frames.append(len(frame)), lambda: np.zeros(960, dtype=np.int16))
        try:
            await until(lambda: len(frames) >= 25, timeout=8.0)  # ALSA's pulse plugin takes 1-2 s to start
        finally:
            await audio.stop()
        assert len(failures) == 1
        assert "no such microphone" in failures[0][0]
        assert failures[0][1] == "the default microphone"
        assert len(frames) >= 25  # the default microphone delivered 20 ms frames


async def test_a_dying_sound_server_ends_in_no_audio_and_the_chat_goes_on(
    monkeypatch: pytest.MonkeyPatch, server: RunningServer
) -> None:
    with Pulse(("mic", "speaker")) as daemon:
        _route(monkeypatch, daemon, "mic.monitor", "speaker")
        log: list[events.EngineEvent] = []
        audio = DeviceAudio(log.append)
        engine = Engine(server.url, "r", "deviceful", audio, log.append)
        other = Client(await connect(server.url))
        await engine.start()
        await other.join(room="r", username="other", voice=False)  # chat only: no call offers
        await until(lambda: audio.in_use.keys() == set(Direction), timeout=15.0)  # in a call: both streams
        daemon.stop()  # the sound server dies: both streams stop, and nothing opens any more

        def failures() -> list[events.AudioDeviceFailed]:
            return [e for e in log if isinstance(e, events.AudioDeviceFailed)]

        # A start that hangs on the dead server is given up after DEVICE_CALL_TIMEOUT_S; then a stall.
        await until(lambda: bool(failures()) and not audio.running, timeout=20.0)
        said_once = [events.AudioDeviceFailed.of(DeviceFailure((SERVER_GONE,)))]
        assert failures() == said_once
        assert said_once[0].fallback == ""
        assert said_once[0].codes is not None  # the UI words the codes
        assert said_once[0].codes.problems[0].trouble is DeviceTrouble.SERVER_GONE
        engine.send_chat("no audio, still talking")
        assert (await other.expect("chat"))["text"] == "no audio, still talking"
        assert failures() == said_once
        await engine.close()
        await other.close()


async def test_devices_are_listed_and_one_can_be_chosen_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    with Pulse(("mic", "speaker")) as daemon:
        _route(monkeypatch, daemon, "mic.monitor", "speaker")
        devices = await asyncio.to_thread(list_devices, True)
        names = {d.name for d in devices}
        assert "pulse" in names
        pulse_device = next(d for d in devices if d.name == "pulse")
        assert pulse_device.inputs >= 1
        assert pulse_device.outputs >= 1
        assert sum(d.is_default_input for d in devices) == 1
        frames: list[int] = []
        failures: list[tuple[str, str]] = []
        audio = DeviceAudio(
            lambda e: failures.append((e.message, e.fallback)), input_device="pulse", output_device="pulse"
        )
        audio.start(lambda frame: frames.append(len(frame)), lambda: np.zeros(960, dtype=np.int16))
        try:
            await until(lambda: len(frames) >= 25, timeout=8.0)
        finally:
            await audio.stop()
        assert failures == []


def test_streams_step_back_from_portaudios_blocks_to_10_ms_ones_then_to_high_latency() -> None:
    assert DEFAULT_STREAMS.blocksize == 0  # PortAudio chooses
    assert DEFAULT_STREAMS.latency == "low"
    assert DEFAULT_STREAMS.steadier() == StreamSettings(BLOCK_SAMPLES, "low")
    assert StreamSettings(BLOCK_SAMPLES, "low").steadier() == StreamSettings(BLOCK_SAMPLES, "high")
    assert StreamSettings(960, 0.02).steadier() == StreamSettings(960, "high")
    assert StreamSettings(BLOCK_SAMPLES, "high").steadier() is None


async def test_a_starved_audio_thread_gets_10_ms_blocks_and_the_microphone_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Playback callbacks held up (as on a machine whose audio threads do not get the CPU) underrun
    PortAudio's small blocks; the streams are reopened at 10 ms blocks and the tone played into
    the sink the microphone listens to still comes back (no processing: it would cancel it).
    (PortAudio flags no overflow for a late capture callback here: the ALSA plugin buffers it.)"""
    with Pulse(("mic", "speaker")) as daemon:
        _route(monkeypatch, daemon, "mic.monitor", "mic")
        sizes: list[int] = []
        frames: list[np.ndarray] = []
        failures: list[str] = []
        audio: DeviceAudio

        def starve(block: Block) -> None:
            if block.direction is Direction.OUTPUT:
                sizes.append(len(block.samples))
                if audio.streams.blocksize == 0:
                    time.sleep(0.01)  # several blocks long: the sink runs dry

        plain = VoiceProcessor(ProcessingSettings(False, False, False))
        audio = DeviceAudio(
            lambda e: failures.append(e.message),
            processor=plain,
            streams=StreamSettings(0, "low"),
            on_block=starve,
        )
        audio.start(frames.append, Tone(440.0).read)
        try:
            await until(lambda: audio.streams.blocksize == BLOCK_SAMPLES, timeout=10.0)
            assert min(sizes) < BLOCK_SAMPLES  # PortAudio's own blocks came first
            await until(lambda: len(sizes) > 100 and set(sizes[-100:]) == {BLOCK_SAMPLES}, timeout=8.0)
        finally:
            await audio.stop()
        assert peaks_hz(np.concatenate(frames[-25:]))[0] == pytest.approx(440.0, abs=10.0)
        assert failures == []


def test_stream_settings_refuse_what_portaudio_would() -> None:
    with pytest.raises(ValueError, match="blocksize"):
        StreamSettings(-1)
    with pytest.raises(ValueError, match="latency"):
        StreamSettings(480, 0.0)


async def test_the_observer_sees_every_block_at_the_chosen_size(monkeypatch: pytest.MonkeyPatch) -> None:
    with Pulse(("mic", "speaker")) as daemon:
        _route(monkeypatch, daemon, "mic.monitor", "speaker")
        blocks: list[tuple[Direction, int, float]] = []

        def seen(block: Block) -> None:  # the samples are PortAudio's buffer: note their size only
            blocks.append((block.direction, len(block.samples), block.at_s))

        failures: list[tuple[str, str]] = []
        audio = DeviceAudio(
            lambda e: failures.append((e.message, e.fallback)),
            streams=StreamSettings(960, "high"),
            on_block=seen,
        )
        audio.start(lambda frame: None, lambda: np.zeros(960, dtype=np.int16))
        try:
            await until(lambda: {direction for direction, _, _ in blocks} == set(Direction), timeout=8.0)
            assert audio.latency_s is not None
        finally:
            await audio.stop()
        assert failures == []
        assert {size for _, size, _ in blocks} == {960}
        assert audio.latency_s is None
        inputs = [at for direction, _, at in blocks if direction is Direction.INPUT]
        assert inputs == sorted(inputs)  # stamped on one monotonic clock


STUCK_START = """
import asyncio, os
from client_desktop.engine import devices
from tests.support.pulse import Pulse

with Pulse(("mic",)) as daemon:
    os.environ.update(daemon.env)
    devices.list_devices(rescan=True)  # PortAudio sees the server's ALSA device
    stream = devices._sd().InputStream(device="pulse", samplerate=48000, channels=1, callback=lambda *a: None)
    daemon.stop()  # dies between open and start: PortAudio 19.6's start then waits forever
    try:
        asyncio.run(devices._off_loop(stream.start, 0.5))
    except TimeoutError:
        print("start abandoned", flush=True)
"""


async def test_a_start_stuck_on_a_dead_sound_server_does_not_abort_the_exit() -> None:
    """PortAudio's exit would destroy the mutex the stuck start waits for, and abort the process."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", STUCK_START, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert out == b"start abandoned\n", err.decode(errors="replace")[-2000:]
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
