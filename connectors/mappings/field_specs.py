"""The field specs of one event, checked against its Avro schema and compiled to FieldPlans.

The loader (``loader.py``) walks a mapping file's exports and events; for each event it
hands the field specs here. Every failure names the file and the entry through the
loader's ``fail``; what an export's fields find out about its columns (personal data read,
columns copied as they are, the gazetteer asked) is gathered in ``ExportColumns`` for the
loader's checks across fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from connectors.mappings.contract_words import with_contract_words
from connectors.mappings.mapper import MappingError
from connectors.mappings.plan import NOTHING, FieldPlan
from connectors.transforms import SAME, Apply, build, canonical, word

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


class FileChecker(Protocol):
    """The loader of one mapping file, as the field checks see it."""

    def fail(self, where: str, problem: str) -> MappingError:
        """The error naming the file, the entry and what is wrong with it."""
        ...


@dataclass
class ExportColumns:
    """The columns an export declares, and what its fields found out about them."""

    loader: FileChecker
    columns: set[str]
    personal: set[str] = field(default_factory=set)  # read by person_key, mask_name, ...
    plain: set[str] = field(default_factory=set)  # copied by non-personal transforms only
    gazetteer: bool = False

    def use(self, where: str, column: Any) -> str:
        if not isinstance(column, str) or canonical(column) not in self.columns:
            raise self.loader.fail(where, f"{column!r} is not a declared column of the export")
        return canonical(column)


class EventFields:
    """Compiles field specs of one event against its Avro schema."""

    def __init__(self, loader: FileChecker, scope: ExportColumns, schema: dict[str, Any]) -> None:
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
