"""Engine fixtures: bots in calls, and a PulseAudio daemon with null sinks as real sound cards."""

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from client_desktop.engine import events
from client_desktop.engine.engine import Engine
from client_desktop.engine.media import Silence, Source
from client_desktop.engine.pacer import PacedAudio
from client_desktop.engine.uplink import TalkMode
from signaling_server.app import RunningServer

from .audio import Recorder
from .calls import Bot, BotFactory

SINKS = ("in_a", "out_a", "in_b", "out_b")


class Pulse:
    """A private PulseAudio daemon with 48 kHz mono null sinks."""

    def __init__(self, sinks: tuple[str, ...] = SINKS) -> None:
        if shutil.which("pulseaudio") is None:
            pytest.fail(
                "pulseaudio is not installed: run ./dev test (it installs it) or apt-get install pulseaudio"
            )
        self.runtime = Path(tempfile.mkdtemp(prefix="vx-pulse-"))
        self.env = {
            **os.environ,
            "XDG_RUNTIME_DIR": str(self.runtime),
            "HOME": str(self.runtime),
            "PULSE_RUNTIME_PATH": str(self.runtime),
            "PULSE_SERVER": f"unix:{self.runtime}/native",
        }
        loads = [f"--load=module-null-sink sink_name={name} rate=48000 channels=1" for name in sinks]
        cmd = [
            "pulseaudio",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--system=false",
            "--disallow-exit",
            "-n",
        ]
        cmd += ["--load=module-native-protocol-unix", *loads, "--log-target=stderr", "--log-level=error"]
        self.proc = subprocess.Popen(cmd, env=self.env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode != 0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                pytest.fail("PulseAudio did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.runtime, ignore_errors=True)


@pytest.fixture(scope="session")
def pulse() -> Iterator[dict[str, str]]:
    """The env that reaches a private PulseAudio with sinks in_a, out_a, in_b, out_b."""
    daemon = Pulse()
    yield daemon.env
    daemon.stop()


@pytest.fixture
async def bots(server: RunningServer) -> AsyncIterator[BotFactory]:
    made: list[Bot] = []

    async def make(
        name: str, source: Source | None = None, url: str | None = None, voice: bool = True
    ) -> Bot:
        recorder = Recorder()
        audio = PacedAudio(source or Silence(), recorder)
        log: list[events.EngineEvent] = []
        engine = Engine(url or server.url, "call", name, audio, log.append, voice=voice)
        engine.set_talk_mode(TalkMode.OPEN)
        bot = Bot(engine, recorder, audio, log)
        await engine.start()
        made.append(bot)
        return bot

    yield make
    await asyncio.gather(*(b.engine.close() for b in made), return_exceptions=True)
