"""Stopping a background task the one way the engine does it."""

import asyncio
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
