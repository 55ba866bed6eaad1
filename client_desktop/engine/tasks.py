"""Background work the engine's one way: stopping a task, and a shell's timer for its core."""

import asyncio
from collections.abc import Callable
from typing import Any


async def cancel_and_wait(task: "asyncio.Task[Any] | None") -> None:
    """Cancel ``task`` (if any) and wait until it has really finished.

    Its own ``CancelledError`` is expected and swallowed; a cancellation of the
    caller while it waits is not, so whoever stops the caller still can.
    """
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


class CoreTimer:
    """The one timer a shell keeps for its pure core, at the core's next deadline.

    aioquic's ``asyncio/protocol.py`` pattern: after feeding the core, the
    shell calls ``arm(core.get_timer())``; when the deadline comes, ``fire``
    runs (it calls ``core.handle_timer(now)`` and feeds the actions on).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, fire: Callable[[], None]) -> None:
        self._loop = loop
        self._fire = fire
        self._handle: asyncio.Handle | None = None
        self._at: float | None = None  # qasync's handles have no when(): the deadline is kept here

    def arm(self, at: float | None) -> None:
        """Fire at ``at`` (loop time), or never for None; re-arming at the same time is free."""
        if at == self._at:
            return
        self.cancel()
        self._at = at
        if at is not None:
            self._handle = self._loop.call_at(at, self._due)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle, self._at = None, None

    def _due(self) -> None:
        self._handle, self._at = None, None
        self._fire()
