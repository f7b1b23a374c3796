"""CSV exports as Chinese department systems write them: UTF-8, UTF-8 with BOM, or GB18030."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from pathlib import Path

from connectors.base import SourceRecord
from connectors.errors import RecordError, SourceError
from connectors.sources.cells import formula_error

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
# A cell that starts as ``formula_error`` looks further at: a formula start or whitespace
# (``\s`` is ``str.isspace``'s set) at the line's start or right after a comma.
_CELL_START = re.compile(r"(?:^|,)[\s=@+\-]")
MAX_FIELD_CHARS = 4096


def detect_encoding(head: bytes) -> str:
    """BOM means UTF-8; a header line that is valid UTF-8 means UTF-8; otherwise GB18030.

    Spreadsheet programs on Chinese Windows save CSV as GB18030 (GBK) without a marker;
    GBK bytes of Chinese text are almost never valid UTF-8, so the header decides.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    first_line = head.split(b"\n", 1)[0]
    try:
        first_line.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


class CsvFile:
    """One CSV file; positions are 1-based data row numbers (the header is row 0)."""

    def __init__(self, path: Path, encoding: str | None = None, name: str | None = None) -> None:
        if encoding is not None and encoding not in ENCODINGS:
            raise SourceError(f"{path}: encoding {encoding!r} is not one of {ENCODINGS}")
        self.path = path
        self.name = name or str(path)
        self.encoding = encoding

    def header(self) -> list[str]:
        """The header row's column names, read without the rows (to judge the whole file)."""
        try:
            with open(self.path, "rb") as handle:
                first = handle.readline()
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot read: {exc.strerror}") from exc
        encoding = self.encoding or detect_encoding(first[:4096])
        if encoding == "utf-8-sig":
            first = first.removeprefix(codecs.BOM_UTF8)
            encoding = "utf-8"
        if not first:
            raise SourceError(f"{self.path}: the file is empty, expected a header row")
        return _decode_header(self.path, first, encoding)

    def records(self, after: int | None = None) -> Iterator[SourceRecord]:
        """Yield data rows after position ``after``; undecodable rows carry an error."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot read: {exc.strerror}") from exc
        encoding = self.encoding or detect_encoding(data[:4096])
        if encoding == "utf-8-sig":
            data = data[len(codecs.BOM_UTF8) :]
            encoding = "utf-8"
        lines = data.splitlines(keepends=True)
        if not lines:
            raise SourceError(f"{self.path}: the file is empty, expected a header row")
        header = _decode_header(self.path, lines[0], encoding)
        yield from self._rows(header, lines[1:], encoding, after or 0)

    def _rows(
        self,
        header: list[str],
        lines: list[bytes],
        encoding: str,
        after: int,
    ) -> Iterator[SourceRecord]:
        position = 0
        pending: list[str] = []
        for raw in lines:
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                position += 1
                if position > after:
                    reason = f"is not valid {encoding} (byte {exc.start} of the line)"
                    yield self._bad_row(position, reason, "bad_encoding", raw)
                continue
            if pending or _open_quote(text):
                pending.append(text)
                if _open_quote("".join(pending)):
                    continue  # a quoted field spans lines: keep reading
                row_text, pending = "".join(pending), []
            else:
                row_text = text  # the common case, a row on one line: nothing to join
            if not row_text.strip():
                continue
            position += 1
            if position > after:
                yield self._record(header, row_text, position)
        if pending and "".join(pending).strip():
            position += 1
            if position > after:
                reason = "ends inside a quoted field (truncated file?)"
                yield self._bad_row(position, reason, "truncated")

    def _bad_row(self, position: int, reason: str, code: str, raw: bytes = b"") -> SourceRecord:
        """A row that cannot be read as a row at all: rejected as a whole."""
        return SourceRecord(self.name, position, {}, RecordError("(row)", reason, code), raw=raw)

    def _record(self, header: list[str], row_text: str, position: int) -> SourceRecord:
        if '"' in row_text:
            values = next(csv.reader([row_text]), [])
            maybe_formula = True
        else:
            # Without quotes the csv module only splits at commas; a line's one terminator
            # can only be at its end. A new reader per row cost more than the split.
            line = row_text.rstrip("\r\n")
            values = line.split(",")
            # Every cell starts at the line's start or after a comma: one search of the
            # line tells whether any cell can look like a formula, which most rows settle.
            maybe_formula = _CELL_START.search(line) is not None
        if len(values) > len(header):
            return SourceRecord(
                self.name,
                position,
                {},
                RecordError(
                    "(row)",
                    f"has {len(values)} columns, the header has {len(header)}",
                    "extra_columns",
                ),
            )
        # No field is longer than its line: only a long line needs each field measured.
        if len(row_text) > MAX_FIELD_CHARS and max(map(len, values)) > MAX_FIELD_CHARS:
            return self._too_long(header, values, position)
        fields: dict[str, str | None]
        if len(values) == len(header):  # the usual row: one dict, built once
            fields = dict(zip(header, values, strict=True))
        else:  # a short row keeps None at its end
            fields = dict.fromkeys(header)
            fields.update(zip(header, values, strict=False))
        return SourceRecord(
            self.name, position, fields, formula_error(fields) if maybe_formula else None
        )

    def _too_long(self, header: list[str], values: list[str], position: int) -> SourceRecord:
        """The record of a row with an oversized field, naming the first one."""
        name, value = next(
            (n, v) for n, v in zip(header, values, strict=False) if len(v) > MAX_FIELD_CHARS
        )
        return SourceRecord(
            self.name,
            position,
            {},
            RecordError(name, f"is {len(value)} characters, at most {MAX_FIELD_CHARS}", "too_long"),
        )


def _decode_header(path: Path, line: bytes, encoding: str) -> list[str]:
    try:
        text = line.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: the header row is not valid {encoding}") from exc
    header = [name.strip() for name in next(csv.reader([text]), [])]
    if not any(header):
        raise SourceError(f"{path}: the first row must name the columns")
    return header


def _open_quote(text: str) -> bool:
    return text.count('"') % 2 == 1
