"""XLSX workbooks written for the source tests, as a clerk's spreadsheet program would."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook


def write_xlsx(path: Path, rows: Sequence[Sequence[object]], second_sheet: bool = False) -> Path:
    """A workbook whose first sheet holds ``rows`` (the first one being the header)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    if second_sheet:
        workbook.create_sheet("其他").append(["不读", "这页"])
    workbook.save(path)
    return path
