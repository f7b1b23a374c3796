"""Per-field last-writer-wins with one owning department per field. Pure: no clock, no I/O.

An owner's value applies only when its version (event_time, then event_id) is newer
than the field's, so the result does not depend on arrival order and a repeated event
changes nothing. A value from a department that does not own the field is kept as a
conflict and never applied. An erasure writes "no value" to every owned field at its
version.

Fields are either named in the view's ownership map or are entries of a family, written
``family/<id>`` and owned as ``family/*`` (one quarantine order, one delivery). A family
may merge by a combining function instead of by version (a lattice: a meter's highest
reading, a department's newest event time); combining is commutative and idempotent, so
it is order-independent too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

Version = tuple[int, str]
Combine = Callable[[Any, Any], Any]
ANY_DEPARTMENT = "*"


class Provenance(NamedTuple):
    """Who wrote a field's current value (a tuple: every row holds one per field)."""

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
class RowState:
    """A view row's merge state: values and the provenance of each."""

    key: str
    values: Mapping[str, Any]
    provenance: Mapping[str, Provenance]

    @cached_property
    def families(self) -> dict[str, dict[str, Any]]:
        """Live entries of every ``family/<id>`` field, by family then id (cleared ones left
        out); computed once per row, since rendering and the alert rules ask many times."""
        found: dict[str, dict[str, Any]] = {}
        for name, value in self.values.items():
            if value is not None and "/" in name:
                family, entry = name.split("/", 1)
                found.setdefault(family, {})[entry] = value
        return found


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

    row: RowState
    changed: bool
    conflicts: tuple[Conflict, ...] = ()


@dataclass(frozen=True)
class Ownership:
    """Who owns each field of a view, and which field families combine instead."""

    owners: Mapping[str, str]
    combiners: Mapping[str, Combine] = field(default_factory=dict)
    kept: frozenset[str] = frozenset()  # named fields an erasure leaves as they are
    # field -> a kept field that follows its newest value (never its erasure)
    mirrors: Mapping[str, str] = field(default_factory=dict)
    # A kept field an erasure writes at its version: an entry of a family the row never
    # held is no newer than the erasure when its version is not above this one's.
    erased: str | None = None

    def owner(self, name: str) -> str | None:
        """The department owning ``name`` (a field or a ``family/<id>`` entry)."""
        found = self.owners.get(name)
        if found is None and "/" in name:
            found = self.owners.get(name.split("/", 1)[0] + "/*")
        return found

    def combiner(self, name: str) -> Combine | None:
        """The combining function of a lattice family, None for a versioned field."""
        return self.combiners.get(name.split("/", 1)[0] + "/*") if "/" in name else None

    def erasable(self, row: RowState) -> list[str]:
        """The fields an erasure clears: every versioned field, named or present."""
        names = [n for n in self.owners if not n.endswith("/*") and n not in self.kept]
        names += [n for n in row.values if "/" in n and self.owner(n) and not self.combiner(n)]
        return names


def empty_row(key: str) -> RowState:
    """A row nothing has written yet."""
    return RowState(key, {}, {})


def apply(row: RowState, update: Update, ownership: Ownership | Mapping[str, str]) -> Result:
    """Apply ``update`` to ``row`` under ``ownership`` (or a plain field -> department map)."""
    rules = ownership if isinstance(ownership, Ownership) else Ownership(ownership)
    values = dict(row.values)
    provenance = dict(row.provenance)
    conflicts: list[Conflict] = []
    changed = False
    source = update.source
    version = source.version
    writes: Mapping[str, Any] = (
        dict.fromkeys(rules.erasable(row)) if update.erase else update.values
    )
    for name, value in writes.items():
        owner = rules.owner(name)
        if owner is None:
            raise KeyError(f"{update.view} has no field {name!r}")
        if not update.erase and owner not in (source.department, ANY_DEPARTMENT):
            conflicts.append(Conflict(update.view, update.key, name, owner, source))
            continue
        combine = rules.combiner(name)
        if combine is not None:
            changed |= _combine(
                values,
                provenance,
                name,
                combine(values[name], value) if name in values else value,
                source,
            )
            continue
        mirror = rules.mirrors.get(name)
        if mirror is not None and value is not None and not update.erase:
            # Follows the newest value written, even one an erasure has since overtaken.
            changed |= _newer(values, provenance, mirror, value, source)
        current = provenance.get(name)
        if current is None and rules.erased is not None:
            current = provenance.get(rules.erased)  # erased before it was ever written
        if current is not None and current.version >= version:
            continue
        if name not in values or values[name] != value or current != source:
            changed = True
        values[name] = value
        provenance[name] = source
    if update.erase and rules.erased is not None:
        changed |= _newer(values, provenance, rules.erased, True, source)
    return Result(RowState(row.key, values, provenance), changed, tuple(conflicts))


def _combine(
    values: dict[str, Any],
    provenance: dict[str, Provenance],
    name: str,
    merged: Any,
    source: Provenance,
) -> bool:
    """Set a lattice field to its combined value; True when the field or its provenance moved."""
    changed = False
    if name not in values or merged != values[name]:
        values[name] = merged
        changed = True
    current = provenance.get(name)
    if current is None or current.version < source.version:
        provenance[name] = source
        changed = True
    return changed


def _newer(
    values: dict[str, Any],
    provenance: dict[str, Provenance],
    name: str,
    value: Any,
    source: Provenance,
) -> bool:
    """Write ``name`` if ``source`` is newer than what wrote it last; True when it did."""
    held = provenance.get(name)
    if held is not None and held.version >= source.version:
        return False
    values[name] = value
    provenance[name] = source
    return True
