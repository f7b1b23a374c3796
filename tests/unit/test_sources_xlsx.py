"""XLSX exports: first sheet, header row, typed cells as text, formulas and damage rejected."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from connectors.base import SourceRecord
from connectors.errors import SourceError
from connectors.mappings import MAPPINGS
from connectors.sources.xlsx_file import XlsxFile
from tests.support.factories import REGISTRY_HEADER, registry_rows
from tests.support.workbooks import write_xlsx

HMAC_KEY = b"k" * 32


def registry_xlsx(path: Path, count: int) -> Path:
    """A registry export as a clerk saves it from Excel: dates as date cells."""
    rows: list[list[object]] = [list(REGISTRY_HEADER)]
    for row in registry_rows(count):
        cells: list[object] = list(row.cells())
        cells[5] = date.fromisoformat(str(cells[5]))  # 出生日期 as a date cell
        cells[11] = datetime.fromisoformat(str(cells[11]))  # 办理时间 as a date-time cell
        rows.append(cells)
    return write_xlsx(path, rows)


def codes(records: list[SourceRecord]) -> list[str | None]:
    return [r.error.code if r.error else None for r in records]


def test_a_registry_workbook_maps_like_the_csv_export(tmp_path: Path) -> None:
    path = registry_xlsx(tmp_path / "户籍.xlsx", 5)
    records = list(XlsxFile(path).records())
    assert codes(records) == [None] * 5
    assert [r.position for r in records] == [1, 2, 3, 4, 5]
    mapping = MAPPINGS["public-security"](HMAC_KEY)
    events = [mapping(r.fields) for r in records]
    assert [e.event for e in events] == ["resident-registered"] * 5
    assert records[0].fields["出生日期"] is not None
    assert len(str(records[0].fields["出生日期"])) == 10  # YYYY-MM-DD


def test_only_the_first_sheet_is_read_and_blank_rows_are_skipped(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "a.xlsx", [["编号", "数量"], [1, 2.0], [], [None, None], [3, 4.5]], True
    )
    records = list(XlsxFile(path).records())
    assert [(r.position, dict(r.fields)) for r in records] == [
        (1, {"编号": "1", "数量": "2"}),
        (4, {"编号": "3", "数量": "4.5"}),
    ]


def test_resuming_after_a_position_skips_the_rows_before_it(tmp_path: Path) -> None:
    path = registry_xlsx(tmp_path / "户籍.xlsx", 5)
    assert [r.position for r in XlsxFile(path).records(3)] == [4, 5]


def test_formula_cells_and_formula_looking_text_are_rejected_per_row(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "f.xlsx",
        [["编号", "姓名"], ["1", "张三"], ["2", '=HYPERLINK("http://x","李四")'], ["3", "@A1"]],
    )
    records = list(XlsxFile(path).records())
    assert codes(records) == [None, "formula", "formula"]
    assert records[1].error is not None and records[1].error.field == "姓名"


def test_an_id_number_typed_as_a_number_is_rejected_not_rounded(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "n.xlsx", [["公民身份号码"], [110105195001010012.0]])
    (record,) = XlsxFile(path).records()
    assert record.error is not None and record.error.code == "number_precision"


def test_cells_right_of_the_header_are_extra_columns(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "x.xlsx", [["编号", "姓名"], ["1", "张三", "多余"]])
    (record,) = XlsxFile(path).records()
    assert record.error is not None and record.error.code == "extra_columns"
    assert record.fields["(column 3)"] == "多余"  # sealed with the row for a replay


def test_an_oversized_cell_is_rejected(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "o.xlsx", [["编号", "住址"], ["1", "长" * 5000]])
    (record,) = XlsxFile(path).records()
    assert record.error is not None
    assert (record.error.code, record.error.field) == ("too_long", "住址")


def test_a_truncated_workbook_is_a_source_error(tmp_path: Path) -> None:
    path = registry_xlsx(tmp_path / "whole.xlsx", 20)
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(SourceError, match="not a readable XLSX"):
        list(XlsxFile(cut).records())


def test_a_csv_renamed_to_xlsx_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("编号,姓名\n1,张三\n", encoding="utf-8")
    with pytest.raises(SourceError):
        list(XlsxFile(path).records())


def test_a_workbook_without_a_header_row_is_a_source_error(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "empty.xlsx", [])
    with pytest.raises(SourceError, match="name the columns"):
        list(XlsxFile(path).records())
