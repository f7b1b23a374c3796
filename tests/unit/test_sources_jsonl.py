"""JSON-lines exports: one object per line, values as text, bad lines rejected by number."""

from __future__ import annotations

import json
from pathlib import Path

from connectors.base import SourceRecord
from connectors.mappings import MAPPINGS
from connectors.sources.jsonl_file import JsonLinesFile
from tests.support.factories import REGISTRY_HEADER, registry_rows

HMAC_KEY = b"k" * 32


def write_lines(path: Path, lines: list[str], bom: bool = False) -> Path:
    data = "\n".join(lines).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def registry_lines(count: int) -> list[str]:
    return [
        json.dumps(dict(zip(REGISTRY_HEADER, row.cells(), strict=True)), ensure_ascii=False)
        for row in registry_rows(count)
    ]


def codes(records: list[SourceRecord]) -> list[str | None]:
    return [r.error.code if r.error else None for r in records]


def test_registry_lines_map_like_the_csv_export(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "reg.jsonl", registry_lines(4), bom=True)
    records = list(JsonLinesFile(path).records())
    assert codes(records) == [None] * 4
    mapping = MAPPINGS["public-security"](HMAC_KEY)
    assert [mapping(r.fields).event for r in records] == ["resident-registered"] * 4


def test_positions_are_line_numbers_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", ['{"a": 1}', "", '{"a": 2}', "   ", '{"a": 3}'])
    records = list(JsonLinesFile(path).records())
    assert [r.position for r in records] == [1, 3, 5]
    assert [r.position for r in JsonLinesFile(path).records(3)] == [5]


def test_values_are_handed_to_the_mapping_as_text(tmp_path: Path) -> None:
    line = '{"n": 42, "f": 2.0, "g": 2.5, "b": true, "z": null, "s": "张三"}'
    (record,) = JsonLinesFile(write_lines(tmp_path / "v.jsonl", [line])).records()
    assert dict(record.fields) == {
        "n": "42",
        "f": "2",
        "g": "2.5",
        "b": "TRUE",
        "z": None,
        "s": "张三",
    }


def test_a_line_that_is_not_json_or_not_an_object_is_rejected_naming_the_line(
    tmp_path: Path,
) -> None:
    lines = ['{"a": 1}', '{"a": ', "[1, 2]", '"text"', '{"a": 5}']
    records = list(JsonLinesFile(write_lines(tmp_path / "b.jsonl", lines)).records())
    assert codes(records) == [None, "bad_json", "not_object", "not_object", None]
    assert records[1].error is not None and "line 2" in records[1].error.reason
    assert records[2].error is not None and "array" in records[2].error.reason
    assert records[1].raw == b'{"a": '  # sealed for a replay


def test_nested_values_formulas_and_bad_bytes_are_rejected_per_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"a": {"b": 1}}\n{"name": "=1+1"}\n{"name": "\xff\xfe"}\n{"name": "ok"}\n')
    records = list(JsonLinesFile(path).records())
    assert codes(records) == ["nested", "formula", "bad_encoding", None]


def test_a_truncated_last_line_is_rejected_and_the_others_are_kept(tmp_path: Path) -> None:
    lines = registry_lines(3)
    path = write_lines(tmp_path / "t.jsonl", [*lines[:2], lines[2][: len(lines[2]) // 2]])
    assert codes(list(JsonLinesFile(path).records())) == [None, None, "bad_json"]
