"""Devices that come and go during a real call: PulseAudio null sinks loaded and unloaded under it.

Engine ``a`` plays through PortAudio into PulseAudio (its microphone is a
tone played into the ``mic`` sink, heard through ``mic.monitor``); bot
``b`` sends 660 Hz and checks the 440 Hz it hears. What ``a`` plays is
read back from the monitor of the sink it plays into.
"""

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator

import numpy as np
import pytest

from client_desktop.engine.device_watch import DeviceWatch
from client_desktop.engine.devices import DeviceAudio, Direction
from client_desktop.engine.engine import Engine
from client_desktop.engine.media import Tone
from client_desktop.engine.pcm import Pcm
from client_desktop.engine.processing import ProcessingSettings, VoiceProcessor
from client_desktop.engine.uplink import TalkMode
from signaling_server.app import RunningServer

from ..support.pulse import Pulse
from .audio import band_db, peaks_hz
from .calls import TONE_DBFS, BotFactory, until
from .test_devices import _route

RATE = 48_000
RAW = ["--format=s16le", f"--rate={RATE}", "--channels=1", "--latency-msec=20"]
TONE_SECONDS = 60


def load_sink(env: dict[str, str], name: str) -> int:
    """Load a 48 kHz mono null sink; its module's index."""
    args = ["pactl", "load-module", "module-null-sink", f"sink_name={name}", "rate=48000", "channels=1"]
    return int(subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout)


def unload(env: dict[str, str], module: int) -> None:
    subprocess.run(["pactl", "unload-module", str(module)], env=env, check=True)


def a_tone(heard: Pcm, hz: float) -> bool:
    """``hz`` is the loudest pitch, well above noise (levels through PulseAudio and Opus vary a little)."""
    return len(heard) > 0 and abs(peaks_hz(heard)[0] - hz) <= 2 and band_db(heard, hz) > TONE_DBFS - 20


async def sounds_on(env: dict[str, str], sink: str, hz: float, timeout: float = 10.0) -> bool:
    """Whether half a second of ``sink``'s monitor carries ``hz``, within ``timeout``."""
    record = await asyncio.create_subprocess_exec(
        "parec", f"--device={sink}.monitor", *RAW, env=env, stdout=asyncio.subprocess.PIPE
    )
    assert record.stdout is not None
    heard = np.zeros(0, dtype="<i2")
    try:
        async with asyncio.timeout(timeout):
            while not a_tone(heard[-RATE // 2 :], hz) or len(heard) < RATE // 2:
                chunk = await record.stdout.readexactly(RATE // 10 * 2)
                heard = np.concatenate([heard, np.frombuffer(chunk, dtype="<i2")])[-RATE:]
        return True
    except TimeoutError:
        return False
    finally:
        record.terminate()
        await record.wait()


@pytest.fixture
async def watch(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[DeviceWatch, Pulse]]:
    with Pulse(("mic", "speaker")) as daemon:
        _route(monkeypatch, daemon, "mic.monitor", "speaker")
        watching = await DeviceWatch.start()
        assert watching is not None
        try:
            yield watching, daemon
        finally:
            watching.close()


async def test_a_sink_that_goes_falls_back_and_comes_back_while_the_microphone_goes_on(
    watch: tuple[DeviceWatch, Pulse], server: RunningServer, bots: BotFactory
) -> None:
    devices, daemon = watch
    env = daemon.env
    headset = load_sink(env, "headset")
    await until(lambda: "headset" in [d.name for d in devices.devices.outputs])
    source = Tone(440.0, TONE_DBFS)
    tone = np.concatenate([source.read() for _ in range(50 * TONE_SECONDS)])
    play = await asyncio.create_subprocess_exec(
        "pacat", "--playback", "--device=mic", *RAW, env=env, stdin=asyncio.subprocess.PIPE
    )
    assert play.stdin is not None
    play.stdin.write(tone.astype("<i2").tobytes())
    failures: list[tuple[str, str]] = []
    plain = VoiceProcessor(ProcessingSettings(False, False, False))
    audio = DeviceAudio(
        lambda e: failures.append((e.message, e.fallback)), None, "headset", plain, watch=devices
    )
    a = Engine(server.url, "call", "a", audio, lambda _event: None)
    a.set_talk_mode(TalkMode.OPEN)
    try:
        await a.start()
        b = await bots("b", Tone(660.0, TONE_DBFS))
        await until(lambda: bool(a.connected_peers and b.engine.connected_peers))
        await b.heard_until(lambda heard: a_tone(heard, 440))
        assert await sounds_on(env, "headset", 660)

        newcomer = load_sink(env, "newcomer")  # appears while the call runs
        await until(lambda: "newcomer" in [d.name for d in devices.devices.outputs])
        unload(env, newcomer)

        unload(env, headset)  # the chosen speaker goes: the default takes over, the microphone goes on
        await until(lambda: bool(failures))
        assert failures == [("the speaker 'Null Output (headset)' was disconnected", "the default speaker")]
        assert audio.in_use == {Direction.INPUT: None, Direction.OUTPUT: None}
        assert await sounds_on(env, "speaker", 660)
        await b.heard_until(lambda heard: a_tone(heard, 440))

        headset = load_sink(env, "headset")  # back: used again
        await until(lambda: audio.in_use.get(Direction.OUTPUT) == "headset")
        assert await sounds_on(env, "headset", 660)
        await b.heard_until(lambda heard: a_tone(heard, 440))
        assert len(failures) == 1
    finally:
        await a.close()
        with contextlib.suppress(ProcessLookupError):
            play.terminate()
        await play.wait()


async def test_a_device_portaudio_lists_itself_is_left_to_portaudio(watch: tuple[DeviceWatch, Pulse]) -> None:
    """A choice saved from PortAudio's list ("pulse") is not among the server's sinks, and is not lost."""
    devices, daemon = watch
    frames: list[int] = []
    failures: list[tuple[str, str]] = []
    audio = DeviceAudio(lambda e: failures.append((e.message, e.fallback)), "pulse", "pulse", watch=devices)
    audio.start(lambda frame: frames.append(len(frame)), lambda: np.zeros(960, dtype=np.int16))
    try:
        await until(lambda: len(frames) >= 10)
        unload(daemon.env, load_sink(daemon.env, "passing"))  # the list changes twice
        await until(lambda: "passing" not in [d.name for d in devices.devices.outputs])
        seen = len(frames)
        await until(lambda: len(frames) >= seen + 50)  # a second more: the change was followed
    finally:
        await audio.stop()
    assert failures == []
