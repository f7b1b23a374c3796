"""The drop folder picks up CSV, XLSX and JSON lines, and leaves files still being written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from openpyxl import Workbook

from connectors.errors import SourceError
from connectors.sources.csv_file import CsvFile
from connectors.sources.drop_folder import DropFolder, open_file
from connectors.sources.jsonl_file import JsonLinesFile
from connectors.sources.xlsx_file import XlsxFile


def test_csv_xlsx_and_jsonl_files_are_picked_up_oldest_first(tmp_path: Path) -> None:
    for age, name in enumerate(["c.jsonl", "b.XLSX", "a.csv"]):
        path = tmp_path / name
        if name.lower().endswith(".xlsx"):
            Workbook().save(path)
        else:
            path.write_text("编号\n1\n", encoding="utf-8")
        os.utime(path, (1_000_000 - age, 1_000_000 - age))
    for ignored in (".copying.csv", "~$b.xlsx", "notes.txt"):
        (tmp_path / ignored).write_text("x")
    pending = list(DropFolder(tmp_path).pending())
    assert [type(s) for s in pending] == [CsvFile, XlsxFile, JsonLinesFile]
    assert [s.path.name for s in pending] == ["a.csv", "b.XLSX", "c.jsonl"]
    assert all("@" in s.name for s in pending)  # name@digest


def test_a_processed_file_moves_to_done_or_failed(tmp_path: Path) -> None:
    (tmp_path / "a.xlsx").write_bytes(b"not a workbook")
    folder = DropFolder(tmp_path)
    (source,) = folder.pending()
    assert folder.finish(source, ok=False) == tmp_path / "failed" / "a.xlsx"
    assert list(folder.pending()) == []


def test_open_file_chooses_the_adapter_by_suffix(tmp_path: Path) -> None:
    assert isinstance(open_file(tmp_path / "x.xlsx"), XlsxFile)
    assert isinstance(open_file(tmp_path / "x.jsonl"), JsonLinesFile)
    assert isinstance(open_file(tmp_path / "x.csv", "gb18030"), CsvFile)
    assert isinstance(open_file(tmp_path / "x.txt"), CsvFile)


def test_an_xls_workbook_is_picked_up_to_be_refused_with_save_as_xlsx(tmp_path: Path) -> None:
    (tmp_path / "核酸.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    folder = DropFolder(tmp_path)
    (source,) = folder.pending()
    with pytest.raises(SourceError, match=r"\(\.xls\) is not read; open it and save it as \.xlsx"):
        list(source.records(None))
    assert folder.finish(source, ok=False) == tmp_path / "failed" / "核酸.xls"
