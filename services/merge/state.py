"""A row's merge state as stored beside its record: only what the record does not hold.

Most of a shown resident's or household's merge state is the record itself: the named
fields a department writes appear in the record as they are, with the same provenance.
Storing them twice would double what every batch writes, so ``state_json`` leaves out
every such field whose record value and provenance equal the state's, and ``row_of``
puts them back. What stays in ``state``: hidden fields, entries of families, fields whose
record value differs (a household's community taken from its residents), and the versions
of fields without a value (an erased row keeps those, so that a late older event cannot
bring it back).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.merge.merge import Provenance, RowState
from services.merge.records import HOUSING_FIELDS, RESIDENT_FIELDS
from services.merge.rules import HOUSEHOLD, RESIDENT_PROFILE

# Fields a record shows exactly as the merge state holds them, by view.
_VERBATIM: dict[str, frozenset[str]] = {
    RESIDENT_PROFILE.name: frozenset(RESIDENT_FIELDS),
    HOUSEHOLD.name: frozenset(HOUSING_FIELDS),
}
_NONE: frozenset[str] = frozenset()


def state_json(
    view: str,
    row: RowState,
    record: Mapping[str, Any] | None,
    provenance: Mapping[str, list[Any]],
) -> dict[str, Any]:
    """The ``state`` column of a row stored with ``record`` and its ``provenance``."""
    verbatim = _VERBATIM.get(view, _NONE) if record else _NONE
    shown: Mapping[str, Any] = record or {}
    values: dict[str, Any] = {}
    for name, value in row.values.items():
        if (
            name not in verbatim
            or name not in row.provenance
            or name not in shown
            or shown[name] != value
        ):
            values[name] = value
    sources: dict[str, list[Any]] = {}
    for name, p in row.provenance.items():
        source = [p.department, p.event_id, p.event_time_ms]
        if name not in verbatim or provenance.get(name) != source or name in values:
            sources[name] = source
    return {"values": values, "provenance": sources}


def row_of(
    view: str,
    key: str,
    state: Mapping[str, Any],
    record: Mapping[str, Any] | None,
    provenance: Mapping[str, list[Any]],
) -> RowState:
    """The merge state of a stored row: its ``state`` with the record's fields put back."""
    kept_values: Mapping[str, Any] = state.get("values", {})
    kept_sources: Mapping[str, list[Any]] = state.get("provenance", {})
    values: dict[str, Any] = {}
    sources: dict[str, Provenance] = {}
    if record:
        for name in _VERBATIM.get(view, _NONE):
            source = provenance.get(name) or kept_sources.get(name)
            if source is not None and name in record and name not in kept_values:
                values[name] = record[name]
                sources[name] = Provenance(source[0], source[1], int(source[2]))
    values.update(kept_values)
    for name, (department, event_id, millis) in kept_sources.items():
        sources[name] = Provenance(department, event_id, int(millis))
    return RowState(key, values, sources)
