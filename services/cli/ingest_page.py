"""``docs/ingest.md``: what every event's HTTP push takes, field by field, rendered from the
JSON Schemas the API serves (``schemas.ingest_schema``), so the page says what they say."""

from __future__ import annotations

from typing import Any

from schemas.catalog import Catalog
from schemas.enum_words import NO, YES
from schemas.ingest_rules import DATE_FORMS, EPOCH_MS, MAX_TEXT_CHARS, TIME_FORMS, TIME_PATTERN
from schemas.ingest_schema import ingest_schema


def ingest_page(catalog: Catalog, max_records: int) -> str:
    """The page: the common rules, then one table per event, department by department."""
    lines = [
        "# HTTP push: what each event takes",
        "",
        "Written by `python -m services.cli.reference` (`make docs`) from the JSON Schemas the",
        "API serves at `GET /ingest/{department}/{event}/schema` (a test fails when this page",
        "is stale). `GET /ingest/{department}` lists a department's events; both need no token.",
        "How to push, tokens and answers: [connectors.md](connectors.md#http-push) and",
        "[api.md](api.md).",
        "",
        "A body is one JSON object or an array of 1 to "
        f"{max_records} of them (`DATONG_INGEST_MAX_RECORDS`).",
        "The intake and the file mappings read the same forms and words:",
        "",
        f"- **times**: {TIME_FORMS}; as a JSON number, epoch milliseconds "
        f"({EPOCH_MS[0]} to {EPOCH_MS[1]});",
        f"- **dates**: {DATE_FORMS};",
        "- **enums**: the symbol, or one of the contract's words (compared after NFKC and "
        "trimming: `阳性` is `POSITIVE`); the words are listed per field below;",
        f"- **yes/no**: JSON true/false, or {', '.join(YES)} / {', '.join(NO)};",
        f"- **text**: at most {MAX_TEXT_CHARS} characters; never a spreadsheet formula (`=`, "
        "`@`, `+`/`-` not before a number), nor personal data (422, `personal_data`): a "
        "resident ID number anywhere, a phone number as the value or inside free text, a "
        "name as a code (send them as `id_number`, `phone`, `name`);",
        "- **people**: `id_number` instead of `person_key` (check digit verified, turned into "
        "`person_key` at the door), `name` and `phone` instead of `name_masked` and "
        "`phone_masked` (masked at the door); a `name` or `phone` an event does not carry is "
        "accepted and dropped. Nothing raw is stored;",
        "- an unknown field is refused; a field that is not required may be left out or null.",
        "",
    ]
    for department in catalog.departments():
        lines += [f"## {department}", ""]
        for contract in catalog.sources(department):
            schema = ingest_schema(contract)
            lines += [
                f"### `POST /ingest/{department}/{contract.event}` ({contract.name})",
                "",
                str(contract.schema.get("doc", "")),
                "",
                "| field | required | takes | meaning |",
                "| --- | --- | --- | --- |",
            ]
            required = set(schema["required"])
            either = _either(schema)
            docs = {f["name"]: f.get("doc", "") for f in contract.schema["fields"]}
            for name, spec in schema["properties"].items():
                needed = "yes" if name in required else either.get(name, "")
                meaning = docs.get(name) or spec.get("description", "")
                lines.append(f"| `{name}` | {needed} | {_takes(spec)} | {_cell(meaning)} |")
            lines.append("")
    return "\n".join(lines)


def _either(schema: dict[str, Any]) -> dict[str, str]:
    """Fields one of which is required (``id_number`` or ``person_key``)."""
    found: dict[str, str] = {}
    for rule in schema.get("allOf", []):
        names = [r["required"][0] for r in rule.get("anyOf", []) if "required" in r]
        for name in names:
            others = [f"`{n}`" for n in names if n != name]
            found[name] = f"this or {', '.join(others)}"
    return found


def _takes(spec: dict[str, Any]) -> str:
    """What a property takes, in a few words."""
    branches = spec.get("anyOf", [spec])
    nullable = {"type": "null"} in branches
    parts = [_branch(b) for b in branches if b != {"type": "null"}]
    text = " or ".join(p for p in parts if p)
    return _cell(text + (", or null" if nullable else ""))


def _cell(text: str) -> str:
    """``text`` as a table cell: one line, no column breaks."""
    return " ".join(text.split()).replace("|", "\\|")


def _branch(spec: dict[str, Any]) -> str:
    if "anyOf" in spec:
        return _takes({k: v for k, v in spec.items() if k != "description"})
    if "const" in spec:
        return f"`{spec['const']}`"
    if "enum" in spec:
        return ", ".join(f"`{v}`" for v in spec["enum"])
    return _typed(spec)


_SIMPLE = {"boolean": "true, false", "number": "a number"}


def _typed(spec: dict[str, Any]) -> str:
    kind = spec.get("type")
    if kind == "integer":
        if spec.get("maximum") == EPOCH_MS[1]:
            return "epoch milliseconds"
        return f"an integer from {spec['minimum']} to {spec['maximum']}"
    if kind == "object":
        inner = ", ".join(f"`{n}`" for n in spec.get("properties", {}))
        return f"an object of {inner}"
    if kind == "array":
        return f"an array of ({_takes(spec['items'])})"
    return _SIMPLE.get(str(kind)) or _text(spec)


def _text(spec: dict[str, Any]) -> str:
    if "a date:" in spec.get("description", ""):
        return "a date (forms above)"
    if spec.get("pattern") == TIME_PATTERN:
        return "a time (forms above)"
    if "pattern" in spec and spec["pattern"] != r"\S":
        return f"text matching `{spec['pattern']}`"
    return f"text, at most {spec.get('maxLength', MAX_TEXT_CHARS)} characters"
