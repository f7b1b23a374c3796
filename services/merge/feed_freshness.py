"""Each department's newest event, read from the view store: freshness that a restart keeps.

The in-memory freshness gauge appears only once a worker has merged an event of a
department, so after a restart a department that had already gone quiet would show
nothing and never alert. This reads the newest event time of every department from the
community situations (``department_freshness``, folded from every resident's and
household's rows) when the worker starts and then on a timer, and exports it with each
department's expected cadence, so the stale-feed alert has both from the first scrape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.feed_schedule import FeedSchedule
from services.metrics import MergeMetrics
from services.store.views import newest_events


class FeedFreshness:
    """Exports each department's newest event time from the store, and its cadence."""

    def __init__(
        self,
        engine: sa.Engine,
        schedule: FeedSchedule,
        departments: Iterable[str],
        metrics: MergeMetrics,
    ) -> None:
        self._engine = engine
        self._metrics = metrics
        for department in departments:
            metrics.feed_cadence.labels(department).set(schedule.cadence_of(department))

    def refresh(self) -> dict[str, int]:
        """Read the newest event time of every department now and export it; return it."""
        with Session(self._engine) as session:
            found = newest_events(session)
        for department, millis in found.items():
            self._metrics.feed_last_event.labels(department).set(millis / 1000)
        return found

    async def run(self) -> None:
        """``refresh`` in a thread, for the worker's timer: the loop keeps merging meanwhile."""
        await asyncio.to_thread(self.refresh)
