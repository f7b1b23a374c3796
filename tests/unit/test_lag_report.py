"""The merge worker's lag timer survives a rebalance that revokes partitions under it."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.errors import IllegalStateError
from faust.types import TP
from prometheus_client import CollectorRegistry

from services.merge.lag import Progress, report_lag
from services.metrics import MergeMetrics

GROUP = "datong-merge"
A = TP("src.health.health-status-changed", 0)
B = TP("src.health.health-status-changed", 1)


class _RevokingConsumer:
    """Behaves as aiokafka does when a rebalance takes ``revoked`` while a position is awaited:
    ``highwater`` asserts the assignment, ``position`` raises IllegalStateError."""

    def __init__(self, revoked: TP) -> None:
        self.owned = {A, B}
        self.revoked = revoked

    def assignment(self) -> set[TP]:
        return set(self.owned)

    def highwater(self, tp: TP) -> int:
        assert tp in self.owned, "Partition is not assigned"
        return 10

    async def position(self, tp: TP) -> int:
        await asyncio.sleep(0)
        self.owned.discard(self.revoked)  # the rebalance lands while we wait
        if tp not in self.owned:
            raise IllegalStateError(f"Partition {tp} is not assigned")
        return 4


class _App:
    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer


def _lag(metrics: MergeMetrics) -> dict[str, float]:
    return {
        s.labels["partition"]: s.value
        for family in metrics.consumer_lag.collect()
        for s in family.samples
    }


def test_a_partition_revoked_while_another_is_read_is_skipped_at_its_highwater() -> None:
    metrics = MergeMetrics(CollectorRegistry())
    app = _App(_RevokingConsumer(revoked=B))

    asyncio.run(report_lag(app, metrics, GROUP, Progress()))  # type: ignore[arg-type]

    assert _lag(metrics) == {"0": 6.0}


def test_a_partition_revoked_while_its_own_position_is_awaited_is_skipped() -> None:
    metrics = MergeMetrics(CollectorRegistry())
    app = _App(_RevokingConsumer(revoked=A))

    asyncio.run(report_lag(app, metrics, GROUP, Progress()))  # type: ignore[arg-type]

    assert _lag(metrics) == {"1": 6.0}
