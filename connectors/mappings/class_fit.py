"""Which columns a mapping may write into which fields, by the fields' data classes.

Every contract field declares a data class (``schemas.data_classes``). A column whose header
says it holds an ID number, a name or a phone number (``connectors.personal_signs``) may be
written only into a field whose class takes it, through the transform that makes it safe
(``person_key``, ``mask_name``, ...), or into an enum or flag; anything else refuses the
mapping when it loads, naming the column and the field. Columns copied into a field without
such a transform are screened: their values are sniffed on a sample (``sample_refusals``,
for ``datong mapping check``) and, for ID and phone numbers, on every row at run time
(``EventPlan.screens``, ``connectors.mappings.screening``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from itertools import islice

from connectors.mappings.mapper import MappingError
from connectors.mappings.plan import DepartmentSpec, EventPlan, ExportPlan, FieldPlan, Screen
from connectors.personal_signs import header_class, sample_class
from connectors.transforms import TRANSFORMS, canonical, cell_text
from schemas.catalog import Catalog
from schemas.data_classes import IDENTIFIER, NAME, PHONE, accepts, field_class, record_fields

# The transforms that turn a personal value into one that may leave (built once: their
# ``apply`` is the same function in every plan).
_SAFE_MAKERS = {
    name: TRANSFORMS[name](None).apply
    for name in ("person_key", "birth_date_of_id", "gender_of_id", "mask_name", "mask_phone")
}
# Fields whose values cannot carry a cell as it was: an enum's symbol, a parsed time.
_UNSCREENED = frozenset({"category", "time"})
_WHAT = {IDENTIFIER: "an ID number", NAME: "a name", PHONE: "a phone number"}
_WAY_OUT = {
    IDENTIFIER: "an ID number leaves only as person_key (or what it says: birth date, gender)",
    NAME: "a name leaves only masked (mask_name, into a masked_name field)",
    PHONE: "a phone number leaves only masked (mask_phone, into a masked_phone field)",
}
SAMPLE_ROWS = 500  # of a sample export, sniffed per column


def fit_classes(spec: DepartmentSpec, catalog: Catalog) -> DepartmentSpec:
    """``spec`` with each event's screens; MappingError names the file, the entry, the column
    and the field when a personal column is written where it may not go."""
    return replace(spec, exports=tuple(_fit_export(spec, e, catalog) for e in spec.exports))


def sample_refusals(
    export: ExportPlan, header: Sequence[str], rows: Iterable[Mapping[str, str | None]]
) -> list[str]:
    """What a sample's values show (ID or phone numbers, names) in columns written as they
    are into fields that do not take them, one sentence per column and field."""
    keys = {canonical(column): column for column in header}
    screens = {s for event in export.events.values() for s in event.screens}
    values: dict[str, list[str]] = {s.column: [] for s in screens if s.column in keys}
    for row in islice(rows, SAMPLE_ROWS):
        for column, seen in values.items():
            text = cell_text(row.get(keys[column]))
            if text is not None:
                seen.append(text)
    found = {column: sample_class(seen) for column, seen in values.items()}
    return [
        f"column {s.column} holds {_WHAT[kind]} by its sample values, and {s.target} is a "
        f"{s.field_class} field: {_WAY_OUT[kind]}"
        for s in sorted(screens, key=lambda s: (s.column, s.target))
        if (kind := found.get(s.column)) is not None
    ]


def _fit_export(spec: DepartmentSpec, export: ExportPlan, catalog: Catalog) -> ExportPlan:
    ids = [c for kind, cols in export.event_id.parts if kind == "column" for c in cols]
    events: dict[str, EventPlan] = {}
    for name, event in export.events.items():
        schema = catalog.event(spec.department, name).schema
        classes = {path: field_class(f) or "code" for path, f in record_fields(schema)}
        uses: list[tuple[str, str, str, FieldPlan | None]] = [
            (column, "event_id", "code", None) for column in ids
        ]
        for field_plan in event.fields:
            uses.extend(_uses(field_plan, "", classes))
        screens: dict[tuple[str, str], Screen] = {}
        for column, target, klass, plan in uses:
            where = f"{spec.path}: exports.{export.name}.{name}.{target}"
            _check_header(where, column, target, klass, plan)
            if klass not in _UNSCREENED and not _made_safe(plan):
                screens.setdefault((column, target), Screen(column, target, klass))
        events[name] = replace(event, screens=tuple(screens.values()))
    return replace(export, events=events)


def _uses(
    plan: FieldPlan, prefix: str, classes: Mapping[str, str]
) -> Iterator[tuple[str, str, str, FieldPlan | None]]:
    """(column, field path, field class, plan) of every column a field is written from."""
    target = f"{prefix}{plan.target}"
    if plan.column is not None:
        yield plan.column, target, classes.get(target, "code"), plan
    for part in plan.record or ():
        yield from _uses(part, f"{target}.", classes)
    if plan.otherwise is not None:
        yield from _uses(plan.otherwise, prefix, classes)


def _made_safe(plan: FieldPlan | None) -> bool:
    return plan is not None and any(step in _SAFE_MAKERS.values() for step in plan.steps)


def _check_header(where: str, column: str, target: str, klass: str, plan: FieldPlan | None) -> None:
    kind = header_class(column)
    if kind is None or (accepts(klass, kind) and (klass == "category" or _made_safe(plan))):
        return
    raise MappingError(
        f"{where}: column {column} holds {_WHAT[kind]} by its header, and {target} is a "
        f"{klass} field: {_WAY_OUT[kind]}; write another column to {target}"
    )
