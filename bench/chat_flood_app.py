"""The desktop app with an event-loop stall meter, for ``chat_flood_bench.py``.

Usage: as ``python -m client_desktop``, plus ``--test-driver``: ``python
bench/chat_flood_app.py --no-audio --test-driver --join ...``. A ``QTimer``
fires every 5 ms on the app's own loop (the Qt loop that qasync runs
asyncio on, where the calls live); each gap between two firings past that is
how long the loop was held. The driver gets one more command: ``stalls``
prints a ``stalls`` line with what was seen since the last one (max, p99,
count over 50 ms, every gap over 16 ms) and starts afresh. A watchdog
thread looks at the loop's thread every 10 ms and, while a tick is over
40 ms late, notes where it is (the innermost frames of ours): ``where``
counts those places, so a stall says what held the loop.
"""

import collections
import statistics
import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication

from client_desktop import app as app_module
from client_desktop.engine import events
from client_desktop.ui import driver
from client_desktop.ui.window import MainWindow

TICK_MS = 5
STALL_MS = 50.0
SLOW_MS = 16.0
LAST = "the last one"
"""What the flood's last chat says (``chat_flood_bench.py``)."""
WATCH_S = 0.01
WATCH_LATE_MS = 40.0


class StallMeter(QObject):
    """Gaps between 5 ms ticks of the event loop, in ms, beyond the 5 ms asked for."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._timer.start(TICK_MS)
        self.where: collections.Counter[str] = collections.Counter()
        self._loop_thread = threading.get_ident()
        threading.Thread(target=self._watch, daemon=True).start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(max(0.0, (now - self._last) * 1000 - TICK_MS))
        self._last = now

    def _watch(self) -> None:
        while True:
            time.sleep(WATCH_S)
            if (time.perf_counter() - self._last) * 1000 > WATCH_LATE_MS:
                frame = sys._current_frames().get(self._loop_thread)
                if frame is not None:
                    stack = traceback.extract_stack(frame)
                    ours = [f for f in stack if "/site-packages/" not in f.filename][-3:]
                    place = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(ours))
                    top = stack[-1]
                    self.where[f"{Path(top.filename).name}:{top.lineno} {top.name} | {place}"] += 1

    def report(self) -> dict[str, object]:
        gaps, self.gaps = self.gaps, []
        where, self.where = self.where, collections.Counter()
        if len(gaps) < 2:
            return {"ticks": len(gaps)}
        return {
            "ticks": len(gaps),
            "max_ms": round(max(gaps), 1),
            "p99_ms": round(statistics.quantiles(gaps, n=100)[-1], 1),
            "median_ms": round(statistics.median(gaps), 2),
            "over_50ms": sum(g > STALL_MS for g in gaps),
            "slow_ms": [round(g, 1) for g in gaps if g > SLOW_MS],
            "where": where.most_common(15),
        }


class MeteredDriver(driver.TestDriver):
    """The test driver, plus the meter; it reports only the flood's last chat (``LAST``).

    A line per chat (a 2000-character JSON line written to a pipe the bench
    reads, and a scan of every line shown) would be the driver's cost, not
    the app's: on a loaded box the pipe filled and held the loop.
    """

    def __init__(self, window: MainWindow, qt: QApplication) -> None:
        super().__init__(window, qt)
        self.meter = StallMeter(self)

    def _chat(self, event: events.ChatReceived) -> None:
        if event.chat.text == LAST:
            super()._chat(event)

    def run(self, line: str) -> None:
        if line == "stalls":
            driver.emit("stalls", **self.meter.report())
            return
        super().run(line)


if __name__ == "__main__":
    app_module.TestDriver = MeteredDriver  # type: ignore[attr-defined,assignment]  # the name the app makes its driver by
    sys.exit(app_module.main())
