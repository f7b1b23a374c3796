"""Consumer lag, measured by the worker on a timer so that a stalled worker still shows it.

The high watermark comes from fetch responses (correct on the embedded broker, unlike
ListOffsets); before a batch of a partition is merged, the fetch position stands in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

import faust
from aiokafka.errors import IllegalStateError
from faust.types import TP

from services.metrics import MergeMetrics

LAG_POSITION_WAIT_S = 1.0  # a position still being fetched is reported at a later tick


@dataclass
class Progress:
    """Per partition: the last offset merged, and the first offset of a batch not yet merged."""

    merged: dict[TP, int] = field(default_factory=dict)
    waiting: dict[TP, int] = field(default_factory=dict)

    def taken(self, partitions: Iterable[tuple[TP, int]]) -> None:
        """Records taken for merging: a batch stuck on its first attempt still counts as lag."""
        for tp, offset in partitions:
            if tp not in self.merged:
                self.waiting.setdefault(tp, offset)

    def done(self, partitions: Iterable[tuple[TP, int]]) -> None:
        """Records merged and committed to the view store."""
        for tp, offset in partitions:
            if offset > self.merged.get(tp, -1):
                self.merged[tp] = offset
            self.waiting.pop(tp, None)

    def forget(self, partitions: Iterable[TP]) -> None:
        """Partitions handed to another worker: their lag is its to report now."""
        for tp in partitions:
            self.merged.pop(tp, None)
            self.waiting.pop(tp, None)

    def next_offset(self, tp: TP) -> int | None:
        """The offset the worker reads next on ``tp``, when known."""
        done = self.merged.get(tp)
        return done + 1 if done is not None else self.waiting.get(tp)


def _lag_labels(metrics: MergeMetrics) -> list[tuple[str, str, str]]:
    """Label values (group, topic, partition) of the lag series reported so far."""
    return [
        (s.labels["group"], s.labels["topic"], s.labels["partition"])
        for family in metrics.consumer_lag.collect()
        for s in family.samples
    ]


async def report_lag(app: faust.App, metrics: MergeMetrics, group: str, progress: Progress) -> int:
    """Report the lag of every assigned partition and return their sum (known ones only);
    series of partitions no longer assigned are removed."""
    assigned = app.consumer.assignment()
    progress.forget([tp for tp in [*progress.merged, *progress.waiting] if tp not in assigned])
    for topic, partition in {(t, p) for _, t, p in _lag_labels(metrics)}:
        if TP(topic, int(partition)) not in assigned:
            metrics.consumer_lag.remove(group, topic, partition)
    total = 0
    for tp in sorted(assigned):
        lag = await _partition_lag(app, tp, progress)
        if lag is not None:
            metrics.consumer_lag.labels(group, tp.topic, str(tp.partition)).set(lag)
            total += lag
    return total


async def _partition_lag(app: faust.App, tp: TP, progress: Progress) -> int | None:
    """Records behind on one partition, or None when unknown or no longer ours.

    A rebalance can revoke the partition while this awaits (or between faust's view of the
    assignment and aiokafka's): aiokafka then raises, and the partition is simply skipped.
    """
    try:
        highwater = app.consumer.highwater(tp)
        if highwater is None:
            return None
        next_offset = progress.next_offset(tp)
        if next_offset is None:
            next_offset = await asyncio.wait_for(app.consumer.position(tp), LAG_POSITION_WAIT_S)
    except (AssertionError, IllegalStateError, TimeoutError):
        return None  # aiokafka asserts an assignment it no longer has; not an error of ours
    return None if next_offset is None else max(0, highwater - next_offset)
