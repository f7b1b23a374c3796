"""JSON values turned into the Avro types of an event's schema, for the HTTP ingest contract
(``json_contract.py``): each error names the field's path and never repeats its value."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from connectors.dates import from_epoch_ms, parse_date, parse_datetime, utc
from connectors.errors import RecordError
from connectors.sources.cells import looks_like_formula
from schemas.enum_words import accepted, symbol_for, words_of, yes_no
from schemas.ingest_rules import DATE_FORMS, INT32, INT64, MAX_TEXT_CHARS, TIME_FORMS

# Key prefix in the table of named types under which an enum's words are kept (a name
# cannot hold a colon, so no type is shadowed).
_WORDS_KEY = "words:"


def named_types(
    schema: Any, found: dict[str, Any] | None = None, namespace: str = ""
) -> dict[str, Any]:
    """Named types by full and short name, to resolve the later references of an inlined
    schema, and each enum's words (``schemas.enum_words``) under ``words:<name>``."""
    found = {} if found is None else found
    if isinstance(schema, list):
        for item in schema:
            named_types(item, found, namespace)
    elif isinstance(schema, dict):
        if schema.get("type") in ("record", "enum", "fixed") and "name" in schema:
            name = schema["name"]
            namespace = schema.get("namespace", namespace)
            full = name if "." in name else f"{namespace}.{name}".lstrip(".")
            found.setdefault(full, schema)
            found.setdefault(name, schema)
            if schema["type"] == "enum":
                found.setdefault(_WORDS_KEY + name, words_of(full))
        for key in ("type", "items", "values"):
            named_types(schema.get(key), found, namespace)
        for item in schema.get("fields", []):
            named_types(item.get("type"), found, namespace)
    return found


def to_record(
    schema: dict[str, Any],
    value: Mapping[str, Any],
    path: str,
    named: dict[str, Any],
    errors: list[RecordError],
) -> dict[str, Any]:
    """The Avro record ``schema`` makes of the JSON object ``value``; each field's error is
    added to ``errors`` (named under ``path``), its value left as the default or None."""
    names = {f["name"] for f in schema["fields"]}
    errors.extend(
        RecordError(path + key, "is not a field of this event", "unknown_field")
        for key in value
        if key not in names
    )
    record: dict[str, Any] = {}
    for spec in schema["fields"]:
        name = spec["name"]
        if name not in value or (value[name] is None and "default" in spec):
            if "default" not in spec:
                errors.append(RecordError(path + name, "is required", "missing_field"))
            record[name] = spec.get("default")
            continue
        try:
            record[name] = _convert(spec["type"], value[name], path + name, named, errors)
        except RecordError as error:
            errors.append(error)
    return record


def _convert(
    schema: Any, value: Any, path: str, named: dict[str, Any], errors: list[RecordError]
) -> Any:
    """``value`` as the Avro type ``schema`` needs; RecordError names ``path`` when it is not."""
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    if value is None and schema != "null" and not (isinstance(schema, list) and "null" in schema):
        raise RecordError(path, "must not be null", "missing_field")
    if isinstance(schema, list):
        return _union(schema, value, path, named, errors)
    if isinstance(schema, dict):
        return _complex(schema, value, path, named, errors)
    return _primitive(schema, value, path)


def _complex(
    schema: dict[str, Any], value: Any, path: str, named: dict[str, Any], errors: list[RecordError]
) -> Any:
    logical, kind = schema.get("logicalType"), schema["type"]
    if logical in ("timestamp-millis", "timestamp-micros"):
        return _timestamp(value, path)
    if logical == "date":
        return _date(value, path)
    if kind == "enum":
        symbols = schema["symbols"]
        words = named.get(_WORDS_KEY + schema["name"], {})
        symbol = symbol_for(value, symbols, words) if isinstance(value, str) else None
        if symbol is None:
            raise RecordError(path, f"is not {accepted(symbols, words)}", "bad_enum")
        return symbol
    if kind == "record":
        if not isinstance(value, dict):
            raise RecordError(path, "must be a JSON object", "bad_type")
        return to_record(schema, value, path + ".", named, errors)
    if kind == "array":
        if not isinstance(value, list):
            raise RecordError(path, "must be a JSON array", "bad_type")
        items = schema["items"]
        return [_convert(items, v, f"{path}[{i}]", named, errors) for i, v in enumerate(value)]
    return _convert(kind, value, path, named, errors)


def _union(
    branches: list[Any], value: Any, path: str, named: dict[str, Any], errors: list[RecordError]
) -> Any:
    if value is None:
        if "null" in branches:
            return None
        raise RecordError(path, "must not be null", "missing_field")
    first: RecordError | None = None
    for branch in (b for b in branches if b != "null"):
        try:
            return _convert(branch, value, path, named, errors)
        except RecordError as error:
            first = first or error
    raise first or RecordError(path, "has no type that fits", "bad_type")


def _primitive(kind: str, value: Any, path: str) -> Any:
    if kind == "string":
        return _string(value, path)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "boolean" and isinstance(value, str) and yes_no(value) is not None:
        return yes_no(value)
    if kind in ("int", "long") and isinstance(value, int) and not isinstance(value, bool):
        low, high = INT32 if kind == "int" else INT64
        if not low <= value <= high:
            bits = 32 if kind == "int" else 64
            raise RecordError(path, f"is out of range for a {bits}-bit integer", "bad_value")
        return value
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind in ("float", "double") and is_number:
        return float(value)
    if kind == "null" and value is None:
        return None
    expected = {"boolean": "true, false or 是/否", "int": "an integer", "long": "an integer"}
    raise RecordError(path, f"must be {expected.get(kind, 'a ' + kind)}", "bad_type")


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise RecordError(path, "must be a JSON string", "bad_type")
    if len(value) > MAX_TEXT_CHARS:
        raise RecordError(path, f"is {len(value)} characters, at most {MAX_TEXT_CHARS}", "too_long")
    if looks_like_formula(value):
        raise RecordError(path, "starts like a spreadsheet formula (=, +, -, @)", "formula")
    return value  # personal data in it is screened with its field's class (json_screening)


def _timestamp(value: Any, path: str) -> datetime:
    if isinstance(value, int) and not isinstance(value, bool):
        return from_epoch_ms(value, path)
    if isinstance(value, str) and len(value) <= MAX_TEXT_CHARS:
        return utc(parse_datetime(value, path))
    raise RecordError(path, f"is not a time (use {TIME_FORMS})", "bad_date")


def _date(value: Any, path: str) -> date:
    if isinstance(value, str) and len(value) <= MAX_TEXT_CHARS:
        return parse_date(value, path)
    raise RecordError(path, f"is not a date (use {DATE_FORMS})", "bad_date")
