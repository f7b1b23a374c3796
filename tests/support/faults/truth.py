"""The ground truth: the views the delivered events must produce, folded in memory.

Independent of the worker's order of application: per person_key and per field, the value
of the newest (event_time, event_id) write of the field's owning department wins, and a
deregistration writes "no value" to every field at its version. A write by a department that
does not own the field is a conflict, recorded once per (key, field, event).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import Event
from schemas.catalog import Catalog
from services.merge import rules
from services.merge.merge import Provenance, Update

# key -> (visible, data, provenance as stored: field -> [department, event_id, event_time_ms])
Rows = dict[str, tuple[bool, dict[str, Any], dict[str, Any]]]
ConflictKey = tuple[str, str, str]  # key, field, event_id


@dataclass(frozen=True)
class Truth:
    """What a view must hold after every delivered event was merged exactly once."""

    rows: Rows
    conflicts: frozenset[ConflictKey]


def updates_of(events: Iterable[Event], catalog: Catalog) -> list[Update]:
    """The view updates the events make, as the contracts and feed rules define them."""
    subjects = rules.subject_views(catalog.view_key_fields())
    updates: list[Update] = []
    for event in events:
        contract = catalog.event(event.department, event.event)
        updates += rules.updates_for(
            contract.full_name, event.department, contract.key_field, event.record, subjects
        )
    return updates


def fold(updates: Iterable[Update], view: str = "resident_profile") -> Truth:
    """The view rows and conflicts ``updates`` make, in whatever order they arrive.

    Rows are as stored: a shown row's record fields and the provenance of those with a
    value; a hidden row keeps neither.
    """
    spec = rules.VIEWS[view]
    shown = [n for n in spec.owners if "/" not in n and n not in spec.hidden]
    newest: dict[str, dict[str, tuple[Provenance, Any]]] = {}
    conflicts: set[ConflictKey] = set()
    for update in updates:
        if update.view != view:
            continue
        fields = newest.setdefault(update.key, {})
        for name, value in _writes(update, spec.owners, conflicts).items():
            held = fields.get(name)
            if held is None or update.source.version > held[0].version:
                fields[name] = (update.source, value)
    rows: Rows = {}
    for key, fields in newest.items():
        if not fields.get("registered", (None, None))[1]:
            rows[key] = (False, {}, {})
            continue
        data = {name: fields[name][1] if name in fields else None for name in shown}
        provenance = {
            name: [p.department, p.event_id, p.event_time_ms]
            for name, (p, value) in fields.items()
            if name in shown and value is not None
        }
        rows[key] = (True, data, provenance)
    return Truth(rows, frozenset(conflicts))


def _writes(
    update: Update, owners: Mapping[str, str], conflicts: set[ConflictKey]
) -> dict[str, Any]:
    if update.erase:
        return dict.fromkeys(n for n in owners if "/" not in n)
    owned = {}
    for name, value in update.values.items():
        if "/" in name:
            continue  # merge state of a family (freshness, orders): never part of the record
        if owners[name] == update.source.department:
            owned[name] = value
        else:
            conflicts.add((update.key, name, update.source.event_id))
    return owned


def truth_of(events: Iterable[Event], catalog: Catalog | None = None) -> Truth:
    """The truth of a list of connector events."""
    return fold(updates_of(events, catalog or Catalog.load()))
