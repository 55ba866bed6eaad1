"""Asks the engine for its calls' paths and figures every few seconds while we are in a room.

The engine has no stats event (aiortc answers ``getStats`` only when asked),
so the bridge polls. A poll that fails is logged and the next one tries
again: a broken stats read must never take the call or the window with it.
Results of a poll still running when we leave are dropped (and the task
cancelled), so an old room's figures never reach the next room's list.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from ..engine.shapes import PeerCallStats

log = logging.getLogger("voxroom.ui")

POLL_EVERY_MS = 2000


class StatsSource(Protocol):
    async def call_stats(self) -> list[PeerCallStats]: ...


class StatsPoller(QObject):
    rows = Signal(object)  # list[PeerCallStats]; [] when polling stops

    def __init__(self, spawn: Callable[[Coroutine[Any, Any, None]], object], parent: QObject | None = None):
        super().__init__(parent)
        self._spawn = spawn
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_EVERY_MS)
        self.timer.timeout.connect(self.poll)
        self._source: StatsSource | None = None
        self._in_flight: StatsSource | None = None
        self._task: object = None
        self._last_error = ""

    @property
    def active(self) -> bool:
        return self._source is not None

    def start(self, source: StatsSource) -> None:
        """Poll ``source`` now and every ``POLL_EVERY_MS`` until ``stop``."""
        if source is not self._source:
            self.stop()
        self._source = source
        self.timer.start()
        self.poll()

    def stop(self) -> None:
        """No more polls; one under way is cancelled, and the list is told there are no calls."""
        was_active = self._source is not None
        self._source, self._in_flight = None, None
        self.timer.stop()
        if isinstance(self._task, asyncio.Future):
            self._task.cancel()
        self._task = None
        if was_active:
            self.rows.emit([])

    def poll(self) -> None:
        """Ask now (e.g. a call just connected); skipped while the previous answer is still awaited."""
        source = self._source
        if source is None or self._in_flight is not None:
            return
        self._in_flight = source
        self._task = self._spawn(self._poll(source))

    async def _poll(self, source: StatsSource) -> None:
        try:
            rows = await source.call_stats()
        except Exception as exc:  # any failure of one read: say it once, keep polling
            if str(exc) != self._last_error:
                log.warning("reading the call stats failed: %r", exc)
            self._last_error = str(exc)
            return
        finally:
            if self._in_flight is source:
                self._in_flight = None
        self._last_error = ""
        if source is self._source:
            self.rows.emit(rows)
