"""The settings' checks outside a call, on real PortAudio through PulseAudio null sinks."""

import asyncio
import contextlib

import numpy as np
import pytest

from client_desktop.engine.devices import TEST_TONE_HZ, DeviceCheck, sine_burst
from client_desktop.engine.pcm import Pcm

from ..support.pulse import Pulse
from .audio import peaks_hz, rms_db
from .calls import until
from .test_devices import _route

RATE = 48_000
RAW = ["--format=s16le", f"--rate={RATE}", "--channels=1", "--latency-msec=20"]


def test_the_tone_is_440_hz_and_starts_and_ends_silent() -> None:
    tone = sine_burst()
    assert abs(peaks_hz(tone)[0] - TEST_TONE_HZ) <= 2
    assert abs(int(tone[0])) < 50
    assert abs(int(tone[-1])) < 50
    assert -16 < rms_db(tone) < -14  # -12 dBFS peak: -15 dBFS RMS


def _samples(raw: bytearray) -> Pcm:
    return np.frombuffer(bytes(raw[: len(raw) // 2 * 2]), dtype="<i2")


def _loud(raw: bytearray) -> int:
    return int(np.count_nonzero(np.abs(_samples(raw)) > 1000))


async def test_the_test_tone_comes_out_of_the_chosen_speaker(monkeypatch: pytest.MonkeyPatch) -> None:
    with Pulse(("mic", "speaker")) as daemon:
        _route(monkeypatch, daemon, "mic.monitor", "speaker")
        record = await asyncio.create_subprocess_exec(
            "parec", "--device=speaker.monitor", *RAW, env=daemon.env, stdout=asyncio.subprocess.PIPE
        )
        assert record.stdout is not None
        heard = bytearray()

        async def keep_reading(stdout: asyncio.StreamReader) -> None:
            while chunk := await stdout.read(65536):
                heard.extend(chunk)

        reading = asyncio.ensure_future(keep_reading(record.stdout))
        try:
            await DeviceCheck().play_tone("")
            await until(lambda: _loud(heard) > RATE // 4, timeout=5.0)  # most of the 0.6 s tone arrived
        finally:
            record.terminate()
            await reading
            await record.wait()
        assert abs(peaks_hz(_samples(heard))[0] - TEST_TONE_HZ) <= 2


async def test_the_meter_follows_the_microphone_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    with Pulse(("mic", "speaker")) as daemon:
        _route(monkeypatch, daemon, "mic.monitor", "speaker")
        play = await asyncio.create_subprocess_exec(
            "pacat", "--playback", "--device=mic", *RAW, env=daemon.env, stdin=asyncio.subprocess.PIPE
        )
        assert play.stdin is not None
        play.stdin.write(np.tile(sine_burst(seconds=1.0), 8).astype("<i2").tobytes())
        levels: list[float] = []
        witness: list[float] = []
        check, other = DeviceCheck(), DeviceCheck()
        try:
            await check.start_meter("", levels.append)
            await until(lambda: any(level > -25 for level in levels), timeout=8.0)
            await other.start_meter("", witness.append)  # a second meter proves the microphone goes on
            await until(lambda: len(witness) > 0, timeout=8.0)
            await check.stop_meter()
            count, seen = len(levels), len(witness)
            await until(lambda: len(witness) >= seen + 6, timeout=5.0)  # 6 x 50 ms of microphone blocks
            assert len(levels) <= count + 1  # at most one already on its way
        finally:
            await check.stop_meter()
            await other.stop_meter()
            with contextlib.suppress(ProcessLookupError):
                play.terminate()
            await play.wait()
