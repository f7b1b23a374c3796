"""The keys in flight of a latency run, per partition in send order: what a poll asks for.

On PostgreSQL the bench cannot ask "which rows are new" cheaply (the view table has no
column the worker writes in commit order: the outbox's ids are in it, but published
entries are deleted), and asking for every key in flight costs as much as the backlog.
A worker merges a partition's events in offset order, so a partition's rows become
visible in the order their events were sent: while the oldest keys in flight of a
partition are not visible, none after them is. A poll therefore asks, per partition,
for the oldest few keys in flight only, and asks for the next few (twice as many) of
each partition whose keys were all visible. Its cost follows the rows that became
visible, not the backlog. Should a worker ever break that order, a row found late is
found at the latest by the final sweep of every key left (``visibility.py``), which
counts what it found.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable

from aiokafka.partitioner import murmur2

FIRST_WINDOW = 64  # keys per partition in a poll's first round
MAX_WINDOW = 4096


def partition_of(key: str, partitions: int) -> int:
    """The partition a record with ``key`` lands on: the default partitioner's murmur2, as
    aiokafka's and the Java client's (the offered-load sender leaves it the choice)."""
    hashed: int = murmur2(key.encode())
    return (hashed & 0x7FFFFFFF) % partitions


class InFlight:
    """Keys sent and not seen yet, per partition in send order (safe across threads: the
    sender's notices arrive on one, the polls run on another)."""

    def __init__(self, partitions: int) -> None:
        self._partitions = partitions
        self._queues: list[deque[str]] = [deque() for _ in range(partitions)]
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def sent(self, key: str) -> None:
        """``key``'s event was sent (after every key handed here before it)."""
        with self._lock:
            self._queues[partition_of(key, self._partitions)].append(key)

    def heads(self, partitions: Iterable[int], size: int) -> dict[int, list[str]]:
        """The oldest ``size`` keys in flight of each of ``partitions`` that has any."""
        heads: dict[int, list[str]] = {}
        with self._lock:
            for p in partitions:
                queue = self._queues[p]
                while queue and queue[0] in self._seen:  # seen out of order earlier
                    self._seen.discard(queue.popleft())
                keys = [k for k in _first(queue, size + len(self._seen)) if k not in self._seen]
                if keys:
                    heads[p] = keys[:size]
        return heads

    def seen(self, keys: Iterable[str]) -> None:
        """``keys`` became visible: they are in flight no more."""
        left = set(keys)
        with self._lock:
            for queue in self._queues:
                while queue and queue[0] in left:
                    left.discard(queue.popleft())
            self._seen |= left  # found out of order: dropped when they reach their head

    def pending(self) -> list[str]:
        """Every key in flight, oldest first within each partition."""
        with self._lock:
            return [k for queue in self._queues for k in queue if k not in self._seen]

    def poll(self, visible: Callable[[list[str]], set[str]]) -> set[str]:
        """One poll: ask ``visible`` for the heads of every partition, then for the next
        keys of each partition whose heads were all visible, until none is. Returns
        every key found (and marks it seen)."""
        found: set[str] = set()
        partitions: list[int] = list(range(self._partitions))
        size = FIRST_WINDOW
        while partitions:
            heads = self.heads(partitions, size)
            asked = [k for keys in heads.values() for k in keys]
            if not asked:
                break
            now_visible = visible(asked)
            self.seen(now_visible)
            found |= now_visible
            partitions = [p for p, keys in heads.items() if now_visible.issuperset(keys)]
            size = min(2 * size, MAX_WINDOW)
        return found


def _first(queue: deque[str], n: int) -> list[str]:
    out: list[str] = []
    for key in queue:
        if len(out) == n:
            break
        out.append(key)
    return out
