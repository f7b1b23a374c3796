"""Loads a department's mapping YAML and checks it against the catalog before anything runs.

Checked at load, each failure a MappingError naming the file and the entry: every event
is a contract of the department; every target field exists in its Avro schema and every
field without a default is produced; transforms are known, their arguments valid, their
output fits the field's type (enum words map to symbols of the enum); every column that a
field, a transform or the event_id reads is declared; a column holding personal data (read
by person_key, mask_name, mask_phone, ...) is never copied as it is, nor shown in an
event_id except through ``hash(...)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from connectors.mappings.contract_words import with_contract_words
from connectors.mappings.mapper import MappingError
from connectors.mappings.plan import (
    NOTHING,
    DepartmentSpec,
    EventIdPlan,
    EventPlan,
    ExportPlan,
    FieldPlan,
)
from connectors.transforms import SAME, Apply, build, canonical, word
from schemas.catalog import Catalog, department_name
from schemas.errors import CatalogError

MAPPINGS_DIR = Path(__file__).parent
ENGINE_FIELDS = ("event_id", "department")  # the engine sets them: template, constant
_EXPORT_KEYS = {"title", "file_pattern", "required_columns", "optional_columns", "event"}
_EXPORT_KEYS |= {"event_by", "event_id", "fields", "events", "gazetteer"}
_FIELD_KEYS = {"from", "value", "record", "transforms", "when", "otherwise", "default"}
_FIELD_KEYS |= {"required"}
_PRIMITIVE_KINDS = {
    "string": {"string"},
    "int": {"int"},
    "long": {"int", "long"},
    "float": {"double", "int"},
    "double": {"double", "int"},
    "boolean": {"boolean"},
}
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
    return _Loader(path.name, catalog, department_name(directory)).department(data)


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
    return _Loader(str(path), catalog, declared).department(data)


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
        scope = _Scope(self, set(required) | set(optional))
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
        self, where: str, spec: dict[str, Any], scope: _Scope
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

    def event_plan(self, where: str, event: str, common: Any, own: Any, scope: _Scope) -> EventPlan:
        try:
            contract = self.catalog.event(self.department_name, event)
        except CatalogError as exc:
            raise self.fail(where, str(exc)) from None
        common, own = common or {}, own or {}
        if not isinstance(common, dict) or not isinstance(own, dict):
            raise self.fail(where, "fields must be a mapping of target field -> spec")
        if set(common) & set(own):
            raise self.fail(where, f"sets {sorted(set(common) & set(own))} twice")
        fields = _Fields(self, scope, contract.schema)
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
        self, where: str, template: Any, required: tuple[str, ...], scope: _Scope
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


@dataclass
class _Scope:
    """The columns an export declares, and what its fields found out about them."""

    loader: _Loader
    columns: set[str]
    personal: set[str] = field(default_factory=set)  # read by person_key, mask_name, ...
    plain: set[str] = field(default_factory=set)  # copied by non-personal transforms only
    gazetteer: bool = False

    def use(self, where: str, column: Any) -> str:
        if not isinstance(column, str) or canonical(column) not in self.columns:
            raise self.loader.fail(where, f"{column!r} is not a declared column of the export")
        return canonical(column)


class _Fields:
    """Compiles field specs of one event against its Avro schema."""

    def __init__(self, loader: _Loader, scope: _Scope, schema: dict[str, Any]) -> None:
        self.loader = loader
        self.scope = scope
        self.avro: dict[str, dict[str, Any]] = {f["name"]: f for f in schema["fields"]}
        self.named: dict[str, dict[str, Any]] = {}
        self._collect(schema, schema.get("namespace", ""))

    def _collect(self, node: Any, namespace: str) -> None:
        if isinstance(node, list):
            for item in node:
                self._collect(item, namespace)
        elif isinstance(node, dict):
            if node.get("type") in ("record", "enum", "fixed") and "name" in node:
                namespace = node.get("namespace", namespace)
                full = node["name"] if "." in node["name"] else f"{namespace}.{node['name']}"
                self.named[full] = self.named[node["name"]] = node
            for key in ("type", "items", "fields"):
                self._collect(node.get(key), namespace)

    def _type(self, avro: dict[str, Any]) -> tuple[Any, bool]:
        """(the field's type without null, whether null is allowed)."""
        kind = avro["type"]
        nullable = isinstance(kind, list) and "null" in kind
        if isinstance(kind, list):
            (kind,) = [m for m in kind if m != "null"]
        return self.named.get(kind, kind) if isinstance(kind, str) else kind, nullable

    def _accepts(self, kind: Any) -> tuple[set[str], frozenset[str]]:
        """Which transform outputs the type takes, and its enum symbols."""
        if isinstance(kind, str):
            return _PRIMITIVE_KINDS[kind], frozenset()
        logical = {"date": "date", "timestamp-millis": "timestamp"}.get(kind.get("logicalType"))
        if logical:
            return {logical}, frozenset()
        output = {"enum": "symbol", "array": "array", "record": "record"}[kind["type"]]
        return {output}, frozenset(kind.get("symbols", ()))

    def compile(self, where: str, target: str, spec: Any, avro: Any = None) -> FieldPlan:
        avro = avro or self.avro[target]
        spec = {"from": spec} if isinstance(spec, str) else spec
        if not isinstance(spec, dict) or set(spec) - _FIELD_KEYS:
            raise self.loader.fail(where, f"must be a column or a mapping of {sorted(_FIELD_KEYS)}")
        if len({"from", "value", "record"} & set(spec)) != 1:
            raise self.loader.fail(where, "needs exactly one of 'from', 'value' and 'record'")
        kind, nullable = self._type(avro)
        accepted = self._accepts(kind)
        if "record" in spec:
            return self._record(where, target, spec["record"], kind)
        if "value" in spec:
            self._constant(where, spec["value"], accepted, nullable)
            return FieldPlan(target, constant=spec["value"])
        column = self.scope.use(where, spec["from"])
        steps = self._transforms(where, spec.get("transforms") or [], column, accepted)
        steps = with_contract_words(steps, kind, self.named)
        default = spec.get("default", NOTHING)
        if default is not NOTHING:
            self._constant(f"{where}.default", default, accepted, nullable)
        required = bool(spec.get("required", not nullable and "default" not in avro))
        if default is NOTHING and not required:
            default = avro.get("default", NOTHING)
        when = self._when(f"{where}.when", spec.get("when"), nullable or default is not NOTHING)
        otherwise = None
        if "otherwise" in spec:
            otherwise = self.compile(f"{where}.otherwise", target, spec["otherwise"], avro)
        return FieldPlan(
            target,
            column,
            steps,
            when=when,
            otherwise=otherwise,
            default=default,
            required=required,
        )

    def _record(self, where: str, target: str, spec: Any, kind: Any) -> FieldPlan:
        if not isinstance(kind, dict) or kind.get("type") != "record" or not isinstance(spec, dict):
            raise self.loader.fail(where, "'record' needs a record field and a mapping of parts")
        inner = {f["name"]: f for f in kind["fields"]}
        parts = []
        for name, part in spec.items():
            if name not in inner:
                raise self.loader.fail(f"{where}.{name}", "the record has no such field")
            parts.append(self.compile(f"{where}.{name}", str(name), part, inner[name]))
        missing = [n for n, f in inner.items() if n not in spec and "default" not in f]
        if missing:
            raise self.loader.fail(where, f"does not produce the required fields {missing}")
        parts += [FieldPlan(n, constant=f["default"]) for n, f in inner.items() if n not in spec]
        return FieldPlan(target, record=tuple(parts))

    def _transforms(
        self, where: str, specs: Any, column: str, accepted: tuple[set[str], frozenset[str]]
    ) -> tuple[Apply, ...]:
        if not isinstance(specs, list):
            raise self.loader.fail(f"{where}.transforms", "must be a list")
        output, made, personal, steps = "string", frozenset[str](), False, []
        for index, spec in enumerate(specs):
            try:
                transform = build(spec)
            except ValueError as exc:
                raise self.loader.fail(f"{where}.transforms[{index}]", str(exc)) from None
            for other in transform.columns:
                self.scope.use(f"{where}.transforms[{index}]", other)
            personal |= transform.personal
            self.scope.gazetteer |= transform.gazetteer
            if transform.kind != SAME:
                output, made = transform.kind, transform.symbols
            steps.append(transform.apply)
        (self.scope.personal if personal else self.scope.plain).add(column)
        kinds, symbols = accepted
        if output not in kinds:
            takes = " or ".join(sorted(kinds))
            raise self.loader.fail(where, f"produces {output}, the field takes {takes}")
        if output == "symbol" and not made <= symbols:
            raise self.loader.fail(where, f"maps to {sorted(made - symbols)}: not in the enum")
        return tuple(steps)

    def _when(self, where: str, spec: Any, may_be_empty: bool) -> tuple[str, frozenset[str]] | None:
        if spec is None:
            return None
        if not isinstance(spec, dict) or not isinstance(spec.get("in"), list):
            raise self.loader.fail(where, "needs 'column' and a list 'in'")
        if not may_be_empty:
            raise self.loader.fail(where, "the field cannot be empty, so it cannot be conditional")
        column = self.scope.use(where, spec.get("column"))
        return column, frozenset(word(str(value)) for value in spec["in"])

    def _constant(
        self, where: str, value: Any, accepted: tuple[set[str], frozenset[str]], nullable: bool
    ) -> None:
        kinds, symbols = accepted
        if value is None:
            fits = nullable
        elif isinstance(value, bool):
            fits = "boolean" in kinds
        elif isinstance(value, int | float):
            fits = bool(kinds & ({"double"} if isinstance(value, float) else {"int", "long"}))
        elif isinstance(value, str):
            fits = "string" in kinds or ("symbol" in kinds and value in symbols)
        else:
            fits = isinstance(value, list) and "array" in kinds
        if not fits:
            raise self.loader.fail(where, f"the constant does not fit {' or '.join(sorted(kinds))}")
