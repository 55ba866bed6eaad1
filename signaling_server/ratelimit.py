"""Token buckets with flood detection, and the back-off of wrong passwords; the clock is passed in.

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


AUTH_FREE_FAILURES = 3
"""Wrong passwords an address may send in a row before it must wait: typos cost nothing."""
AUTH_BACKOFF_FIRST_S = 1.0
AUTH_BACKOFF_MAX_S = 60.0
"""The wait doubles with each further failure up to this: a guesser settles at one try a minute."""
AUTH_FORGET_S = 600.0
"""An address with no failure for this long starts afresh (and costs no memory)."""


@dataclass(slots=True)
class _Failures:
    count: int
    last: float
    until: float


@dataclass(slots=True)
class AuthBackoff:
    """Exponential back-off of failed passwords, per client address; the clock is passed in.

    Each address has its own count, so a guesser only ever slows itself (and
    whoever shares its address). During the wait every attempt is refused
    unchecked: checking would tell the guesser whether it was right.
    """

    _by_address: dict[str, _Failures] = field(default_factory=dict)
    """Ordered by last failure, oldest first, so forgetting stops at the first recent one."""

    def wait_s(self, address: str, now: float) -> float:
        """Seconds before ``address`` may try a password again (0: now)."""
        failures = self._by_address.get(address)
        return 0.0 if failures is None else max(0.0, failures.until - now)

    def failed(self, address: str, now: float) -> None:
        failures = self._by_address.pop(address, None) or _Failures(0, now, now)
        failures.count += 1
        failures.last = now
        over = failures.count - AUTH_FREE_FAILURES
        if over > 0:
            failures.until = now + min(AUTH_BACKOFF_MAX_S, AUTH_BACKOFF_FIRST_S * 2 ** min(over - 1, 32))
        self._by_address[address] = failures

    def succeeded(self, address: str) -> None:
        self._by_address.pop(address, None)

    def saved(self) -> list[tuple[str, int, float, float]]:
        """Every address's failures (count, last, until), oldest first: what ``load`` takes."""
        return [(a, f.count, f.last, f.until) for a, f in self._by_address.items()]

    def load(self, saved: list[tuple[str, int, float, float]]) -> None:
        self._by_address = {a: _Failures(count, last, until) for a, count, last, until in saved}

    def forget(self, now: float) -> None:
        """Drop the addresses whose last failure is ``AUTH_FORGET_S`` old."""
        while self._by_address:
            address, failures = next(iter(self._by_address.items()))
            if now - failures.last < AUTH_FORGET_S:
                return
            del self._by_address[address]
