"""Lag percentiles within 1% of the exact figure, in a bounded, mergeable form.

A day of a busy feed is far too many lags to keep one by one, and a fixed set of histogram
buckets is either coarse or long. This is DDSketch's idea (Masson et al., VLDB 2019): a lag
``x`` is counted in bucket ``ceil(log_gamma(x))`` with ``gamma = (1 + a) / (1 - a)``, and a
bucket stands for ``2 * gamma**i / (gamma + 1)``, which is within ``a`` (relative) of every
value in it. Lags from a millisecond to a year take under 1,100 buckets, sketches of two
batches or two workers add bucket by bucket, and their JSON is a small map. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RELATIVE_ACCURACY = 0.01
_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
# Lags below a millisecond (or negative: an event dated after it arrived, a clock ahead)
# are counted as zero: Kafka timestamps have millisecond resolution.
_SMALLEST_MS = 1.0


def bucket_of(lag_ms: float) -> int | None:
    """The bucket of a lag in milliseconds; None for a lag counted as zero."""
    if lag_ms < _SMALLEST_MS:
        return None
    return math.ceil(math.log(lag_ms) / _LOG_GAMMA)


def value_of(bucket: int) -> float:
    """The lag (ms) a bucket stands for: within RELATIVE_ACCURACY of each lag counted in it."""
    return 2 * _GAMMA**bucket / (_GAMMA + 1)


@dataclass
class LagSketch:
    """Counts of lags per bucket, and of lags counted as zero."""

    buckets: dict[int, int] = field(default_factory=dict)
    zeros: int = 0

    @property
    def count(self) -> int:
        """How many lags were added."""
        return self.zeros + sum(self.buckets.values())

    def add(self, lag_ms: float, times: int = 1) -> None:
        """Count one lag (``times`` times)."""
        bucket = bucket_of(lag_ms)
        if bucket is None:
            self.zeros += times
        else:
            self.buckets[bucket] = self.buckets.get(bucket, 0) + times

    def absorb(self, other: LagSketch) -> None:
        """Add another sketch's counts to this one."""
        self.zeros += other.zeros
        for bucket, n in other.buckets.items():
            self.buckets[bucket] = self.buckets.get(bucket, 0) + n

    def quantile_ms(self, q: float) -> float | None:
        """The nearest-rank ``q`` quantile (0 < q <= 1) in ms, within 1%; None when empty.

        Nearest rank: the smallest lag with at least ``ceil(q * count)`` lags at or below it.
        """
        total = self.count
        if total == 0:
            return None
        rank = max(1, math.ceil(q * total))
        if rank <= self.zeros:
            return 0.0
        seen = self.zeros
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return value_of(bucket)
        raise AssertionError("unreachable: the ranks add up to the count")

    def to_json(self) -> dict[str, Any]:
        """A JSON form (bucket numbers as strings, as JSON keys are)."""
        return {
            "zeros": self.zeros,
            "buckets": {str(b): n for b, n in sorted(self.buckets.items())},
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> LagSketch:
        """Read ``to_json``'s form back."""
        buckets = {int(b): int(n) for b, n in dict(body.get("buckets", {})).items()}
        return cls(buckets, int(body.get("zeros", 0)))

    @classmethod
    def of(cls, lags_ms: Iterable[float]) -> LagSketch:
        """A sketch of the given lags."""
        sketch = cls()
        for lag in lags_ms:
            sketch.add(lag)
        return sketch
