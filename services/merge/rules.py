"""Which source events write which view fields, and which department owns each field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.merge.merge import Provenance, Row, Update

PUBLIC_SECURITY = "public-security"
HEALTH = "health"


@dataclass(frozen=True)
class ViewSpec:
    """A view's fields, their owners, the events that feed it, and when a row is shown."""

    name: str
    key_field: str
    owners: Mapping[str, str]
    # Avro full name of a source event -> (view field -> event field); None = erasure.
    feeds: Mapping[str, Mapping[str, str] | None]
    visible: Callable[[Mapping[str, Any]], bool]
    community_field: str | None = None
    hidden: frozenset[str] = frozenset()  # merge state that is not part of the view record
    date_fields: frozenset[str] = frozenset()  # stored as ISO strings, Avro `date` on the wire


RESIDENT_PROFILE = ViewSpec(
    name="resident_profile",
    key_field="person_key",
    owners={
        # "registered" is the lifecycle flag: a row is shown only while it is true.
        "registered": PUBLIC_SECURITY,
        "community_code": PUBLIC_SECURITY,
        "dwelling_id": PUBLIC_SECURITY,
        "address": PUBLIC_SECURITY,
        "household_no": PUBLIC_SECURITY,
        "name_masked": PUBLIC_SECURITY,
        "gender": PUBLIC_SECURITY,
        "birth_date": PUBLIC_SECURITY,
        "phone_masked": PUBLIC_SECURITY,
        "health_status": HEALTH,
    },
    feeds={
        "gov.public_security.ResidentRegistered": {
            "registered": "=true",
            "community_code": "community_code",
            "dwelling_id": "dwelling_id",
            "address": "address",
            "household_no": "household_no",
            "name_masked": "name_masked",
            "gender": "gender",
            "birth_date": "birth_date",
            "phone_masked": "phone_masked",
        },
        "gov.public_security.ResidentMoved": {
            "community_code": "community_code",
            "dwelling_id": "dwelling_id",
            "address": "address",
        },
        "gov.public_security.ResidentDeregistered": None,
        "gov.health.HealthStatusChanged": {"health_status": "status"},
    },
    visible=lambda values: bool(values.get("registered")),
    community_field="community_code",
    hidden=frozenset({"registered"}),
    date_fields=frozenset({"birth_date"}),
)

VIEWS: dict[str, ViewSpec] = {RESIDENT_PROFILE.name: RESIDENT_PROFILE}


def feeding(full_name: str) -> list[ViewSpec]:
    """The views an event type feeds."""
    return [spec for spec in VIEWS.values() if full_name in spec.feeds]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_millis(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime, exactly (no float rounding)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def updates_for(full_name: str, department: str, record: Mapping[str, Any]) -> list[Update]:
    """The updates one decoded source event makes, one per view it feeds."""
    source = Provenance(department, str(record["event_id"]), to_millis(record["event_time"]))
    updates = []
    for spec in feeding(full_name):
        mapping = spec.feeds[full_name]
        key = str(record[spec.key_field])
        if mapping is None:
            updates.append(Update(spec.name, key, source, erase=True))
            continue
        values = {
            view_field: _json_value(True if event_field == "=true" else record[event_field])
            for view_field, event_field in mapping.items()
        }
        updates.append(Update(spec.name, key, source, values))
    return updates


def _json_value(value: Any) -> Any:
    """Store values as JSON-native types: dates as ISO strings."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def view_record(spec: ViewSpec, row: Row) -> dict[str, Any]:
    """The Avro record of a visible row (the view contract's fields)."""
    record: dict[str, Any] = {spec.key_field: row.key}
    for name in spec.owners:
        if name in spec.hidden:
            continue
        value = row.values.get(name)
        if name in spec.date_fields and value is not None:
            value = date.fromisoformat(value)
        record[name] = value
    record["provenance"] = {
        name: {
            "department": p.department,
            "event_id": p.event_id,
            "event_time": datetime.fromtimestamp(p.event_time_ms / 1000, UTC),
        }
        for name, p in row.provenance.items()
        if name not in spec.hidden and row.values.get(name) is not None
    }
    return record
