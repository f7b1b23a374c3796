"""Writers for the departments' file formats: CSV in GB18030 / UTF-8 / UTF-8 with BOM, XLSX.

Every writer is byte-for-byte deterministic: CSV rows end in CRLF as Windows programs write
them, and a workbook is re-packed with fixed timestamps (openpyxl stamps the current time
into both the zip entries and docProps/core.xml).
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

from openpyxl import Workbook

from connectors.demo.table import Cell, ExportRow, Table, seconds

EXTRA_CELL = "备用"  # what a stray cell right of the last column usually holds
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def write_table(table: Table, folder: Path, as_of: datetime, mtime: float) -> Path:
    """Write ``table`` into ``folder`` in its department's format; return the file's path.

    ``mtime`` orders the files of a drop folder (oldest first), so it is set explicitly.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / table.file_name
    kind, encoding = table.form
    data = xlsx_bytes(table, as_of) if kind == "xlsx" else csv_bytes(table, encoding or "utf-8")
    tmp = path.with_name(f".{path.name}.tmp")  # a dot-file: the drop folder waits for it
    tmp.write_bytes(data)
    os.utime(tmp, (mtime, mtime))
    os.replace(tmp, path)
    return path


def csv_bytes(table: Table, encoding: str) -> bytes:
    """The table as CSV in ``encoding`` (``utf-8-sig`` writes a byte-order mark)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([c if type(c) is str else _text(c) for c in _cells(table, row)])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(table: Table, as_of: datetime) -> bytes:
    """The table as the first sheet of a workbook; text stays text, numbers and dates typed."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(table.export[:31])
    sheet.append(list(table.header))
    for row in table.rows:
        sheet.append(list(_cells(table, row)))
    buffer = io.BytesIO()
    book.save(buffer)
    return _repack(buffer.getvalue(), as_of)


def _cells(table: Table, row: ExportRow) -> list[Cell]:
    cells = [row.cells.get(name) for name in table.header]
    if row.short:
        cells = cells[:-1]
    if row.extra:
        cells.append(EXTRA_CELL)
    return cells


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return seconds(cell)
    if isinstance(cell, date):
        return f"{cell:%Y-%m-%d}"
    if isinstance(cell, float):
        return f"{cell:.15g}"
    return str(cell)


def _repack(data: bytes, as_of: datetime) -> bytes:
    """The same workbook with fixed entry times and document times (``as_of``, UTC)."""
    stamp = as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            content = source.read(entry)
            if entry.filename == "docProps/core.xml":
                content = _CORE_TIMES.sub(rb"\g<1>" + stamp + rb"\g<3>", content)
            info = zipfile.ZipInfo(entry.filename, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, content)
    return out.getvalue()
