"""The plain reading of a mapping plan, one row at a time: the oracle for the compiled mapper.

``connectors.mappings.mapper`` interpreted its plans this way until they were compiled into
closures (``connectors.mappings.compiler``); this copy stays the obvious statement of the
rules, and the compiled mapper is held to it event for event and error for error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import Event
from connectors.errors import RecordError
from connectors.gazetteer import Gazetteer
from connectors.mappings.plan import NOTHING, EventIdPlan, EventPlan, ExportPlan, FieldPlan
from connectors.mappings.screening import PERSONAL_DATA, refusal, sniffer
from connectors.transforms import Row, canonical, keyed_hash, word


def map_row(
    department: str,
    plan: ExportPlan,
    fields: Mapping[str, str | None],
    hmac_key: bytes,
    gazetteer: Gazetteer | None = None,
) -> Event:
    """Map one row of ``plan``'s export; RecordError names the first bad column."""
    row = Row(fields, {canonical(k): k for k in fields}, hmac_key, gazetteer)
    for column in plan.required:
        required_text(row, column)
    event = pick(plan, row)
    for screen in event.screens:  # no ID or phone number into a field that takes none
        text = row.text(screen.column)
        found = None if text is None else sniffer(screen)(text)
        if found is not None:
            raise RecordError(screen.column, refusal(found, screen), PERSONAL_DATA)
    record: dict[str, Any] = {
        "event_id": render(plan.event_id, row, department, event.event),
        "department": department,
    }
    for field in event.fields:
        record[field.target] = evaluate(field, row)
    for name, default in event.defaults:
        record[name] = list(default) if isinstance(default, list) else default
    if plan.feeds_gazetteer and gazetteer is not None:
        gazetteer.add(record)
    return Event(department, event.event, str(record[event.key_field]), record)


def evaluate(plan: FieldPlan, row: Row) -> Any:
    """The field's value for ``row``."""
    if plan.record is not None:
        return {part.target: evaluate(part, row) for part in plan.record}
    if plan.constant is not NOTHING:
        return plan.constant
    if plan.when is not None:
        condition = row.text(plan.when[0])
        if condition is None or word(condition) not in plan.when[1]:
            return None if plan.default is NOTHING else plan.default
    assert plan.column is not None
    value: Any = row.text(plan.column)
    if value is None:
        return absent(plan, row)
    for step in plan.steps:
        value = step(value, plan.column, row)
    return value


def absent(plan: FieldPlan, row: Row) -> Any:
    """The field's value when its cell is empty."""
    if plan.otherwise is not None:
        return evaluate(plan.otherwise, row)
    if plan.default is not NOTHING:
        return list(plan.default) if isinstance(plan.default, list) else plan.default
    if plan.required:
        raise row.missing(plan.column or plan.target)
    return None


def render(plan: EventIdPlan, row: Row, department: str, event: str) -> str:
    """The event_id of ``row``."""
    out: list[str] = []
    for kind, columns in plan.parts:
        if kind == "literal":
            out.append(columns[0])
        elif kind == "department":
            out.append(department)
        elif kind == "event":
            out.append(event)
        else:
            cells = [required_text(row, column) for column in columns]
            out.append(cells[0] if kind == "column" else keyed_hash(cells, row.hmac_key))
    return "".join(out)


def pick(plan: ExportPlan, row: Row) -> EventPlan:
    """The event this row is."""
    if plan.event_column is None:
        return next(iter(plan.events.values()))
    text = required_text(row, plan.event_column)
    event = plan.event_words.get(word(text))
    if event is None:
        listed = ", ".join(plan.event_words)
        raise RecordError(plan.event_column, f"is not one of {listed}", "bad_enum")
    return plan.events[event]


def required_text(row: Row, column: str) -> str:
    """A required column's text."""
    value = row.text(column)
    if value is None:
        raise row.missing(column)
    return value
