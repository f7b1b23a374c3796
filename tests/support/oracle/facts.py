"""Source events as the oracle reads them: each with its subject and version, oldest first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.base import Event
from schemas.catalog import Catalog

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def millis(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime, in integer arithmetic."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def json_value(value: Any) -> Any:
    """A value as the views store it: timestamps in epoch milliseconds, dates as ISO text."""
    if isinstance(value, datetime):
        return millis(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Source:
    """Who said something, and when: a field's provenance."""

    department: str
    event_id: str
    time_ms: int

    @property
    def version(self) -> tuple[int, str]:
        """The README's order of writes: event_time, ties broken by event_id."""
        return (self.time_ms, self.event_id)

    def stored(self) -> list[Any]:
        """The provenance as the views store it: [department, event_id, event_time_ms]."""
        return [self.department, self.event_id, self.time_ms]


@dataclass(frozen=True)
class Fact:
    """One source event: its contract's full name, its subject and what it says."""

    name: str  # Avro full name, e.g. gov.health.HealthStatusChanged
    subject: str  # the contract's key field: person_key, dwelling_id or community_code
    key: str
    source: Source
    record: Mapping[str, Any]


def facts(events: Iterable[Event], catalog: Catalog | None = None) -> list[Fact]:
    """Every event as a fact, sorted by version (oldest first); repeats are kept."""
    catalog = catalog or Catalog.load()
    found = []
    for event in events:
        contract = catalog.event(event.department, event.event)
        record = event.record
        source = Source(event.department, str(record["event_id"]), millis(record["event_time"]))
        key = str(record[contract.key_field])
        found.append(Fact(contract.full_name, contract.key_field, key, source, record))
    return sorted(found, key=lambda fact: fact.source.version)
