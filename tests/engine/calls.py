"""Engines in calls, for tests: a bot (engine + audio clock + recorder) and waiting helpers.

Nothing here sleeps for a fixed time: tests wait for a condition with a
deadline, or for an amount of audio to pass through the bot's own clock.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from client_desktop.engine import events
from client_desktop.engine.engine import Engine
from client_desktop.engine.pacer import PacedAudio
from client_desktop.engine.pcm import FRAME_S, Pcm

from .audio import Recorder, band_db, peaks_hz

TONE_DBFS = -12.0
TONE_RMS_DBFS = TONE_DBFS - 3.01  # a sine's RMS is its peak / sqrt(2)


@dataclass
class Bot:
    engine: Engine
    recorder: Recorder
    audio: PacedAudio
    log: list[events.EngineEvent] = field(default_factory=list)

    def chats(self) -> list[tuple[int, str]]:
        return [(e.chat.id, e.chat.text) for e in self.log if isinstance(e, events.ChatReceived)]

    async def record(self, seconds: float) -> Pcm:
        return await record(self.recorder, seconds)

    async def heard_until(
        self, check: Callable[[Pcm], bool], seconds: float = 0.5, timeout: float = 10.0
    ) -> Pcm:
        """Record windows of ``seconds`` until one passes ``check``; a TimeoutError fails the test."""
        async with asyncio.timeout(timeout):
            while not check(heard := await self.record(seconds)):
                pass
        return heard

    async def hears(self, *tones: float, seconds: float = 0.5) -> Pcm:
        """Wait until exactly ``tones`` are the loudest, each at the full tone level."""
        return await self.heard_until(lambda heard: tones_in(heard, tones), seconds)


async def record(recorder: Recorder, seconds: float) -> Pcm:
    """The next ``seconds`` of playout, as the bot's audio clock renders it (no wall-clock sleep)."""
    mark = recorder.mark()
    frames = round(seconds / FRAME_S)
    await until(lambda: recorder.mark() - mark >= frames, timeout=seconds + 10.0)
    return recorder.since(mark)[: frames * round(FRAME_S * 48_000)]


def tones_in(heard: Pcm, tones: tuple[float, ...]) -> bool:
    """``tones`` are the strongest peaks (±2 Hz), each within 3 dB of the tone level."""
    found = sorted(peaks_hz(heard, len(tones)))
    return all(abs(f - hz) <= 2 for f, hz in zip(found, sorted(tones), strict=True)) and all(
        abs(band_db(heard, hz) - TONE_RMS_DBFS) <= 3 for hz in tones
    )


BotFactory = Callable[..., Awaitable[Bot]]


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for ``condition``; a TimeoutError fails the test."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def connected(*bots: Bot) -> Callable[[], bool]:
    return lambda: all(len(b.engine.connected_peers) == len(bots) - 1 for b in bots)


def states(bot: Bot) -> list[events.CallState]:
    return [e.state for e in bot.log if isinstance(e, events.CallStateChanged)]
