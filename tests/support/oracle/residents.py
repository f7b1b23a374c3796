"""resident_profile: the registered residents, each field with the event that wrote it."""

from __future__ import annotations

from typing import Any

from tests.support.oracle.fold import Fields, Folded
from tests.support.oracle.writes import ASSESSMENT, PERSON, REGISTRATION, TESTED, VACCINATED

Shown = tuple[dict[str, Any], dict[str, list[Any]]]  # record fields, provenance
PROFILE_FIELDS = (*REGISTRATION, "health_status", *ASSESSMENT, *TESTED, *VACCINATED)


def value(fields: Fields, name: str) -> Any:
    """A field's current value, None when never written or cleared."""
    held = fields.get(name)
    return None if held is None else held.value


def provenance(fields: Fields, name: str) -> list[Any] | None:
    """The stored provenance of a field that holds a value."""
    held = fields.get(name)
    return None if held is None or held.value is None else held.source.stored()


def registered(folded: Folded) -> dict[str, Fields]:
    """The residents shown: registered, and not deregistered since."""
    persons = folded.subjects[PERSON]
    return {key: fields for key, fields in persons.items() if value(fields, "registered")}


def open_orders(fields: Fields) -> dict[str, tuple[dict[str, Any], list[Any]]]:
    """A person's quarantine orders not lifted, by quarantine_id, with their provenance."""
    return {
        name.split("/", 1)[1]: (held.value, held.source.stored())
        for name, held in sorted(fields.items())
        if name.startswith("quarantine/") and held.value is not None
    }


def resident_rows(folded: Folded) -> dict[str, Shown]:
    """Every shown resident_profile row."""
    rows: dict[str, Shown] = {}
    for key, fields in registered(folded).items():
        data = {name: value(fields, name) for name in PROFILE_FIELDS}
        sources = {name: provenance(fields, name) for name in PROFILE_FIELDS}
        rows[key] = (data, {name: p for name, p in sources.items() if p is not None})
    return rows
