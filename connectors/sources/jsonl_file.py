"""JSON-lines exports: one JSON object per line, UTF-8 (RFC 8259), a BOM tolerated.

Values are handed to the mapping as text, exactly as the CSV and XLSX adapters hand theirs
(strings as they are, whole numbers without ``.0``, ``TRUE``/``FALSE``, null as missing),
so one department mapping reads every format. Nested objects and arrays are rejected per
record: department mappings map flat exports.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from connectors.base import SourceRecord
from connectors.errors import RecordError, SourceError
from connectors.sources.cells import cell_text, formula_error, length_error


class JsonLinesFile:
    """One JSON-lines file; positions are 1-based line numbers (blank lines are skipped)."""

    def __init__(self, path: Path, name: str | None = None) -> None:
        self.path = path
        self.name = name or str(path)

    def records(self, after: int | None = None) -> Iterator[SourceRecord]:
        """Yield the objects on lines after ``after``; a bad line carries its error."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot read: {exc.strerror}") from exc
        data = data.removeprefix(codecs.BOM_UTF8)
        # Only \n ends a line: a JSON string may not hold a raw newline, but \r\n files exist.
        for number, raw in enumerate(data.split(b"\n"), start=1):
            if number > (after or 0) and raw.strip():
                yield self._record(number, raw)

    def _record(self, number: int, raw: bytes) -> SourceRecord:
        parsed = _parse(number, raw)
        if isinstance(parsed, RecordError):
            return SourceRecord(self.name, number, {}, parsed, raw=raw)
        fields, error = _fields(parsed)
        return SourceRecord(self.name, number, fields, error, raw=raw)


def _parse(number: int, raw: bytes) -> dict[str, object] | RecordError:
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        reason = f"line {number} is not valid UTF-8 (byte {exc.start})"
        return RecordError("(line)", reason, "bad_encoding")
    except json.JSONDecodeError as exc:
        # exc.msg names the syntax problem only, never the text around it.
        reason = f"line {number} is not JSON: {exc.msg} at column {exc.colno}"
        return RecordError("(line)", reason, "bad_json")
    if not isinstance(value, dict):
        return RecordError(
            "(line)", f"line {number} is a JSON {_kind(value)}, expected an object", "not_object"
        )
    return value


def _fields(obj: Mapping[str, object]) -> tuple[dict[str, str | None], RecordError | None]:
    fields: dict[str, str | None] = {}
    errors: list[RecordError] = []
    for name, value in obj.items():
        if isinstance(value, dict | list):
            reason = f"is a JSON {_kind(value)}, expected a string, number, boolean or null"
            errors.append(RecordError(name, reason, "nested"))
            continue
        try:
            fields[name] = cell_text(value, name)
        except RecordError as bad:
            errors.append(bad)
    errors += [e for n, v in fields.items() if (e := length_error(n, v))]
    return fields, errors[0] if errors else formula_error(fields)


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"
