"""Declarative department mappings: rows of a department's exports -> pseudonymized events.

A department's mapping is data: ``connectors/mappings/<department_dir>.yaml`` declares the
files (exports) the department produces, and for each the columns that recognise it, the
event it yields (fixed, or picked by a column such as 业务类型), the event_id template and,
per Avro field, the source column and transforms. ``connectors.mapping_spec`` loads the
YAML and checks it against the catalog; this module runs the checked plans.

Which export a record belongs to is decided from its columns (the header), once per
distinct header: the export whose required columns are all present (the most specific if
several are); failing that, the closest one, which then names its first missing column;
a header that shares no required column with any export is RecordError ``(header)``.
``DepartmentMapper.export_for(header)`` makes the same decision up front for a whole file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import Event
from connectors.errors import ConnectorError, RecordError
from connectors.gazetteer import Gazetteer
from connectors.transforms import Apply, Row, canonical, keyed_hash, word

NOTHING: Any = object()  # "no constant / no default given", distinct from None
# Headers seen per mapper: a file has one, JSON lines a few; bounded against odd sources.
_MAX_HEADERS = 64


class MappingError(ConnectorError):
    """A mapping YAML contradicts the catalog or itself; the message names file and entry."""


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

    def evaluate(self, row: Row) -> Any:
        """The field's value for ``row``; RecordError names the column that failed."""
        if self.record is not None:
            return {part.target: part.evaluate(row) for part in self.record}
        if self.constant is not NOTHING:
            return self.constant
        if self.when is not None:
            condition = row.text(self.when[0])
            if condition is None or word(condition) not in self.when[1]:
                return None if self.default is NOTHING else self.default
        assert self.column is not None  # the loader gives every other plan a column
        value: Any = row.text(self.column)
        if value is None:
            return self._absent(row)
        for step in self.steps:
            value = step(value, self.column, row)
        return value

    def _absent(self, row: Row) -> Any:
        if self.otherwise is not None:
            return self.otherwise.evaluate(row)
        if self.default is not NOTHING:
            return list(self.default) if isinstance(self.default, list) else self.default
        if self.required:
            raise row.missing(self.column or self.target)
        return None


@dataclass(frozen=True)
class EventIdPlan:
    """``{department}:{业务流水号}``-style template; ``{hash(a,b)}`` is a keyed hash of cells."""

    parts: tuple[tuple[str, tuple[str, ...]], ...]  # (literal | "column" | "hash" | ..., cols)

    def render(self, row: Row, department: str, event: str) -> str:
        """The event_id of ``row``; a template column without a value is missing_field."""
        out: list[str] = []
        for kind, columns in self.parts:
            if kind == "literal":
                out.append(columns[0])
            elif kind == "department":
                out.append(department)
            elif kind == "event":
                out.append(event)
            else:
                cells = [_required_text(row, column) for column in columns]
                out.append(cells[0] if kind == "column" else keyed_hash(cells, row.hmac_key))
        return "".join(out)


def _required_text(row: Row, column: str) -> str:
    value = row.text(column)
    if value is None:
        raise row.missing(column)
    return value


@dataclass(frozen=True)
class EventPlan:
    """One event an export yields: its contract's key field and the fields to compute."""

    event: str
    key_field: str
    fields: tuple[FieldPlan, ...]
    defaults: tuple[tuple[str, Any], ...]  # Avro defaults of the fields the YAML leaves out


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

    def pick(self, row: Row) -> EventPlan:
        """The event this row is: fixed, or named by the word in ``event_column``."""
        if self.event_column is None:
            return next(iter(self.events.values()))
        text = _required_text(row, self.event_column)
        event = self.event_words.get(word(text))
        if event is None:
            listed = ", ".join(self.event_words)
            raise RecordError(self.event_column, f"is not one of {listed}", "bad_enum")
        return self.events[event]


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


class ExportMapper:
    """Maps rows of one export; a RecordMapper for files known to be of this export."""

    def __init__(
        self, department: str, plan: ExportPlan, hmac_key: bytes, gazetteer: Gazetteer | None
    ) -> None:
        self.department = department
        self.plan = plan
        self._hmac_key = hmac_key
        self._gazetteer = gazetteer
        self._columns: dict[tuple[str, ...], dict[str, str]] = {}

    def __call__(self, fields: Mapping[str, str | None]) -> Event:
        """Map one row; RecordError names the first bad column."""
        header = tuple(fields)
        columns = self._columns.get(header)
        if columns is None:
            if len(self._columns) >= _MAX_HEADERS:
                self._columns.clear()
            columns = self._columns[header] = {canonical(k): k for k in header}
        return self.map(fields, columns)

    def map(self, fields: Mapping[str, str | None], columns: Mapping[str, str]) -> Event:
        """Map a row whose canonical column names are already known."""
        row = Row(fields, columns, self._hmac_key, self._gazetteer)
        for column in self.plan.required:
            _required_text(row, column)
        plan = self.plan.pick(row)
        record: dict[str, Any] = {
            "event_id": self.plan.event_id.render(row, self.department, plan.event),
            "department": self.department,
        }
        for field in plan.fields:
            record[field.target] = field.evaluate(row)
        for name, default in plan.defaults:
            record[name] = list(default) if isinstance(default, list) else default
        if self.plan.feeds_gazetteer and self._gazetteer is not None:
            self._gazetteer.add(record)
        return Event(self.department, plan.event, str(record[plan.key_field]), record)


class DepartmentMapper:
    """A department's RecordMapper: picks the export from each row's header, then maps it."""

    def __init__(
        self, spec: DepartmentSpec, hmac_key: bytes, gazetteer: Gazetteer | None = None
    ) -> None:
        if spec.needs_gazetteer and gazetteer is None:
            raise MappingError(
                f"{spec.path}: resolves addresses or feeds the gazetteer, so it needs one"
            )
        self.department = spec.department
        self.spec = spec
        self.exports = {
            plan.name: ExportMapper(spec.department, plan, hmac_key, gazetteer)
            for plan in spec.exports
        }
        self._chosen: dict[tuple[str, ...], tuple[ExportMapper, dict[str, str]]] = {}

    def __call__(self, fields: Mapping[str, str | None]) -> Event:
        """Map one row of any of the department's exports."""
        header = tuple(fields)
        chosen = self._chosen.get(header)
        if chosen is None:
            if len(self._chosen) >= _MAX_HEADERS:
                self._chosen.clear()
            columns = {canonical(k): k for k in header}
            chosen = self._chosen[header] = (self._choose(set(columns)), columns)
        return chosen[0].map(fields, chosen[1])

    def export_for(self, header: Iterable[str]) -> ExportMapper:
        """The export a file with this header is; RecordError ``(header)`` when none fits.

        A header that lacks some required column still gets its closest export, whose
        mapping then names the missing column on every row.
        """
        return self._choose({canonical(column) for column in header})

    def _choose(self, header: set[str]) -> ExportMapper:
        plans = self.spec.exports
        complete = [p for p in plans if header.issuperset(p.required)]
        if complete:
            widest = max(len(p.required) for p in complete)
            best = [p for p in complete if len(p.required) == widest]
        else:
            overlap = {p.name: len(header.intersection(p.required)) for p in plans}
            most = max(overlap.values())
            best = [p for p in plans if overlap[p.name] == most and (most or len(plans) == 1)]
        if len(best) == 1:
            return self.exports[best[0].name]
        titles = ", ".join(p.title for p in (best or plans))
        if best:
            raise RecordError("(header)", f"fits several exports: {titles}", "ambiguous_export")
        raise RecordError(
            "(header)", f"is not a known {self.department} export ({titles})", "unknown_export"
        )
