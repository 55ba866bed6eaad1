"""Token buckets with flood detection; the clock is passed in.

A message over budget is dropped. A sender that keeps going at over ten
times the budget for ten seconds is a flood, and the server disconnects it.
"""

from dataclasses import dataclass, field

FLOOD_FACTOR = 10
FLOOD_WINDOW_S = 1.0
FLOOD_DURATION_S = 10.0


@dataclass(slots=True)
class TokenBucket:
    rate_per_s: float
    burst: float
    tokens: float = field(init=False)
    updated: float | None = None
    _window_start: float = 0.0
    _window_count: int = 0
    _flood_since: float | None = None

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self, now: float) -> bool:
        """Spend one token if there is one; count the attempt for flood detection."""
        if self.updated is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate_per_s)
        self.updated = now
        self._count(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def flood_window_left(self, now: float) -> float:
        """Seconds left in this window once it is already over 10x the rate, else 0.

        Reading nothing more from that sender until the window ends costs its
        flood nothing in detection (the window is over either way) and saves
        the server decoding it.
        """
        if self._window_count <= FLOOD_FACTOR * self.rate_per_s * FLOOD_WINDOW_S:
            return 0.0
        return max(0.0, self._window_start + FLOOD_WINDOW_S - now)

    def flooding(self, now: float) -> bool:
        """True once every one-second window of the last ten was over 10x the rate."""
        return self._flood_since is not None and now - self._flood_since >= FLOOD_DURATION_S

    def _count(self, now: float) -> None:
        elapsed = now - self._window_start
        if elapsed >= FLOOD_WINDOW_S:
            over = self._window_count > FLOOD_FACTOR * self.rate_per_s * FLOOD_WINDOW_S
            if not over or elapsed >= 2 * FLOOD_WINDOW_S:
                self._flood_since = None
            elif self._flood_since is None:
                self._flood_since = self._window_start
            self._window_start = now
            self._window_count = 0
        self._window_count += 1
