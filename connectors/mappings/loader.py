"""Loads a department's mapping YAML and checks it against the catalog before anything runs.

Checked at load, each failure a MappingError naming the file and the entry: every event
is a contract of the department; every target field exists in its Avro schema and every
field without a default is produced; transforms are known, their arguments valid, their
output fits the field's type (enum words map to symbols of the enum); every column that a
field, a transform or the event_id reads is declared; a column holding personal data (read
by person_key, mask_name, mask_phone, ...) is never copied as it is, nor shown in an
event_id except through ``hash(...)``. Each event's field specs are checked against its
Avro schema by ``field_specs.py``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from connectors.mappings.class_fit import fit_classes
from connectors.mappings.field_specs import EventFields, ExportColumns
from connectors.mappings.mapper import MappingError
from connectors.mappings.plan import DepartmentSpec, EventIdPlan, EventPlan, ExportPlan
from connectors.transforms import canonical, word
from schemas.catalog import Catalog, department_name
from schemas.errors import CatalogError

MAPPINGS_DIR = Path(__file__).parent
ENGINE_FIELDS = ("event_id", "department")  # the engine sets them: template, constant
_EXPORT_KEYS = {"title", "file_pattern", "required_columns", "optional_columns", "event"}
_EXPORT_KEYS |= {"event_by", "event_id", "fields", "events", "gazetteer"}
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


@cache
def department_spec(directory: str) -> DepartmentSpec:
    """The checked mapping of a department directory, loaded once per process."""
    return load_department(directory, Catalog.load())


def load_department(directory: str, catalog: Catalog, root: Path = MAPPINGS_DIR) -> DepartmentSpec:
    """Load and check ``<root>/<directory>.yaml``; MappingError names the file and entry."""
    path = root / f"{directory}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{path.name}: not a readable YAML file: {exc}") from exc
    spec = _Loader(path.name, catalog, department_name(directory)).department(data)
    return fit_classes(spec, catalog)  # personal columns only where their field takes them


def load_mapping_file(
    path: Path, catalog: Catalog, department: str | None = None
) -> DepartmentSpec:
    """Load and check a department's own mapping file, wherever it lives.

    The department is the file's ``department:`` entry; when ``department`` is given (the
    connector it is meant for) the file must name that one.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{path}: not a readable YAML file: {exc}") from exc
    declared = data.get("department") if isinstance(data, dict) else None
    if not isinstance(declared, str) or declared not in catalog.departments():
        known = ", ".join(sorted(catalog.departments()))
        raise MappingError(f"{path}: department: must name one of {known}, got {declared!r}")
    if department is not None and declared != department:
        raise MappingError(f"{path}: department: is {declared!r}, this connector is {department!r}")
    return fit_classes(_Loader(str(path), catalog, declared).department(data), catalog)


class _Loader:
    """Checks one file; ``fail`` builds the error that names the file and the entry."""

    def __init__(self, file: str, catalog: Catalog, department: str) -> None:
        self.file = file
        self.catalog = catalog
        self.department_name = department

    def fail(self, where: str, problem: str) -> MappingError:
        return MappingError(f"{self.file}: {where}: {problem}")

    def department(self, data: Any) -> DepartmentSpec:
        if not isinstance(data, dict) or not isinstance(data.get("exports"), dict):
            raise self.fail("(top)", "needs 'department' and a mapping 'exports'")
        if data.get("department") != self.department_name:
            raise self.fail("department", f"must be {self.department_name!r} (the file's name)")
        if not data["exports"]:
            raise self.fail("exports", "declares no export")
        exports = tuple(
            self.export(f"exports.{name}", str(name), spec)
            for name, spec in data["exports"].items()
        )
        signatures = [frozenset(e.required) for e in exports]
        if len(set(signatures)) != len(signatures):
            raise self.fail("exports", "two exports have the same required columns")
        return DepartmentSpec(self.department_name, self.file, exports)

    def export(self, where: str, name: str, spec: Any) -> ExportPlan:
        if not isinstance(spec, dict) or set(spec) - _EXPORT_KEYS:
            raise self.fail(where, f"must be a mapping with keys from {sorted(_EXPORT_KEYS)}")
        required = self.columns(f"{where}.required_columns", spec.get("required_columns"))
        optional = self.columns(f"{where}.optional_columns", spec.get("optional_columns") or [])
        scope = ExportColumns(self, set(required) | set(optional))
        event_column, words, bodies = self.events(where, spec, scope)
        events = {
            event: self.event_plan(
                f"{where}.events.{event}", event, spec.get("fields"), body, scope
            )
            for event, body in bodies.items()
        }
        leaked = scope.personal & scope.plain
        if leaked:
            raise self.fail(where, f"{sorted(leaked)} hold personal data and are copied as is")
        event_id = self.event_id(f"{where}.event_id", spec.get("event_id"), required, scope)
        if spec.get("gazetteer") not in (None, "feed"):
            raise self.fail(f"{where}.gazetteer", "the only value is 'feed'")
        feeds = spec.get("gazetteer") == "feed"
        if feeds and set(events) != {"dwelling-registered"}:
            raise self.fail(f"{where}.gazetteer", "only a dwelling-registered export feeds it")
        return ExportPlan(
            name=name,
            title=str(spec.get("title", name)),
            file_pattern=str(spec.get("file_pattern", "*.csv")),
            required=required,
            optional=optional,
            event_id=event_id,
            events=events,
            event_column=event_column,
            event_words=words,
            feeds_gazetteer=feeds,
            needs_gazetteer=feeds or scope.gazetteer,
        )

    def columns(self, where: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise self.fail(where, "must be a list of column names")
        if not value and where.endswith("required_columns"):
            raise self.fail(where, "must name the columns that recognise the export")
        return tuple(canonical(c) for c in value)

    def events(
        self, where: str, spec: dict[str, Any], scope: ExportColumns
    ) -> tuple[str | None, dict[str, str], dict[str, Any]]:
        """(column picking the event, word -> event, event -> its own field specs)."""
        if ("event" in spec) == ("event_by" in spec):
            raise self.fail(where, "needs exactly one of 'event' (fixed) and 'event_by'")
        if "event" in spec:
            if "events" in spec:
                raise self.fail(f"{where}.events", "a fixed-event export puts fields in 'fields'")
            return None, {}, {str(spec["event"]): {}}
        by = spec["event_by"]
        if not isinstance(by, dict) or not isinstance(by.get("values"), dict):
            raise self.fail(f"{where}.event_by", "needs 'column' and a mapping 'values'")
        column = scope.use(f"{where}.event_by.column", by.get("column"))
        words = {}
        for value, event in by["values"].items():
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise self.fail(f"{where}.event_by.values", f"quote the word {value!r}")
            words[word(str(value))] = str(event)
        bodies = spec.get("events")
        if not isinstance(bodies, dict) or set(bodies) != set(words.values()):
            expected = sorted(set(words.values()))
            raise self.fail(f"{where}.events", f"must give the fields of exactly {expected}")
        return column, words, {str(k): v or {} for k, v in bodies.items()}

    def event_plan(
        self, where: str, event: str, common: Any, own: Any, scope: ExportColumns
    ) -> EventPlan:
        try:
            contract = self.catalog.event(self.department_name, event)
        except CatalogError as exc:
            raise self.fail(where, str(exc)) from None
        common, own = common or {}, own or {}
        if not isinstance(common, dict) or not isinstance(own, dict):
            raise self.fail(where, "fields must be a mapping of target field -> spec")
        if set(common) & set(own):
            raise self.fail(where, f"sets {sorted(set(common) & set(own))} twice")
        fields = EventFields(self, scope, contract.schema)
        plans = []
        for target, spec in {**common, **own}.items():
            if target in ENGINE_FIELDS:
                raise self.fail(f"{where}.{target}", "is set by the engine")
            if target not in fields.avro:
                raise self.fail(f"{where}.{target}", f"{contract.full_name} has no such field")
            plans.append(fields.compile(f"{where}.{target}", str(target), spec))
        produced = {p.target for p in plans} | set(ENGINE_FIELDS)
        missing = [n for n, f in fields.avro.items() if n not in produced and "default" not in f]
        if missing:
            raise self.fail(where, f"does not produce the required fields {missing}")
        defaults = tuple((n, f["default"]) for n, f in fields.avro.items() if n not in produced)
        return EventPlan(event, contract.key_field, tuple(plans), defaults)

    def event_id(
        self, where: str, template: Any, required: tuple[str, ...], scope: ExportColumns
    ) -> EventIdPlan:
        if not isinstance(template, str) or not _PLACEHOLDER.search(template):
            raise self.fail(where, "needs a template such as '{department}:{业务流水号}'")
        parts: list[tuple[str, tuple[str, ...]]] = []
        for index, piece in enumerate(_PLACEHOLDER.split(template)):
            if index % 2 == 0:
                parts += [("literal", (piece,))] if piece else []
                continue
            name = piece.strip()
            if name in ("department", "event"):
                parts.append((name, ()))
                continue
            hashed = re.fullmatch(r"hash\((.+)\)", name)
            columns = tuple(canonical(c) for c in (hashed[1].split(",") if hashed else [name]))
            for column in columns:
                if column not in required:
                    raise self.fail(where, f"{column!r} is not one of the required columns")
                if not hashed and column in scope.personal:
                    raise self.fail(where, f"{column!r} holds personal data: use hash({column})")
            parts.append(("hash" if hashed else "column", columns))
        return EventIdPlan(tuple(parts))
