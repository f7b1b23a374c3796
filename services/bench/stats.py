"""The bench's statistics: latency order statistics and rates, pure functions of samples.

Every figure of the bench is one of these over the run's own samples, so they carry the
bench's honesty: an event that never arrived is counted, never dropped (it ranks as the
run's timeout), and a rate is what the run reached, not what it asked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Latencies:
    """Order statistics of one run's event latencies (seconds) and how its load went.

    An event that never arrived ranks as the run's timeout in ``p50``, ``p99`` and ``max``
    and is counted in ``lost``: a run that loses two events in a hundred has a p99 of
    its timeout, as a user waiting for them would see it.
    """

    p50: float
    p99: float
    max: float
    samples: int  # events that arrived, each timed
    lost: int  # events that never arrived within the run's timeout
    offered_rate: float  # events/s asked of the sender
    achieved_rate: float  # events/s the sender reached


def nearest_rank(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ascending ``ordered`` by nearest rank: the smallest value with
    at least ``q`` of the values at or below it (no interpolation: always a real sample)."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def order_statistics(
    samples: Sequence[float],
    *,
    lost: int = 0,
    timeout_s: float = math.inf,
    offered: float,
    achieved: float,
) -> Latencies:
    """p50, p99 and max of ``samples`` and ``lost`` events ranked as ``timeout_s`` each.

    ``timeout_s`` is how long the run waited for an event at most (from its first send
    to giving up), so a lost event ranks above every event that did arrive.
    """
    ordered = sorted([*samples, *([timeout_s] * lost)])
    return Latencies(
        nearest_rank(ordered, 0.5),
        nearest_rank(ordered, 0.99),
        ordered[-1] if ordered else math.nan,
        len(samples),
        lost,
        offered,
        achieved,
    )


def arrival_latencies(
    sent: Mapping[str, float], arrivals: Sequence[Mapping[str, float]]
) -> tuple[list[float], int]:
    """Each reader's latency of each sent key from its send (seconds), and how many
    (reader, key) pairs never arrived; keys no one sent (a warm-up, a replay) are left out."""
    samples = [a[key] - at for a in arrivals for key, at in sent.items() if key in a]
    return samples, len(sent) * len(arrivals) - len(samples)


def timed(
    sent: Mapping[str, float],
    arrivals: Sequence[Mapping[str, float]],
    *,
    gave_up_at: float,
    offered: float,
    reached: float,
) -> Latencies:
    """The order statistics of ``sent`` keys (send times) arriving at each of ``arrivals``
    (arrival times), epoch seconds. A pair that never arrived ranks as the run's timeout:
    from the first send to ``gave_up_at``, when the bench stopped waiting."""
    samples, lost = arrival_latencies(sent, arrivals)
    timeout_s = gave_up_at - min(sent.values(), default=gave_up_at)
    return order_statistics(
        samples, lost=lost, timeout_s=timeout_s, offered=offered, achieved=reached
    )


def sent_rate(count: int, first_t: float, last_t: float) -> float:
    """Events per second of ``count`` sends from ``first_t`` to ``last_t`` (seconds).

    ``count - 1`` intervals lie between the first send and the last, so a sender exactly
    on pace at R/s measures R/s whatever the run's length; nan for fewer than two sends.
    """
    if count < 2 or last_t <= first_t:
        return math.nan
    return (count - 1) / (last_t - first_t)


def bucket_bound(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """Smallest histogram bucket bound holding ``q`` of the observations between two scrapes.

    ``before`` and ``after`` map each bucket's upper bound (``le``) to its cumulative count.
    """
    total = after.get(math.inf, 0.0) - before.get(math.inf, 0.0)
    for bound in sorted(after):
        if total and after[bound] - before.get(bound, 0.0) >= q * total:
            return bound
    return math.nan
