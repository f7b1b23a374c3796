"""Schema compatibility under Confluent's levels, decided by the Apache ``avro`` checker.

Whether a reader can read a writer's records is decided by avro's own
``ReaderWriterCompatibilityChecker``; this module only picks which pairs to check for a
level (Confluent's semantics) and turns avro's answer, a set of JSON-pointer-like
locations, into reasons that name the field and the rule an operator broke.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import avro.errors
import avro.schema
from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityResult,
    SchemaCompatibilityType,
    lookup_writer_field,
)
from avro.schema import Schema

from schemas.errors import SchemaError

LEVELS = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)
Direction = Literal["backward", "forward"]
# Far deeper than any contract (the catalog's deepest is 9 levels of JSON). avro parses
# recursively and puts each level's repr into the error of the level above, so refusing a
# deeply nested text would cost its depth times its size, for anyone who may look one up.
MAX_NESTING = 64


class InvalidSchemaTextError(SchemaError):
    """A schema text is not JSON or not a valid Avro schema."""


class UnknownLevelError(SchemaError):
    """A compatibility level is not one of ``LEVELS``."""


@dataclass(frozen=True)
class Incompatibility:
    """One way the new schema breaks a level against one earlier version."""

    level: str
    version: int
    direction: Direction
    field: str  # dotted path from the record, "" for the record itself
    kind: str  # avro's SchemaIncompatibilityType name
    text: str

    def __str__(self) -> str:
        return f"breaks {self.level}: {self.text}"


def parse_schema(schema_text: str) -> Any:
    """The avro ``Schema`` of ``schema_text``; InvalidSchemaTextError says why it is not one."""
    try:
        nesting = _nesting(json.loads(schema_text))
    except (json.JSONDecodeError, TypeError) as exc:
        raise InvalidSchemaTextError(f"not a valid Avro schema: {exc}") from exc
    except RecursionError:  # deeper than the JSON parser recurses
        nesting = MAX_NESTING + 1
    if nesting > MAX_NESTING:
        raise InvalidSchemaTextError(
            f"not a valid Avro schema: nested deeper than {MAX_NESTING} levels"
        )
    try:
        with warnings.catch_warnings():  # unknown logical types only warn; they stay valid
            warnings.simplefilter("ignore")
            return avro.schema.parse(schema_text)
    except (avro.errors.AvroException, json.JSONDecodeError, TypeError, ValueError) as exc:
        raise InvalidSchemaTextError(f"not a valid Avro schema: {exc}") from exc


def _nesting(value: Any) -> int:
    """How many levels of arrays and objects ``value`` has (iteratively: it may be deep)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, level + 1) for child in children)
    return deepest


def check_level(level: str) -> str:
    """``level`` if it is a known compatibility level; UnknownLevelError lists the valid ones."""
    if level not in LEVELS:
        raise UnknownLevelError(
            f"unknown compatibility level {level!r}; use one of {', '.join(LEVELS)}"
        )
    return level


def check(new_schema_text: str, existing_texts: list[str], level: str) -> list[str]:
    """Reasons ``new_schema_text`` breaks ``level`` against ``existing_texts`` (oldest first).

    An empty list means compatible.
    """
    return [str(i) for i in incompatibilities(new_schema_text, existing_texts, level)]


def incompatibilities(
    new_schema_text: str,
    existing_texts: Sequence[str],
    level: str,
    versions: Sequence[int] | None = None,
) -> list[Incompatibility]:
    """Every incompatibility of the new schema with the versions ``level`` compares it to.

    ``existing_texts`` are the subject's live versions, oldest first, numbered by
    ``versions`` (1, 2, ... when not given). Non-transitive levels compare with the latest
    only; BACKWARD means the new schema reads old records, FORWARD that old schemas read
    new records, FULL both.
    """
    check_level(level)
    numbers = list(versions) if versions is not None else list(range(1, len(existing_texts) + 1))
    pairs = list(zip(numbers, existing_texts, strict=True))
    if level == "NONE" or not pairs:
        return []
    if not level.endswith("_TRANSITIVE"):
        pairs = pairs[-1:]
    new = parse_schema(new_schema_text)
    directions: list[Direction] = []
    if level.startswith(("BACKWARD", "FULL")):
        directions.append("backward")
    if level.startswith(("FORWARD", "FULL")):
        directions.append("forward")
    found: list[Incompatibility] = []
    for version, text in reversed(pairs):  # the latest first: the likeliest to matter
        old = parse_schema(text)
        for direction in directions:
            reader, writer = (new, old) if direction == "backward" else (old, new)
            for leaf in _explain(reader, writer, ()):
                found.append(_describe(level, version, direction, leaf))
    return found


class _Checker(ReaderWriterCompatibilityChecker):
    """avro's checker, keeping the location when it resolves a writer union's branches.

    avro drops the location (restarting at "/") when it checks each branch of a writer
    union against a non-union reader, e.g. an optional field made required; the branch is
    checked at the field's own location instead, marked "~", so the reason names the field.
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # avro leaves it unannotated
        self._frames: list[tuple[Schema, Schema, list[str]]] = []

    def get_compatibility(
        self,
        reader: Schema,
        writer: Schema,
        reference_token: str = "/",
        location: list[str] | None = None,
    ) -> SchemaCompatibilityResult:
        if location is None and self._frames:
            parent_reader, parent_writer, parent_location = self._frames[-1]
            if reader is parent_reader and parent_writer.type == "union" and reader.type != "union":
                location, reference_token = parent_location, "~"
        return super().get_compatibility(reader, writer, reference_token, location)

    def calculate_compatibility(
        self, reader: Schema, writer: Schema, location: list[str]
    ) -> SchemaCompatibilityResult:
        self._frames.append((reader, writer, location))
        try:
            return super().calculate_compatibility(reader, writer, location)
        finally:
            self._frames.pop()


@dataclass(frozen=True)
class _Leaf:
    path: tuple[str, ...]
    kind: str
    reader: Any  # the reader's schema at the leaf, or its Field when the field is missing
    writer: Any


def _explain(reader: Any, writer: Any, path: tuple[str, ...]) -> list[_Leaf]:
    """Leaves of avro's verdict on (reader, writer), each with the field path it sits at."""
    result = _Checker().get_compatibility(reader, writer)
    if result.compatibility is not SchemaCompatibilityType.incompatible:
        return []
    locations = sorted(result.locations)
    if len(locations) > 1:  # avro merges "/" in from every compatible sibling
        locations = [loc for loc in locations if loc != "/"]
    leaves: list[_Leaf] = []
    for location in locations:
        names, sub_reader, sub_writer, stop = _walk(reader, writer, location)
        if stop == "fields":
            leaves.append(
                _Leaf(path + names, "reader_field_missing_default_value", sub_reader, None)
            )
        elif sub_reader is reader and sub_writer is writer:
            kinds = {k.name for k in result.incompatibilities}
            kind = _STOP_KINDS.get(stop) or (kinds.pop() if len(kinds) == 1 else "type_mismatch")
            leaves.append(_Leaf(path, kind, reader, writer))
        else:
            leaves.extend(_explain(sub_reader, sub_writer, path + names))
    return leaves


_STOP_KINDS = {
    "name": "name_mismatch",
    "symbols": "missing_enum_symbols",
    "size": "fixed_size_mismatch",
    "union": "missing_union_branch",
}


def _walk(reader: Any, writer: Any, location: str) -> tuple[tuple[str, ...], Any, Any, str]:
    """Follow an avro location down both schemas: (field names, reader, writer, stop token)."""
    names: list[str] = []
    tokens = [t for t in location.split("/") if t and t != "~"]
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "fields":
            field = reader.fields[int(tokens[index + 1])]
            names.append(field.name)
            writer_field = lookup_writer_field(writer_schema=writer, reader_field=field)
            if writer_field is None:
                return tuple(names), field, None, "fields"
            reader, writer = field, writer_field
            index += 2
            continue
        if token in ("type", "items", "values"):
            reader, writer = getattr(reader, token), getattr(writer, token)
            if token != "type":
                names.append("[]" if token == "items" else "{}")
        else:  # name, symbols, size, or a union branch: the leaf itself
            return tuple(names), reader, writer, "union" if token.isdigit() else token
        index += 1
    return tuple(names), reader, writer, ""


def _describe(level: str, version: int, direction: Direction, leaf: _Leaf) -> Incompatibility:
    old = f"version {version}"
    reader, writer = ("the new schema", old) if direction == "backward" else (old, "the new schema")
    field = ".".join(leaf.path).replace(".[]", "[]").replace(".{}", "{}")
    subject = f"field '{field}'" if field else "the record"
    if leaf.kind == "reader_field_missing_default_value":
        text = (
            f"{subject} was added without a default (or renamed without an alias), so the new "
            f"schema cannot read records written with {old}"
            if direction == "backward"
            else f"{subject} was removed or renamed, but {old} has it without a default, so "
            f"readers still on {old} cannot read new records"
        )
    elif leaf.kind == "name_mismatch":
        text = (
            f"{subject}: type name {leaf.reader.fullname} in {reader} does not match "
            f"{leaf.writer.fullname} in {writer} (a rename needs an alias)"
        )
    elif leaf.kind == "missing_enum_symbols":
        missing = sorted(set(leaf.writer.symbols) - set(leaf.reader.symbols))
        text = f"{subject}: {reader} lacks the symbols {missing} that {writer} writes"
    elif leaf.kind == "fixed_size_mismatch":
        text = (
            f"{subject}: fixed size {leaf.reader.size} in {reader}, {leaf.writer.size} in {writer}"
        )
    else:
        text = (
            f"{subject}: {reader} reads it as {_type_name(leaf.reader)} and cannot read "
            f"{_type_name(leaf.writer)} written by {writer}"
        )
    return Incompatibility(level, version, direction, field, leaf.kind, text)


def _type_name(schema: Any) -> str:
    if schema.type == "union":
        return "[" + ", ".join(_type_name(s) for s in schema.schemas) + "]"
    logical = schema.props.get("logicalType")
    name = getattr(schema, "fullname", None) or schema.type
    return f"{name} ({logical})" if logical else str(name)
