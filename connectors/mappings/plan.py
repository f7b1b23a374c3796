"""A department's checked mapping as plain data: exports, events, fields and event ids.

``connectors.mappings.loader`` builds these from the YAML after checking it against the
catalog; ``connectors.mappings.compiler`` turns them into the closures that map rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.transforms import Apply

NOTHING: Any = object()  # "no constant / no default given", distinct from None


@dataclass(frozen=True)
class FieldPlan:
    """How one target field gets its value from a row."""

    target: str
    column: str | None = None
    steps: tuple[Apply, ...] = ()
    constant: Any = NOTHING
    record: tuple[FieldPlan, ...] | None = None
    when: tuple[str, frozenset[str]] | None = None
    otherwise: FieldPlan | None = None
    default: Any = NOTHING
    required: bool = False


@dataclass(frozen=True)
class EventIdPlan:
    """``{department}:{业务流水号}``-style template; ``{hash(a,b)}`` is a keyed hash of cells."""

    parts: tuple[tuple[str, tuple[str, ...]], ...]  # (literal | "column" | "hash" | ..., cols)


@dataclass(frozen=True)
class Screen:
    """A column whose every value is sniffed for ID and phone numbers before it is written
    into ``target``, a field of class ``field_class`` that takes neither
    (``connectors.mappings.class_fit``)."""

    column: str
    target: str
    field_class: str


@dataclass(frozen=True)
class EventPlan:
    """One event an export yields: its contract's key field and the fields to compute."""

    event: str
    key_field: str
    fields: tuple[FieldPlan, ...]
    defaults: tuple[tuple[str, Any], ...]  # Avro defaults of the fields the YAML leaves out
    screens: tuple[Screen, ...] = ()  # set once the columns' classes are checked


@dataclass(frozen=True)
class ExportPlan:
    """One kind of file a department produces, and how its rows become events."""

    name: str
    title: str
    file_pattern: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    event_id: EventIdPlan
    events: Mapping[str, EventPlan]
    event_column: str | None  # picks the event by word, or None for one fixed event
    event_words: Mapping[str, str]
    feeds_gazetteer: bool
    needs_gazetteer: bool


@dataclass(frozen=True)
class DepartmentSpec:
    """A department's checked mapping: its exports, in file order."""

    department: str
    path: str
    exports: tuple[ExportPlan, ...]

    @property
    def needs_gazetteer(self) -> bool:
        """Some export resolves addresses or feeds the gazetteer."""
        return any(e.needs_gazetteer for e in self.exports)
