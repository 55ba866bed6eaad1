"""Engines in calls, for tests: a bot (engine + paced audio + recorder) and waiting helpers."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from client_desktop.engine import events
from client_desktop.engine.engine import Engine
from client_desktop.engine.pacer import PacedAudio

from .audio import Recorder

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


BotFactory = Callable[..., Awaitable[Bot]]


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for ``condition``; a TimeoutError fails the test."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def connected(*bots: Bot) -> Callable[[], bool]:
    return lambda: all(len(b.engine.mesh.connected_peers) == len(bots) - 1 for b in bots)
