"""XLSX exports: the first sheet of a workbook, its first row naming the columns.

Read with openpyxl in read-only mode (rows stream from the file, so a large export does not
sit in memory) and without cached formula results: a formula cell reads as its ``=...``
text and is rejected like any other formula-looking cell (CSV injection defence).
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from connectors.base import SourceRecord
from connectors.errors import RecordError, SourceError
from connectors.sources.cells import cell_text, formula_error, length_error

# What a damaged or foreign file raises inside openpyxl (zip, XML, missing parts).
_UNREADABLE = (zipfile.BadZipFile, InvalidFileException, ParseError, KeyError, OSError, EOFError)


class XlsxFile:
    """One workbook; positions are spreadsheet row numbers minus one (the header is row 0)."""

    def __init__(self, path: Path, name: str | None = None) -> None:
        self.path = path
        self.name = name or str(path)

    def header(self) -> list[str]:
        """The first row's column names, read without the rows (to judge the whole file)."""
        with closing(self._sheet()) as sheet:  # closing it closes the workbook at once
            header, _rows = next(sheet)
            return header

    def records(self, after: int | None = None) -> Iterator[SourceRecord]:
        """Yield the data rows after position ``after``; blank rows are skipped."""
        for header, rows in self._sheet():
            try:
                for position, values in enumerate(rows, start=1):
                    if position > (after or 0) and any(v not in (None, "") for v in values):
                        yield self._record(header, values, position)
            except _UNREADABLE as exc:
                raise SourceError(f"{self.path}: the workbook is damaged: {exc}") from exc

    def _sheet(self) -> Generator[tuple[list[str], Iterator[Sequence[object]]]]:
        """The first sheet's header and its remaining rows, once; the workbook is closed
        when the caller is done with them."""
        try:
            with warnings.catch_warnings():
                # e.g. "Workbook contains no default style": harmless for reading values.
                warnings.simplefilter("ignore", UserWarning)
                workbook = load_workbook(self.path, read_only=True, data_only=False)
        except _UNREADABLE as exc:
            raise SourceError(f"{self.path}: not a readable XLSX workbook: {exc}") from exc
        try:
            if not workbook.worksheets:
                raise SourceError(f"{self.path}: the workbook has no sheet")
            sheet: Any = workbook.worksheets[0]
            sheet.reset_dimensions()  # some writers store a wrong sheet size; read every row
            rows = sheet.iter_rows(min_row=1, values_only=True)
            try:
                header = _header(self.path, next(rows, ()))
            except _UNREADABLE as exc:
                raise SourceError(f"{self.path}: the workbook is damaged: {exc}") from exc
            yield header, rows
        finally:
            workbook.close()

    def _record(self, header: list[str], values: Sequence[object], position: int) -> SourceRecord:
        # Every cell is kept, extras and bad ones included, so the sealed dead letter holds
        # the whole row for a replay; the first problem found is the record's error.
        fields: dict[str, str | None] = dict.fromkeys(header)
        errors: list[RecordError] = []
        extra = 0
        for index, value in enumerate(values):
            if index >= len(header):
                if value in (None, ""):
                    continue
                extra += 1
            name = header[index] if index < len(header) else f"(column {index + 1})"
            try:
                fields[name] = cell_text(value, name)
            except RecordError as bad:
                errors.append(bad)
        if extra:
            reason = f"has {extra} filled cells right of the {len(header)} named columns"
            errors.insert(0, RecordError("(row)", reason, "extra_columns"))
        errors += [e for n, v in fields.items() if (e := length_error(n, v))]
        error = errors[0] if errors else formula_error(fields)
        return SourceRecord(self.name, position, fields, error)


def _header(path: Path, values: Sequence[object]) -> list[str]:
    header = [str(v).strip() if v is not None else "" for v in values]
    while header and not header[-1]:
        header.pop()  # trailing empty cells a spreadsheet keeps after deleting columns
    if not any(header):
        raise SourceError(f"{path}: the first row of the first sheet must name the columns")
    return header
