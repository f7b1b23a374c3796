"""The worker's prune: history older than its bound leaves the view store, on a timer.

What is due comes from ``services/retention.py`` (pure), the deleting from
``services/store/pruning.py``; this runs them off the event loop and counts the rows.
Every worker prunes: the deletes are idempotent, so two workers at once only share work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from services.metrics import MergeMetrics
from services.retention import CLOSED_ALERT, SITUATION_SNAPSHOT, Retention, expiries
from services.store.pruning import delete_expired

log = logging.getLogger(__name__)


class HistoryPruner:
    """Deletes what the retention bounds say is due, each time it is called."""

    def __init__(
        self,
        engine: sa.Engine,
        retention: Retention,
        batch_size: int,
        metrics: MergeMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._retention = retention
        self._batch_size = batch_size
        self._metrics = metrics
        self._clock = clock
        for kind in (CLOSED_ALERT, SITUATION_SNAPSHOT):
            metrics.pruned.labels(kind)  # shown at 0 from the start, not after the first prune

    def prune(self) -> dict[str, int]:
        """Delete every expired row now; return how many of each kind went."""
        now = datetime.fromtimestamp(self._clock(), tz=UTC)
        pruned: dict[str, int] = {}
        for expiry in expiries(self._retention, now):
            pruned[expiry.kind] = delete_expired(self._engine, expiry, self._batch_size)
            self._metrics.pruned.labels(expiry.kind).inc(pruned[expiry.kind])
        if any(pruned.values()):
            log.info("pruned expired history: %s", pruned)
        return pruned

    async def run(self) -> None:
        """``prune`` in a thread, for the worker's timer: the loop keeps merging meanwhile."""
        await asyncio.to_thread(self.prune)
