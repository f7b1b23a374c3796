"""The enum words a mapping YAML writes, read from the YAML itself (not from the loader)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from schemas.catalog import Catalog


def enum_words(path: Path, catalog: Catalog) -> Iterator[tuple[str, str, str, str]]:
    """(event, field, word, symbol) for every word of every ``enum`` transform in the file."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    department = spec["department"]
    for export in spec["exports"].values():
        events = [export["event"]] if "event" in export else []
        events += list((export.get("event_by") or {}).get("values", {}).values())
        targets = [(e, f, s) for e in set(events) for f, s in (export.get("fields") or {}).items()]
        for event, fields in (export.get("events") or {}).items():
            targets += [(event, f, s) for f, s in fields.items()]
        for event, field, field_spec in targets:
            catalog.event(department, event)  # the event exists
            for word, symbol in _enum_pairs(field_spec):
                yield event, field, word, symbol


def enum_of(
    catalog: Catalog, department: str, event: str, field: str
) -> tuple[str, tuple[str, ...]] | None:
    """The Avro full name and the symbols of ``field``'s enum type, or None when it is no enum."""
    contract = catalog.event(department, event)
    spec = next(f for f in contract.schema["fields"] if f["name"] == field)
    kinds = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    for kind in kinds:
        if isinstance(kind, dict) and kind.get("type") == "enum":
            namespace = kind.get("namespace", contract.schema["namespace"])
            full = str(kind["name"]) if "." in kind["name"] else f"{namespace}.{kind['name']}"
            return full, tuple(kind["symbols"])
    return None


def _enum_pairs(field_spec: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(field_spec, dict):
        return
    for transform in field_spec.get("transforms") or []:
        if isinstance(transform, dict) and "enum" in transform:
            for word, symbol in transform["enum"].items():
                yield str(word), str(symbol)
