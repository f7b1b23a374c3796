"""Merge metrics per delivered event: what each event did to each view it reached."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from services.merge.merge import Update
from services.merge.rows import Applied
from services.metrics import MergeMetrics


class Tally:
    """Counts each delivered event once per view it reached: applied, else conflict, else
    unchanged. One event makes several updates of a view (its fields, its department's
    freshness); a repeated delivery of an event counts again.
    """

    def __init__(
        self,
        metrics: MergeMetrics,
        origin: Mapping[int, int],
        published_ms: Sequence[int | None] = (),
    ) -> None:
        self._metrics = metrics
        self._origin = origin  # id of an update -> index of the message it came from
        self._published_ms = published_ms  # per message: its Kafka timestamp, if known

    def count(self, applied: Applied, commit_time: float) -> None:
        """Count a merge batch's updates, committed at ``commit_time`` (epoch seconds)."""
        by_event = {
            u.source.event_id: self._origin[id(u)]
            for u in (*applied.applied, *applied.unchanged)
            if id(u) in self._origin
        }
        outcomes: dict[tuple[int, str], tuple[str, Update, int]] = {}
        for outcome, updates in (
            ("unchanged", applied.unchanged),
            ("conflict", [Update(c.view, c.key, c.source) for c in applied.conflicts]),
            ("applied", applied.applied),
        ):
            for update in updates:
                message = self._origin.get(id(update), by_event.get(update.source.event_id, -1))
                outcomes[(message, update.view)] = (outcome, update, message)
        self._observe(outcomes.values(), commit_time)

    def count_community(
        self, applied: Sequence[Update], unchanged: Sequence[Update], commit_time: float
    ) -> None:
        """Count the community stage's own updates (a community's events), once per event."""
        outcomes: dict[str, tuple[str, Update, int]] = {}
        for outcome, updates in (("unchanged", unchanged), ("applied", applied)):
            for update in updates:
                # Folded from deltas, not from a message: no Kafka timestamp to measure from.
                outcomes[update.source.event_id] = (outcome, update, -1)
        self._observe(outcomes.values(), commit_time)

    def _observe(self, outcomes: Iterable[tuple[str, Update, int]], commit_time: float) -> None:
        for outcome, update, message in outcomes:
            department = update.source.department
            if outcome == "applied":
                event_time = update.source.event_time_ms / 1000
                published = self._published(message)
                self._metrics.applied(update.view, department, event_time, commit_time, published)
            else:
                self._metrics.events.labels(update.view, department, outcome).inc()

    def _published(self, message: int) -> float | None:
        """The Kafka timestamp of message ``message`` in epoch seconds, if it has one."""
        if not 0 <= message < len(self._published_ms):
            return None
        millis = self._published_ms[message]
        return None if millis is None or millis < 0 else millis / 1000
