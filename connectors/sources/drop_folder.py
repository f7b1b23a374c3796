"""A drop folder: departments copy exports in; each file ends in ``done/`` or ``failed/``.

CSV (``*.csv``), XLSX (``*.xlsx``) and JSON lines (``*.jsonl``) are picked up; an Excel
97-2003 workbook (``*.xls``) is picked up too, to be refused (it ends in ``failed/`` with
"save it as .xlsx" rather than waiting unnoticed). A file is
identified by its name and a digest of its content, so its checkpoint survives a restart
but never applies to a different file that later arrives under the same name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from connectors.base import SourceRecord
from connectors.errors import SourceError
from connectors.sources.csv_file import CsvFile
from connectors.sources.jsonl_file import JsonLinesFile
from connectors.sources.xlsx_file import XlsxFile

SUFFIXES = (".csv", ".xlsx", ".jsonl", ".xls")
DONE, FAILED = "done", "failed"
# Dot-files are still being copied (rsync, scp); "~$" files are the lock files Excel and
# WPS keep beside a workbook while it is open.
_NOT_READY = (".", "~$")


def refuse_old_excel(path: Path) -> None:
    """SourceError for an Excel 97-2003 workbook (.xls): no maintained reader serves it
    safely, and the program that wrote it saves .xlsx in one step."""
    if path.suffix.lower() == ".xls":
        raise SourceError(
            f"{path}: an Excel 97-2003 workbook (.xls) is not read; open it and save it as "
            ".xlsx (Excel Workbook) or CSV UTF-8"
        )


@dataclass(frozen=True)
class OldExcelFile:
    """An ``.xls`` workbook: a source that refuses itself when read (SourceError)."""

    path: Path
    name: str

    def header(self) -> list[str]:
        """Never: the workbook is refused as a whole."""
        refuse_old_excel(self.path)
        return []

    def records(self, after: int | None = None) -> Iterator[SourceRecord]:
        """Never: the workbook is refused as a whole."""
        refuse_old_excel(self.path)
        yield from ()


FileSource = CsvFile | XlsxFile | JsonLinesFile | OldExcelFile


def open_file(path: Path, encoding: str | None = None, name: str | None = None) -> FileSource:
    """The source for an export file, chosen by its suffix (CSV when unknown; an ``.xls``
    workbook is a source that refuses to be read).

    ``encoding`` applies to CSV only: XLSX declares its own and JSON lines are UTF-8.
    """
    suffix = path.suffix.lower()
    if suffix == ".xls":
        return OldExcelFile(path, name or str(path))
    if suffix == ".xlsx":
        return XlsxFile(path, name=name)
    if suffix == ".jsonl":
        return JsonLinesFile(path, name=name)
    return CsvFile(path, encoding, name=name)


class DropFolder:
    """Finds ready export files and moves each one out once it has been published."""

    def __init__(self, path: Path, encoding: str | None = None) -> None:
        if not path.is_dir():
            raise SourceError(f"{path}: the drop folder does not exist")
        self.path = path
        self.encoding = encoding
        for sub in (DONE, FAILED):
            (path / sub).mkdir(exist_ok=True)

    def pending(self) -> Iterator[FileSource]:
        """Files waiting in the folder, oldest first; files still being written are left."""
        files = [
            f
            for f in self.path.iterdir()
            if f.suffix.lower() in SUFFIXES and f.is_file() and not f.name.startswith(_NOT_READY)
        ]
        for path in sorted(files, key=lambda f: (f.stat().st_mtime, f.name)):
            yield open_file(path, self.encoding, name=f"{path.name}@{_digest(path)}")

    def finish(self, source: FileSource, ok: bool) -> Path:
        """Move a processed file to ``done/`` or ``failed/`` atomically (same filesystem)."""
        target_dir = self.path / (DONE if ok else FAILED)
        target = target_dir / source.path.name
        if target.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            target = target_dir / f"{source.path.stem}.{stamp}{source.path.suffix}"
        os.replace(source.path, target)
        return target


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
