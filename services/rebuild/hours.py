"""Events grouped by the hour they happened in: the order a history replay merges them in.

Pure: the caller reads the times off the events; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

HOUR_MS = 3_600_000

_T = TypeVar("_T")


def hour_of(millis: int) -> int:
    """The start of the (UTC) hour ``millis`` falls in, in epoch milliseconds."""
    return millis - millis % HOUR_MS


def by_hour(timed: Iterable[tuple[int, _T]], since_ms: int) -> list[tuple[int, list[_T]]]:
    """Items grouped by the hour of their time (epoch ms), oldest hour first.

    Everything before the hour of ``since_ms`` comes first, as one group labelled the hour
    before it: those events make the state the first hour starts from, and need no hour of
    their own. Hours without an item have no group.
    """
    first = hour_of(since_ms)
    groups: dict[int, list[_T]] = {}
    for millis, item in timed:
        groups.setdefault(max(hour_of(millis), first - HOUR_MS), []).append(item)
    return sorted(groups.items())
