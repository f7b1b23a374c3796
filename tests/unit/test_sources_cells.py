"""Cells as a clerk sees them, and formula-looking text rejected in every adapter (CSV too)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.errors import RecordError
from connectors.sources.cells import cell_text, formula_error, looks_like_formula
from connectors.sources.csv_file import CsvFile
from tests.support.factories import registry_rows, write_registry_csv


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://x","点我")',
        "=1+1",
        "@SUM(A1)",
        "+cmd|' /C calc'!A0",
        "-2+3",
        "\t=1+1",
        "  @A1",
        "- 见附件",
    ],
)
def test_formula_looking_text_is_recognised(text: str) -> None:
    assert looks_like_formula(text)


@pytest.mark.parametrize(
    "text", ["张三", "-5", "+86 138-1234-5678", "-", "--", "", "a=b", "3.5", "-0.25", "2024-03-05"]
)
def test_numbers_phone_numbers_and_plain_text_are_not_formulas(text: str) -> None:
    assert not looks_like_formula(text)


def test_the_formula_error_names_the_field_and_not_the_value() -> None:
    error = formula_error({"编号": "1", "姓名": '=HYPERLINK("x")'})
    assert error is not None
    assert (error.field, error.code) == ("姓名", "formula")
    assert "HYPERLINK" not in error.reason


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("文本", "文本"),
        (42, "42"),
        (42.0, "42"),
        (2.5, "2.5"),
        (0.1 + 0.2, "0.3"),
        (True, "TRUE"),
        (Decimal("12.50"), "12.50"),
        # spreadsheet cells have no time zone
        (datetime.fromisoformat("2024-03-05"), "2024-03-05"),
        (datetime.fromisoformat("2024-03-05T10:30"), "2024-03-05 10:30:00"),
        (datetime(2024, 3, 5, 2, 0, tzinfo=UTC), "2024-03-05T02:00:00+00:00"),
        (date(2024, 3, 5), "2024-03-05"),
        (time(9, 5), "09:05:00"),
    ],
)
def test_typed_cells_read_as_a_clerk_sees_them(value: object, text: str | None) -> None:
    assert cell_text(value, "列") == text


def test_a_number_too_long_for_a_spreadsheet_is_rejected_not_rounded() -> None:
    with pytest.raises(RecordError) as caught:
        cell_text(1.10105195001010e17, "公民身份号码")
    assert caught.value.code == "number_precision"
    assert caught.value.field == "公民身份号码"


def test_binary_cells_are_rejected() -> None:
    with pytest.raises(RecordError) as caught:
        cell_text(b"\x00\x01", "照片")
    assert caught.value.code == "bad_value"


def test_a_csv_row_with_a_formula_cell_carries_a_formula_error(tmp_path: Path) -> None:
    rows = registry_rows(3)
    rows[1].name = '=HYPERLINK("http://evil","张三")'
    path = write_registry_csv(tmp_path / "export.csv", rows)
    records = list(CsvFile(path).records(None))
    assert [r.error.code if r.error else None for r in records] == [None, "formula", None]
    assert records[1].fields["姓名"] == rows[1].name  # kept, so the sealed dead letter has it
