"""JSON Schemas (draft 2020-12) of the records a department pushes over HTTP, from the Avro
contracts and the intake's rules (``schemas.ingest_rules``, ``schemas.enum_words``).

A record that fits its schema is read by the intake (``POST /ingest/{department}/{event}``),
with the exceptions no JSON Schema can state: an ID number's check digit, a string holding
a valid ID number or starting like a spreadsheet formula, a date that does not exist, and
``id_number``/``person_key`` sent together with a null one. Pure: contracts in, dicts out.
"""

from __future__ import annotations

from typing import Any

from schemas.catalog import Contract
from schemas.enum_words import NO, YES, words_of
from schemas.ingest_rules import (
    DATE_FORMS,
    DATE_PATTERN,
    EPOCH_MS,
    ID_NUMBER,
    INT32,
    INT64,
    MAX_EVENT_ID_CHARS,
    MAX_RAW_CHARS,
    MAX_TEXT_CHARS,
    PHONE,
    PSEUDONYMIZED,
    RAW_FIELDS,
    TIME_FORMS,
    TIME_PATTERN,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_RAW_WORDS = {
    "id_number": "the resident's 18-character ID number (GB 11643, check digit verified), "
    "turned into person_key at the door; never stored",
    "name": "the person's name, masked at the door (张**); never stored",
    "phone": "the phone number, masked at the door (138****5678); never stored",
}


def ingest_schema(contract: Contract) -> dict[str, Any]:
    """The JSON Schema of one record of ``contract``'s event as the intake reads it."""
    if contract.department is None:
        raise ValueError(f"{contract.topic} is not a source contract")
    schema = contract.schema
    named = _named(schema, schema.get("namespace", ""), {})
    properties: dict[str, Any] = {
        "event_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_EVENT_ID_CHARS,
            "pattern": r"\S",
            "description": "the department's own unique id of the record, published as "
            f"'{contract.department}:<event_id>' (a resent record is the same event); plain "
            "text, no ID number",
        },
        "department": {
            "const": contract.department,
            "description": f"always {contract.department}; may be left out",
        },
    }
    required = ["event_id"]
    alternatives: list[dict[str, Any]] = []
    names = set(contract.field_names)
    for spec in schema["fields"]:
        name = spec["name"]
        if name in ("event_id", "department"):
            continue
        optional = "default" in spec  # may be left out, or null: the default is taken
        kind = _type(spec["type"], named)
        described = _described(_nullable(kind) if optional else kind, spec.get("doc", ""))
        raw = next((r for r, masked in RAW_FIELDS.items() if masked == name), None)
        if raw is None:
            properties[name] = described
            if not optional:
                required.append(name)
            continue
        # The pseudonymized field, sent as such, must already have its form; or its raw
        # field, pseudonymized at the door. Not both (a null one aside); a required one
        # needs either, not null.
        masked_form = {"type": "string", "pattern": PSEUDONYMIZED[name]}
        properties[name] = _described(
            _nullable(masked_form),
            f"{spec.get('doc', '')} Already pseudonymized; or send {raw} instead.",
        )
        properties[raw] = _raw(raw, optional)
        both = {"required": [raw, name], "properties": {name: {"not": _NULL}}}
        alternatives.append({"not": both})
        if not optional:
            alternatives.append({"anyOf": [{"required": [raw]}, {**both, "required": [name]}]})
    for raw, masked in RAW_FIELDS.items():
        if masked not in names and raw != "id_number":
            properties[raw] = _described(
                _nullable({"type": "string", "maxLength": MAX_RAW_CHARS}),
                f"accepted and dropped: {contract.name} carries no {raw}",
            )
    document: dict[str, Any] = {
        "title": f"{contract.name} record",
        "description": f"{schema.get('doc', '')} Event {contract.event} of "
        f"{contract.department} (Avro {contract.full_name}, topic {contract.topic}).",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if alternatives:
        document["allOf"] = alternatives
    return document


def body_schema(record: dict[str, Any], max_records: int) -> dict[str, Any]:
    """A request body: one ``record`` (a schema or a ``$ref`` to one), or an array of 1 to
    ``max_records`` of them."""
    return {
        "anyOf": [
            record,
            {"type": "array", "items": record, "minItems": 1, "maxItems": max_records},
        ]
    }


def record_name(contract: Contract) -> str:
    """The name of ``contract``'s record schema among others: ``TestResultReportedRecord``."""
    return f"{contract.name}Record"


def standalone(schema: dict[str, Any], schema_id: str) -> dict[str, Any]:
    """``schema`` as a document of its own: its dialect and its ``$id`` first."""
    return {"$schema": DIALECT, "$id": schema_id, **schema}


def _raw(raw: str, optional: bool) -> dict[str, Any]:
    form: dict[str, Any] = {"type": "string", "maxLength": MAX_RAW_CHARS}
    form["pattern"] = {"id_number": ID_NUMBER, "phone": PHONE}.get(raw, r"\S")
    return _described(_nullable(form) if optional else form, _RAW_WORDS[raw])


_NULL = {"type": "null"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if _NULL in schema.get("anyOf", ()):
        return schema
    return {"anyOf": [schema, _NULL]}


def _described(schema: dict[str, Any], doc: str) -> dict[str, Any]:
    """``schema`` with the field's doc before what the schema already says."""
    words = " ".join(w for w in (doc.strip(), schema.get("description", "")) if w)
    return {**schema, "description": words} if words else schema


def _named(node: Any, namespace: str, found: dict[str, Any]) -> dict[str, Any]:
    """Named types by full and short name (inlined once, referenced by name after)."""
    if isinstance(node, list):
        for item in node:
            _named(item, namespace, found)
    elif isinstance(node, dict):
        if node.get("type") in ("record", "enum", "fixed") and "name" in node:
            namespace = node.get("namespace", namespace)
            full = node["name"] if "." in node["name"] else f"{namespace}.{node['name']}"
            found.setdefault(full, {**node, "_full_name": full})
            found.setdefault(node["name"], found[full])
        for key in ("type", "items", "values"):
            _named(node.get(key), namespace, found)
        for item in node.get("fields", []):
            _named(item.get("type"), namespace, found)
    return found


def _type(avro: Any, named: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a value of Avro type ``avro`` as the intake reads it."""
    if isinstance(avro, list):
        branches = [_type(b, named) for b in avro if b != "null"]
        branch = branches[0] if len(branches) == 1 else {"anyOf": branches}
        return _nullable(branch) if "null" in avro else branch
    if isinstance(avro, str):
        return _type(named[avro], named) if avro in named else _primitive(avro)
    return _complex(avro, named)


def _complex(avro: dict[str, Any], named: dict[str, Any]) -> dict[str, Any]:
    logical = avro.get("logicalType")
    if logical in _LOGICAL:
        return dict(_LOGICAL[logical])
    kind = avro["type"]
    if kind == "enum":
        full = avro.get("_full_name") or named.get(avro["name"], {}).get("_full_name", "")
        return _enum(list(avro["symbols"]), list(words_of(full)))
    if kind == "record":
        return {
            "type": "object",
            "properties": {
                f["name"]: _described(_type(f["type"], named), f.get("doc", ""))
                for f in avro["fields"]
            },
            "required": [f["name"] for f in avro["fields"] if "default" not in f],
            "additionalProperties": False,
        }
    if kind == "array":
        return {"type": "array", "items": _type(avro["items"], named)}
    return _type(kind, named)


_TIME = {
    "anyOf": [
        {"type": "string", "pattern": TIME_PATTERN, "maxLength": 64},
        {"type": "integer", "minimum": EPOCH_MS[0], "maximum": EPOCH_MS[1]},
    ],
    "description": f"a time: {TIME_FORMS}",
}
_DATE = {
    "type": "string",
    "pattern": DATE_PATTERN,
    "maxLength": 64,
    "description": f"a date: {DATE_FORMS}",
}
_LOGICAL: dict[str, dict[str, Any]] = {
    "timestamp-millis": _TIME,
    "timestamp-micros": _TIME,
    "date": _DATE,
}


def _enum(symbols: list[str], words: list[str]) -> dict[str, Any]:
    if not words:
        return {"type": "string", "enum": symbols}
    return {
        "anyOf": [
            {"type": "string", "enum": symbols},
            {"type": "string", "enum": words, "description": "words the departments write"},
        ]
    }


def _primitive(kind: str) -> dict[str, Any]:
    if kind == "string":
        return {"type": "string", "maxLength": MAX_TEXT_CHARS}
    if kind == "boolean":
        words = list(dict.fromkeys([*YES, *NO, *(w.lower() for w in (*YES, *NO))]))
        return {"anyOf": [{"type": "boolean"}, {"type": "string", "enum": words}]}
    if kind in ("int", "long"):
        low, high = INT32 if kind == "int" else INT64
        return {"type": "integer", "minimum": low, "maximum": high}
    if kind in ("float", "double"):
        return {"type": "number"}
    if kind == "null":
        return {"type": "null"}
    raise ValueError(f"no JSON form for the Avro type {kind!r}")
