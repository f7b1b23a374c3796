"""An export's checked plan compiled, for one file header, into closures that map a row.

A plan (``connectors.mappings.plan``) says what each field is. Interpreting it for every row
asked the same questions again each time (which branch of the field spec, which key the
column has under this header, which event id parts are literal) and was the connector's
largest cost after kafka-python itself. Compiling answers them once per header: each field
becomes a closure over its column's key and its transforms, each event id template a
concatenation. What it must equal, row for row and error for error, is the plain reading
of the plan in ``tests/support/mapping_reference.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import Event
from connectors.errors import RecordError
from connectors.gazetteer import Gazetteer
from connectors.mappings.plan import NOTHING, EventIdPlan, EventPlan, ExportPlan, FieldPlan
from connectors.mappings.screening import RowScreen, row_screen
from connectors.transforms import PLACEHOLDERS, Row, cell_text, keyed_hash, word

Fields = Mapping[str, str | None]
Compute = Callable[[Row], Any]
MapRow = Callable[[Fields], Event]


def compile_export(
    department: str,
    plan: ExportPlan,
    columns: Mapping[str, str],
    hmac_key: bytes,
    gazetteer: Gazetteer | None,
) -> MapRow:
    """The function mapping rows whose canonical columns are ``columns`` (canonical -> key)."""
    check = _all_present(plan.required, columns)
    pick = _picker(department, plan, columns)
    feed = gazetteer.add if plan.feeds_gazetteer and gazetteer is not None else None

    def map_row(fields: Fields) -> Event:
        row = Row(fields, columns, hmac_key, gazetteer)
        check(row)
        event = pick(row)
        if event.screen is not None:  # no ID or phone number into a field not taking one
            event.screen(fields)
        record: dict[str, Any] = {"event_id": event.event_id(row), "department": department}
        for target, compute in event.fields:
            record[target] = compute(row)
        if event.defaults:
            for name, default in event.defaults:
                record[name] = list(default) if isinstance(default, list) else default
        if feed is not None:
            feed(record)
        return Event(department, event.name, str(record[event.key_field]), record)

    return map_row


@dataclass(frozen=True)
class _Event:
    """One event of the export, compiled."""

    name: str
    key_field: str
    event_id: Compute
    fields: tuple[tuple[str, Compute], ...]
    defaults: tuple[tuple[str, Any], ...]
    screen: RowScreen | None


def _picker(department: str, plan: ExportPlan, columns: Mapping[str, str]) -> Compute:
    """The event a row is: fixed, or named by the word in the export's event column."""
    events = {
        name: _event(department, plan.event_id, event, columns)
        for name, event in plan.events.items()
    }
    if plan.event_column is None:
        fixed = next(iter(events.values()))
        return lambda _row: fixed
    column = plan.event_column
    text = _required(column, columns)
    by_word = {spoken: events[name] for spoken, name in plan.event_words.items()}
    listed = ", ".join(plan.event_words)

    def pick(row: Row) -> _Event:
        event = by_word.get(word(text(row)))
        if event is None:
            raise RecordError(column, f"is not one of {listed}", "bad_enum")
        return event

    return pick


def _event(
    department: str, template: EventIdPlan, plan: EventPlan, columns: Mapping[str, str]
) -> _Event:
    return _Event(
        plan.event,
        plan.key_field,
        _event_id(template, department, plan.event, columns),
        tuple((field.target, compile_field(field, columns)) for field in plan.fields),
        plan.defaults,
        row_screen(plan.screens, columns),
    )


def _event_id(
    template: EventIdPlan, department: str, event: str, columns: Mapping[str, str]
) -> Compute:
    """``{department}:{业务流水号}`` as a prefix and a cell; other templates part by part."""
    pieces: list[str | Compute] = []
    for kind, names in template.parts:
        if kind in ("literal", "department", "event"):
            piece = names[0] if kind == "literal" else department if kind == "department" else event
            if pieces and isinstance(pieces[-1], str):
                pieces[-1] += piece  # adjacent constants: one string
            else:
                pieces.append(piece)
        elif kind == "column":
            pieces.append(_required(names[0], columns))
        else:
            pieces.append(_hashed(tuple(_required(name, columns) for name in names)))
    if len(pieces) == 2 and isinstance(pieces[0], str) and not isinstance(pieces[1], str):
        prefix, cell = pieces[0], pieces[1]
        return lambda row: prefix + cell(row)
    parts = tuple(pieces)
    return lambda row: "".join(p if isinstance(p, str) else p(row) for p in parts)


def _hashed(cells: tuple[Compute, ...]) -> Compute:
    return lambda row: keyed_hash([cell(row) for cell in cells], row.hmac_key)


def compile_field(plan: FieldPlan, columns: Mapping[str, str]) -> Compute:
    """The closure computing one field of a row; RecordError names the column that failed."""
    if plan.record is not None:
        parts = tuple((part.target, compile_field(part, columns)) for part in plan.record)
        return lambda row: {target: compute(row) for target, compute in parts}
    if plan.constant is not NOTHING:
        constant = plan.constant
        return lambda _row: constant
    assert plan.column is not None  # the loader gives every other plan a column
    compute = _from_column(plan, plan.column, columns.get(plan.column), _absent(plan, columns))
    if plan.when is None:
        return compute
    condition, words = columns.get(plan.when[0]), plan.when[1]
    skipped = None if plan.default is NOTHING else plan.default

    def when(row: Row) -> Any:
        text = None if condition is None else cell_text(row.fields.get(condition))
        if text is None or word(text) not in words:
            return skipped
        return compute(row)

    return when


def _from_column(plan: FieldPlan, column: str, key: str | None, absent: Compute) -> Compute:
    if key is None:  # the header lacks the column: every row takes the fallback
        return absent
    steps = plan.steps
    # Each closure reads its cell as ``cell_text`` does, written out: a call less per
    # field of every row. tests/unit/test_mapping_compile.py holds them to the reference.
    if not steps:  # a copy: the trimmed cell, or the fallback when it has no value

        def copy(row: Row) -> Any:
            value = row.fields.get(key)
            if value is not None:
                value = value.strip()
                if value and value not in PLACEHOLDERS:
                    return value
            return absent(row)

        return copy
    if len(steps) == 1:
        step = steps[0]

        def one(row: Row) -> Any:
            value = row.fields.get(key)
            if value is not None:
                value = value.strip()
                if value and value not in PLACEHOLDERS:
                    return step(value, column, row)
            return absent(row)

        return one

    def chain(row: Row) -> Any:
        value: Any = cell_text(row.fields.get(key))
        if value is None:
            return absent(row)
        for step in steps:
            value = step(value, column, row)
        return value

    return chain


def _absent(plan: FieldPlan, columns: Mapping[str, str]) -> Compute:
    """What a field is when its cell has no value: fallback, default, error or None."""
    if plan.otherwise is not None:
        return compile_field(plan.otherwise, columns)
    default = plan.default
    if default is not NOTHING:
        if isinstance(default, list):
            return lambda _row: list(default)
        return lambda _row: default
    if plan.required:
        return _missing(plan.column or plan.target)
    return lambda _row: None


def _missing(column: str) -> Compute:
    def fail(row: Row) -> Any:
        raise row.missing(column)

    return fail


def _all_present(required: tuple[str, ...], columns: Mapping[str, str]) -> Callable[[Row], None]:
    """The check that every required column has a value, in the plan's order: the first
    without one raises its error (what a check per column would, in one call per row)."""
    keys = tuple((column, columns.get(column)) for column in required)

    def check(row: Row) -> None:
        fields = row.fields
        for column, key in keys:
            value = None if key is None else fields.get(key)
            if value is None:
                raise row.missing(column)
            value = value.strip()
            if not value or value in PLACEHOLDERS:
                raise row.missing(column)

    return check


def _required(column: str, columns: Mapping[str, str]) -> Callable[[Row], str]:
    """A column's text, or the error saying why it has none (a required column)."""
    key = columns.get(column)

    def text(row: Row) -> str:
        value = None if key is None else cell_text(row.fields.get(key))
        if value is None:
            raise row.missing(column)
        return value

    return text
