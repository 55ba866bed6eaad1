"""The audio clock for audio without devices (the bot, tests): 20 ms ticks on the event loop.

It paces audio frames and nothing else. It stands where a sound card's
callbacks would: each tick it takes one frame from the source into the
uplink and renders one frame of the mix. Deadlines are absolute, so a late
tick does not shift the ones after it.
"""

import asyncio
from collections.abc import Callable

from .media import Sink, Source
from .pcm import FRAME_S, Pcm
from .tasks import cancel_and_wait


class PacedAudio:
    """A ``Source`` and an optional ``Sink`` driven by the 20 ms audio clock instead of a device."""

    def __init__(self, source: Source, sink: Sink | None = None) -> None:
        self.source = source
        self.sink = sink
        self._task: asyncio.Task[None] | None = None

    def start(self, capture: Callable[[Pcm], None], render: Callable[[], Pcm]) -> None:
        self._task = asyncio.ensure_future(self._run(capture, render))

    async def _run(self, capture: Callable[[Pcm], None], render: Callable[[], Pcm]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            capture(self.source.read())
            frame = render()
            if self.sink is not None:
                self.sink.write(frame)
            deadline += FRAME_S
            delay = deadline - loop.time()
            if delay < -5 * FRAME_S:  # far behind (a stalled loop): resynchronise, do not burst
                deadline = loop.time()
                delay = 0
            await asyncio.sleep(max(0.0, delay))

    async def stop(self) -> None:
        """Stop the clock and close the sink, even if the clock had failed (its error is raised)."""
        try:
            await cancel_and_wait(self._task)
        finally:
            self._task = None
            if self.sink is not None:
                self.sink.close()
