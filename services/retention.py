"""How long the hub keeps what grows, and what is due to go at a given moment. Pure.

Source topics keep every event (a rebuild replays them), so what grows without end on the
hub's side is history: alerts that closed, the hourly situation snapshots, dead letters.
Each has a bound in days (``services/settings.py``). The audit of reads is not here: the
hub never deletes it, an operator exports it (``datong audit``).

The view store's outbox is bounded by the merge itself: a mark is deleted once the broker
acknowledged its change (``services/merge/publisher.py``), so it holds only what is in
flight or what a crash left, and the sweep resends that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.settings import Settings

CLOSED_ALERT = "closed_alert"
SITUATION_SNAPSHOT = "situation_snapshot"


@dataclass(frozen=True)
class Retention:
    """The bounds, in days, of the history the view store keeps."""

    closed_alert_days: int
    snapshot_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        """The bounds a process was configured with."""
        return cls(settings.closed_alert_retention_days, settings.snapshot_retention_days)


@dataclass(frozen=True)
class Expiry:
    """Rows of one kind that are due to go: those older than ``before``.

    ``kind`` names them in logs and in ``datong_pruned_rows_total{table}``.
    """

    kind: str
    before: datetime


def expiries(retention: Retention, now: datetime) -> list[Expiry]:
    """What is due to be deleted at ``now`` (timezone-aware).

    A closed alert goes once its ``closed_at`` (the event time that closed it) is more than
    ``closed_alert_days`` before ``now``; a snapshot once its hour is more than
    ``snapshot_days`` before ``now``. An open alert never expires, however old.
    """
    return [
        Expiry(CLOSED_ALERT, now - timedelta(days=retention.closed_alert_days)),
        Expiry(SITUATION_SNAPSHOT, now - timedelta(days=retention.snapshot_days)),
    ]


def closed_alert_expired(record: dict[str, object], before: datetime) -> bool:
    """Whether an alert record (``status``, ``closed_at`` in ms) closed before ``before``.

    The reading of the rule that the SQL in ``services/store/pruning.py`` applies, for a
    rebuild or a test that needs it over plain rows.
    """
    closed_at = record.get("closed_at")
    if record.get("status") != "CLOSED" or not isinstance(closed_at, int):
        return False
    return closed_at < int(before.timestamp() * 1000)


def dead_letter_expiry(written_at_ms: int, retention_ms: int) -> datetime | None:
    """When a dead letter written at ``written_at_ms`` leaves its topic (None: never).

    Kafka deletes a record once its segment's newest record is older than ``retention.ms``,
    so this is the earliest moment it may go; it can linger until its segment rolls.
    """
    if retention_ms < 0:
        return None
    return datetime.fromtimestamp((written_at_ms + retention_ms) / 1000, tz=UTC)
