"""The JSON contract of HTTP ingest: an event's Avro fields, pseudonymized at the door.

For event ``E`` of department ``D`` a record is a JSON object whose keys are the fields of
``E``'s Avro schema (``datong schemas list``, ``/asyncapi.yaml``), except:

- ``event_id`` (required): the department's own unique id of the record, published as
  ``D:<event_id>``, so a resent record is the same event;
- ``department`` may be left out (it is ``D``);
- ``id_number`` replaces ``person_key``: the 18-digit resident ID number, check digit
  verified (GB 11643) and turned into ``person_key`` under the hub's HMAC key here;
  ``name`` replaces ``name_masked`` and ``phone`` replaces ``phone_masked``: masked here.
  A ``person_key`` or masked value sent as such must already have that form, so a raw
  value put in the wrong field cannot slip through. On an event without ``name_masked``
  or ``phone_masked``, a ``name`` or ``phone`` is accepted and dropped here, as a file
  export's name column is never read;
- times and dates take the forms the file mappings read (``schemas.ingest_rules``): text
  such as ``2024-03-05 10:00`` or ``2024-03-05T10:00:00+08:00`` (China time when without an
  offset), or a time as epoch milliseconds (Avro's ``long``); enums take their symbol or
  the contract's words (``schemas.enum_words``: ``阳性`` is ``POSITIVE``), booleans true,
  false or the yes/no words (是/否);
- optional fields may be left out or null; an unknown key is an error, so is any string
  that looks like a spreadsheet formula or contains a resident ID number.

``schemas.ingest_schema`` describes the same rules as JSON Schema. Errors name the field
and never repeat its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from connectors.base import Event
from connectors.dates import from_epoch_ms, parse_date, parse_datetime, utc
from connectors.errors import RecordError
from connectors.identity import check_digit, mask_name, mask_phone, normalize_id, person_key
from connectors.sources.cells import looks_like_formula
from schemas.catalog import Contract
from schemas.enum_words import accepted, symbol_for, words_of, yes_no
from schemas.ingest_rules import (
    DATE_FORMS,
    INT32,
    INT64,
    MAX_EVENT_ID_CHARS,
    MAX_RAW_CHARS,
    MAX_TEXT_CHARS,
    PSEUDONYMIZED,
    RAW_FIELDS,
    TIME_FORMS,
)

_PSEUDONYMIZED = {name: re.compile(pattern) for name, pattern in PSEUDONYMIZED.items()}
_ID_LIKE = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dXx])")


class JsonContract:
    """Turns JSON records of one event type into pseudonymized events."""

    def __init__(self, contract: Contract, hmac_key: bytes) -> None:
        if contract.department is None or contract.event is None:
            raise ValueError(f"{contract.topic} is not a source contract")
        self.contract = contract
        self.department: str = contract.department
        self.event: str = contract.event
        self._hmac_key = hmac_key
        self._named = _named_types(contract.schema)

    def to_event(self, body: Mapping[str, Any]) -> Event | list[RecordError]:
        """The event for ``body``, or every field error found in it."""
        errors: list[RecordError] = []
        fields = dict(body)
        department = fields.pop("department", self.department)
        if department != self.department:
            errors.append(
                RecordError("department", f"must be {self.department} or left out", "bad_value")
            )
        fields["event_id"] = self._event_id(fields.get("event_id"), errors)
        fields["department"] = self.department
        for raw, masked in RAW_FIELDS.items():
            self._pseudonymize(fields, raw, masked, errors)
        found: list[RecordError] = []
        record = _record(self.contract.schema, fields, "", self._named, found)
        # A field whose raw form was already reported is not reported again as missing.
        covered = {RAW_FIELDS.get(e.field, e.field) for e in errors}
        errors += [e for e in found if e.field not in covered]
        if errors:
            return errors
        return Event(self.department, self.event, str(record[self.contract.key_field]), record)

    def _event_id(self, value: Any, errors: list[RecordError]) -> str | None:
        if not isinstance(value, str) or not value.strip():
            errors.append(
                RecordError("event_id", "is required: the record's unique id", "missing_field")
            )
            return None
        if len(value) > MAX_EVENT_ID_CHARS or looks_like_formula(value) or _ID_LIKE.search(value):
            reason = f"must be at most {MAX_EVENT_ID_CHARS} characters of plain text, no ID number"
            errors.append(RecordError("event_id", reason, "bad_value"))
            return None
        prefix = f"{self.department}:"
        return value if value.startswith(prefix) else prefix + value

    def _pseudonymize(
        self, fields: dict[str, Any], raw: str, masked: str, errors: list[RecordError]
    ) -> None:
        if masked not in self.contract.field_names:
            if raw != "id_number" and raw in fields:
                # A name or phone this event does not carry: dropped, never published, as a
                # file export's name column is never read.
                value = fields.pop(raw)
                if not (value is None or isinstance(value, str)):
                    errors.append(RecordError(raw, "must be a JSON string", "bad_type"))
                elif value is not None and len(value) > MAX_RAW_CHARS:
                    reason = f"is {len(value)} characters, at most {MAX_RAW_CHARS}"
                    errors.append(RecordError(raw, reason, "too_long"))
            return  # an id_number on an event keyed otherwise is reported as unknown
        if raw in fields and fields.get(masked) is not None:
            errors.append(RecordError(raw, f"send {raw} or {masked}, not both", "bad_value"))
            fields.pop(raw)
            return
        if raw not in fields:
            value = fields.get(masked)
            if value is not None and not (
                isinstance(value, str) and _PSEUDONYMIZED[masked].match(value)
            ):
                reason = f"must already be pseudonymized; send the clear value as {raw}"
                errors.append(RecordError(masked, reason, "not_pseudonymized"))
                fields.pop(masked)
            return
        value = fields.pop(raw)
        if value is None:
            return
        if not isinstance(value, str):
            errors.append(RecordError(raw, "must be a JSON string", "bad_type"))
            return
        try:
            fields[masked] = self._pseudonym(raw, value)
        except RecordError as error:
            errors.append(error)

    def _pseudonym(self, raw: str, value: str) -> str | None:
        if raw == "id_number":
            return person_key(normalize_id(value, raw), self._hmac_key)
        if raw == "name":
            return mask_name(value, raw)
        return mask_phone(value, raw)


# Key prefix in the table of named types under which an enum's words are kept (a name
# cannot hold a colon, so no type is shadowed).
_WORDS_KEY = "words:"


def _named_types(
    schema: Any, found: dict[str, Any] | None = None, namespace: str = ""
) -> dict[str, Any]:
    """Named types by full and short name, to resolve the later references of an inlined
    schema, and each enum's words (``schemas.enum_words``) under ``words:<name>``."""
    found = {} if found is None else found
    if isinstance(schema, list):
        for item in schema:
            _named_types(item, found, namespace)
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
            _named_types(schema.get(key), found, namespace)
        for item in schema.get("fields", []):
            _named_types(item.get("type"), found, namespace)
    return found


def _record(
    schema: dict[str, Any],
    value: Mapping[str, Any],
    path: str,
    named: dict[str, Any],
    errors: list[RecordError],
) -> dict[str, Any]:
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
        return _record(schema, value, path + ".", named, errors)
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
    for match in _ID_LIKE.finditer(value):
        digits = match.group().upper()
        if check_digit(digits[:17]) == digits[17]:
            reason = "contains a resident ID number; send it as id_number, or leave it out"
            raise RecordError(path, reason, "raw_identity")
    return value


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
