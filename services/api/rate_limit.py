"""Per-token rate limits: a token bucket per caller, kept in the process.

A resident lookup by ID number is a way to test guesses (is this number a resident of my
communities?), so each token may make only so many a minute. The buckets live in one API
process: with N replicas a token gets at most N times the rate, which the setting allows
for. Pure: the clock is passed in.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

# Buckets of callers idle long enough to be full again are forgotten first; this bounds
# the memory a flood of distinct tokens can take.
MAX_CALLERS = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimit:
    """At most ``per_minute`` calls a minute per caller, in bursts of up to ``per_minute``."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("a rate limit allows at least one call a minute")
        self.per_minute, self._clock = per_minute, clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, caller: str) -> float:
        """Spend one call of ``caller``'s; 0.0 when allowed, else the seconds until it is."""
        now = self._clock()
        rate = self.per_minute / 60.0
        bucket = self._buckets.pop(caller, None) or _Bucket(float(self.per_minute), now)
        bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        self._buckets[caller] = bucket  # the most recent caller last
        while len(self._buckets) > MAX_CALLERS:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate
