"""Engine fixtures: bots in calls, and a PulseAudio daemon with null sinks as real sound cards."""

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from client_desktop.engine import events
from client_desktop.engine.call_rules import DEFAULT_TIMING, CallTiming
from client_desktop.engine.engine import Engine
from client_desktop.engine.media import Silence, Source
from client_desktop.engine.pacer import PacedAudio
from client_desktop.engine.uplink import TalkMode
from signaling_server.app import RunningServer

from ..support.pulse import Pulse
from .audio import Recorder
from .calls import Bot, BotFactory


@pytest.fixture(scope="session")
def pulse() -> Iterator[dict[str, str]]:
    """The env that reaches a private PulseAudio with sinks in_a, out_a, in_b, out_b."""
    with Pulse() as daemon:
        yield daemon.env


@pytest.fixture
async def bots(server: RunningServer) -> AsyncIterator[BotFactory]:
    made: list[Bot] = []

    async def make(
        name: str,
        source: Source | None = None,
        url: str | None = None,
        voice: bool = True,
        timing: CallTiming = DEFAULT_TIMING,
    ) -> Bot:
        recorder = Recorder()
        audio = PacedAudio(source or Silence(), recorder)
        log: list[events.EngineEvent] = []
        engine = Engine(url or server.url, "call", name, audio, log.append, voice=voice, timing=timing)
        engine.set_talk_mode(TalkMode.OPEN)
        bot = Bot(engine, recorder, audio, log)
        await engine.start()
        made.append(bot)
        return bot

    yield make
    await asyncio.gather(*(b.engine.close() for b in made), return_exceptions=True)
