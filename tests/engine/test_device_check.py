"""The settings' checks outside a call, on real PortAudio through PulseAudio null sinks."""

import asyncio
import contextlib

import numpy as np
import pytest

from client_desktop.engine.devices import TEST_TONE_HZ, DeviceCheck, sine_burst

from .audio import peaks_hz, rms_db
from .calls import until
from .conftest import Pulse
from .test_devices import _route

RATE = 48_000
RAW = ["--format=s16le", f"--rate={RATE}", "--channels=1", "--latency-msec=20"]


def test_the_tone_is_440_hz_and_starts_and_ends_silent() -> None:
    tone = sine_burst()
    assert abs(peaks_hz(tone)[0] - TEST_TONE_HZ) <= 2
    assert abs(int(tone[0])) < 50
    assert abs(int(tone[-1])) < 50
    assert -16 < rms_db(tone) < -14  # -12 dBFS peak: -15 dBFS RMS


async def test_the_test_tone_comes_out_of_the_chosen_speaker(monkeypatch: pytest.MonkeyPatch) -> None:
    daemon = Pulse(("mic", "speaker"))
    try:
        _route(monkeypatch, daemon, "mic.monitor", "speaker")
        record = await asyncio.create_subprocess_exec(
            "parec", "--device=speaker.monitor", *RAW, env=daemon.env, stdout=asyncio.subprocess.PIPE
        )
        assert record.stdout is not None
        try:
            await DeviceCheck().play_tone("")
            await asyncio.sleep(0.3)
        finally:
            record.terminate()
        heard = np.frombuffer(await record.stdout.read(), dtype="<i2")
        await record.wait()
        loud = heard[np.abs(heard) > 1000]
        assert len(loud) > RATE // 4  # most of the 0.6 s tone arrived
        assert abs(peaks_hz(heard)[0] - TEST_TONE_HZ) <= 2
    finally:
        daemon.stop()


async def test_the_meter_follows_the_microphone_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    daemon = Pulse(("mic", "speaker"))
    try:
        _route(monkeypatch, daemon, "mic.monitor", "speaker")
        play = await asyncio.create_subprocess_exec(
            "pacat", "--playback", "--device=mic", *RAW, env=daemon.env, stdin=asyncio.subprocess.PIPE
        )
        assert play.stdin is not None
        play.stdin.write(np.tile(sine_burst(seconds=1.0), 8).astype("<i2").tobytes())
        levels: list[float] = []
        check = DeviceCheck()
        try:
            await check.start_meter("", levels.append)
            await until(lambda: any(level > -25 for level in levels), timeout=8.0)
            await check.stop_meter()
            count = len(levels)
            await asyncio.sleep(0.3)
            assert len(levels) <= count + 1  # at most one already on its way
        finally:
            await check.stop_meter()
            with contextlib.suppress(ProcessLookupError):
                play.terminate()
            await play.wait()
    finally:
        daemon.stop()
