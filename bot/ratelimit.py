"""Per-user rate limiting for the chat endpoints: a token bucket per user, per replica."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

MAX_USERS_TRACKED = 100_000


class RateLimiter:
    """Allow `per_minute` messages per user, with bursts up to the same number."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(per_minute)
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, user: str) -> bool:
        now = self.clock()
        tokens, last = self._buckets.pop(user, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[user] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > MAX_USERS_TRACKED:
            self._buckets.popitem(last=False)
        return allowed
