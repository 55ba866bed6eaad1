"""The real sound-card path: PortAudio through PulseAudio null sinks, bots as operators run them."""

import asyncio
import sys

import numpy as np

from client_desktop.engine.media import Tone
from signaling_server.app import RunningServer

from .audio import peaks_hz, rms_db

RATE = 48_000


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
        await asyncio.sleep(4.0)
        heard = np.frombuffer(await record.stdout.read(RATE * 2 * 2), dtype="<i2")  # the newest 2 s or less
        record.terminate()
        rest = await record.stdout.read()
        heard = np.frombuffer(bytes(heard.tobytes()) + rest, dtype="<i2")[-RATE:]
        assert len(heard) == RATE
        assert abs(peaks_hz(heard)[0] - 440) <= 2
        assert rms_db(heard) > -30  # a tone, not a whisper of one
    finally:
        for proc in (play, record, a, b):
            if proc.returncode is None:
                proc.terminate()
            await proc.wait()
