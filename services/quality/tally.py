"""One department's feed on one day, as counted from what crossed Kafka. Pure.

A day is a calendar day in China Standard Time (the departments' day), of the moment a
record reached the broker (its Kafka timestamp). What is counted:

- ``published``: events on the department's source topics;
- ``rejected``: dead letters on ``dlq.<department>``, by reason code;
- ``parked`` / ``resolved``: the notices on ``parked.<department>`` (a row held for its
  address; a held row published once its address resolved);
- ``lag``: per event, broker time minus ``event_time`` (the timeliness);
- ``newest_event_ms``: the newest ``event_time`` seen (the freshness);
- ``completeness``: per event type, the rows and, per optional field, the rows carrying it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from schemas.headers import PARKED, RESOLVED
from services.quality.sketch import LagSketch

# China Standard Time has had no daylight saving since 1991, so a fixed offset is exact.
CHINA = timezone(timedelta(hours=8), "CST")


def day_of(millis: int) -> date:
    """The China-time calendar day of an epoch-millisecond instant."""
    return datetime.fromtimestamp(millis / 1000, UTC).astimezone(CHINA).date()


@dataclass
class EventFields:
    """How many rows of one event type arrived, and how many carried each optional field."""

    rows: int = 0
    present: dict[str, int] = field(default_factory=dict)

    def absorb(self, other: EventFields) -> None:
        """Add another count of the same event type."""
        self.rows += other.rows
        for name, n in other.present.items():
            self.present[name] = self.present.get(name, 0) + n


@dataclass
class DayTally:
    """What one department's feed did on one day."""

    published: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    parked: int = 0
    resolved: int = 0
    lag: LagSketch = field(default_factory=LagSketch)
    newest_event_ms: int | None = None
    completeness: dict[str, EventFields] = field(default_factory=dict)

    def event(
        self,
        event: str,
        event_time_ms: int,
        arrived_ms: int,
        optional: Iterable[str],
        record: Mapping[str, Any],
    ) -> None:
        """Count a source event: published, its lag, its time, its optional fields."""
        self.published += 1
        self.lag.add(arrived_ms - event_time_ms)
        if self.newest_event_ms is None or event_time_ms > self.newest_event_ms:
            self.newest_event_ms = event_time_ms
        fields = self.completeness.setdefault(event, EventFields())
        fields.rows += 1
        for name in optional:
            if record.get(name) is not None:
                fields.present[name] = fields.present.get(name, 0) + 1
            else:
                fields.present.setdefault(name, 0)

    def dead_letter(self, code: str) -> None:
        """Count a dead letter under its reason code."""
        self.rejected[code] = self.rejected.get(code, 0) + 1

    def notice(self, outcome: str) -> None:
        """Count a parked-address notice (``parked`` or ``resolved``)."""
        if outcome == PARKED:
            self.parked += 1
        elif outcome == RESOLVED:
            self.resolved += 1
        else:
            raise ValueError(f"a parked notice is {PARKED} or {RESOLVED}, not {outcome!r}")

    def absorb(self, other: DayTally) -> None:
        """Add another tally of the same department and day (another batch's)."""
        self.published += other.published
        for code, n in other.rejected.items():
            self.rejected[code] = self.rejected.get(code, 0) + n
        self.parked += other.parked
        self.resolved += other.resolved
        self.lag.absorb(other.lag)
        if other.newest_event_ms is not None and (
            self.newest_event_ms is None or other.newest_event_ms > self.newest_event_ms
        ):
            self.newest_event_ms = other.newest_event_ms
        for event, fields in other.completeness.items():
            self.completeness.setdefault(event, EventFields()).absorb(fields)

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "published": self.published,
            "rejected": dict(sorted(self.rejected.items())),
            "parked": self.parked,
            "resolved": self.resolved,
            "lag": self.lag.to_json(),
            "newest_event_ms": self.newest_event_ms,
            "completeness": {
                e: {"rows": f.rows, "present": dict(sorted(f.present.items()))}
                for e, f in sorted(self.completeness.items())
            },
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> DayTally:
        """Read the stored form back."""
        newest = body.get("newest_event_ms")
        return cls(
            published=int(body.get("published", 0)),
            rejected={str(k): int(v) for k, v in dict(body.get("rejected", {})).items()},
            parked=int(body.get("parked", 0)),
            resolved=int(body.get("resolved", 0)),
            lag=LagSketch.from_json(body.get("lag", {})),
            newest_event_ms=None if newest is None else int(newest),
            completeness={
                str(e): EventFields(
                    int(f["rows"]), {str(k): int(v) for k, v in f["present"].items()}
                )
                for e, f in dict(body.get("completeness", {})).items()
            },
        )


# (department, day) -> its tally: what a batch adds, and what the store keeps.
Tallies = dict[tuple[str, date], DayTally]


def tally_for(tallies: Tallies, department: str, arrived_ms: int) -> DayTally:
    """The tally of ``department`` on the day of ``arrived_ms``, made when missing."""
    return tallies.setdefault((department, day_of(arrived_ms)), DayTally())
