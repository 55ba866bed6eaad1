"""Engines in calls for the engine benchmark: join, wait, and always leave again.

Only the ``Engine`` facade is used: its ``connected_peers`` and
``playout_stats`` queries, never its parts.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

from client_desktop.engine import events
from client_desktop.engine.engine import AudioIO, Engine
from client_desktop.engine.mixer import Mixer
from client_desktop.engine.uplink import TalkMode

SETTLE_S = 1.0
"""After the call connects: the playout buffer's jitter window (1 s) fills before anything is measured."""
POLL_S = 0.005


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
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        raise TimeoutError(f"no {what} within {timeout_s:g} s") from None


def all_connected(pool: Sequence[Engine]) -> Callable[[], bool]:
    return lambda: all(len(e.connected_peers) == len(pool) - 1 for e in pool)


def peer_of(engine: Engine) -> str:
    """The one peer of an engine in a call of two."""
    return engine.connected_peers[0]


def playout_delay_ms(engine: Engine) -> float | None:
    """The playout delay of an engine's one peer; None before its voice arrived."""
    stats = engine.playout_stats(peer_of(engine))
    return None if stats is None else stats.delay_ms
