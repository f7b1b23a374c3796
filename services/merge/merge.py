"""Per-field last-writer-wins with one owning department per field. Pure: no clock, no I/O.

An owner's value applies only when its version (event_time, then event_id) is newer
than the field's, so the result does not depend on arrival order and a repeated event
changes nothing. A value from a department that does not own the field is kept as a
conflict and never applied. An erasure writes "no value" to every field at its version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Version = tuple[int, str]


@dataclass(frozen=True)
class Provenance:
    """Who wrote a field's current value."""

    department: str
    event_id: str
    event_time_ms: int

    @property
    def version(self) -> Version:
        """The order of writes: event time, then event id."""
        return (self.event_time_ms, self.event_id)


@dataclass(frozen=True)
class Update:
    """What one source event says about one view row."""

    view: str
    key: str
    source: Provenance
    values: Mapping[str, Any] = field(default_factory=dict)
    erase: bool = False


@dataclass(frozen=True)
class Row:
    """A view row's merge state: values and the provenance of each."""

    key: str
    values: Mapping[str, Any]
    provenance: Mapping[str, Provenance]


@dataclass(frozen=True)
class Conflict:
    """A department tried to write a field it does not own."""

    view: str
    key: str
    field: str
    owner: str
    source: Provenance


@dataclass(frozen=True)
class Result:
    """The row after an update, and what the update did."""

    row: Row
    changed: bool
    conflicts: tuple[Conflict, ...] = ()


def empty_row(key: str) -> Row:
    """A row nothing has written yet."""
    return Row(key, {}, {})


def apply(row: Row, update: Update, owners: Mapping[str, str]) -> Result:
    """Apply ``update`` to ``row`` under the ownership map ``owners`` (field -> department)."""
    values = dict(row.values)
    provenance = dict(row.provenance)
    conflicts: list[Conflict] = []
    version = update.source.version
    writes: Mapping[str, Any] = dict.fromkeys(owners) if update.erase else update.values
    for name, value in writes.items():
        owner = owners.get(name)
        if owner is None:
            raise KeyError(f"{update.view} has no field {name!r}")
        if not update.erase and owner != update.source.department:
            conflicts.append(Conflict(update.view, update.key, name, owner, update.source))
            continue
        current = provenance.get(name)
        if current is not None and current.version >= version:
            continue
        values[name] = value
        provenance[name] = update.source
    changed = values != row.values or provenance != row.provenance
    return Result(Row(row.key, values, provenance), changed, tuple(conflicts))
