"""Records a department could push over HTTP, written from the Avro types alone."""

from __future__ import annotations

from datetime import date
from typing import Any

from schemas.catalog import Contract
from tests.support.factories import resident_id

ID_NUMBER = resident_id(3, date(1970, 7, 1))
_PLAIN = {"string": "x-1", "int": 2, "long": 3, "boolean": True, "float": 1.5, "double": 2.5}


def valid_record(contract: Contract) -> dict[str, Any]:
    """A record of every required field of ``contract`` with a plain valid value, the
    subject by ``id_number`` when the event is keyed by person."""
    record: dict[str, Any] = {"event_id": "R-1"}
    for spec in contract.schema["fields"]:
        name = spec["name"]
        if name in ("event_id", "department") or "default" in spec:
            continue
        if name == "person_key":
            record["id_number"] = ID_NUMBER
        elif name == "name_masked":
            record["name"] = "张三"
        elif name == "phone_masked":
            record["phone"] = "13812345678"
        else:
            record[name] = value_of(spec["type"], _named(contract.schema))
    return record


def value_of(avro: Any, named: dict[str, Any]) -> Any:
    """A plain valid JSON value of the Avro type ``avro``."""
    if isinstance(avro, list):
        return value_of(next(b for b in avro if b != "null"), named)
    if isinstance(avro, str):
        return value_of(named[avro], named) if avro in named else _PLAIN[avro]
    return _complex(avro, named)


_LOGICAL = {"timestamp-millis": "2024-03-05 10:00", "date": "2024-03-05"}


def _complex(avro: dict[str, Any], named: dict[str, Any]) -> Any:
    if avro.get("logicalType") in _LOGICAL:
        return _LOGICAL[avro["logicalType"]]
    if avro["type"] == "enum":
        return avro["symbols"][0]
    if avro["type"] == "record":
        return {f["name"]: value_of(f["type"], named) for f in avro["fields"] if "default" not in f}
    if avro["type"] == "array":
        return [value_of(avro["items"], named)]
    return value_of(avro["type"], named)


def _named(node: Any, found: dict[str, Any] | None = None) -> dict[str, Any]:
    found = {} if found is None else found
    if isinstance(node, list):
        for item in node:
            _named(item, found)
    elif isinstance(node, dict):
        if node.get("type") in ("record", "enum") and "name" in node:
            found[node["name"]] = node
            if "namespace" in node:
                found[f"{node['namespace']}.{node['name']}"] = node
        for key in ("type", "items"):
            _named(node.get(key), found)
        for item in node.get("fields", []):
            _named(item.get("type"), found)
    return found
