"""Cell values as a department clerk sees them, and the formula (CSV injection) defence.

Shared by every adapter that hands the mapping text: CSV, XLSX, JSON lines, SQL tables.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal

from connectors.errors import RecordError

MAX_FIELD_CHARS = 4096
# Spreadsheets keep 15 significant digits: a longer number (an ID number typed into a
# numeric cell) has already been rounded, and its digits can no longer be trusted.
MAX_EXACT_NUMBER = 10**15
# A sign followed by digits, spaces and separators only is a number or a phone number
# (-5, +86 138-1234-5678), not a formula.
_SIGNED_NUMBER = re.compile(r"^[\d\s.,()\-]*$")
_FORMULA_START = frozenset("=@+-")


def looks_like_formula(value: str) -> bool:
    """True for text a spreadsheet would run as a formula (OWASP "CSV injection").

    ``=`` and ``@`` always start one; ``+`` and ``-`` do unless what follows is a number.
    Leading whitespace is ignored, because tab and carriage return are a known way to
    slip a formula past a check of the first character.
    """
    text = value.lstrip()
    if not text:
        return False
    if text[0] in "=@":
        return True
    return text[0] in "+-" and not _SIGNED_NUMBER.match(text[1:])


def formula_error(fields: Mapping[str, str | None]) -> RecordError | None:
    """A RecordError (code ``formula``) naming the first formula-looking field, or None."""
    for name, value in fields.items():
        # The first character settles almost every cell without a call: only a formula
        # start or whitespace (which lstrip would skip) needs the full check.
        if (
            value
            and (value[0] in _FORMULA_START or value[0].isspace())
            and looks_like_formula(value)
        ):
            return RecordError(
                name,
                "starts like a spreadsheet formula (=, +, -, @); send the value as plain text",
                "formula",
            )
    return None


def cell_text(value: object, field: str) -> str | None:
    """A typed cell (XLSX, SQL) as text: dates ``YYYY-MM-DD``, whole numbers without ``.0``.

    RecordError when the value cannot be shown faithfully (a rounded long number, bytes).
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _float_text(value, field)
    if isinstance(value, datetime):
        return _datetime_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raise RecordError(field, "holds binary data, expected text or a number", "bad_value")
    if isinstance(value, Decimal):
        return format(value, "f")
    # int, date, time, timedelta, UUID: their own text is what a clerk sees
    return value.isoformat() if isinstance(value, date | time) else str(value)


def length_error(name: str, value: str | None) -> RecordError | None:
    """RecordError (code ``too_long``) when ``value`` is over MAX_FIELD_CHARS."""
    if value is not None and len(value) > MAX_FIELD_CHARS:
        return RecordError(
            name, f"is {len(value)} characters, at most {MAX_FIELD_CHARS}", "too_long"
        )
    return None


def _float_text(value: float, field: str) -> str:
    if not math.isfinite(value):
        raise RecordError(field, "is not a finite number", "bad_value")
    if abs(value) >= MAX_EXACT_NUMBER:
        raise RecordError(
            field,
            "is a number of 16 or more digits, which the spreadsheet has rounded; "
            "format the column as text and export again",
            "number_precision",
        )
    if value.is_integer():
        return str(int(value))
    return f"{value:.15g}"


def _datetime_text(value: datetime) -> str:
    if value.tzinfo is not None:
        return value.isoformat()
    if value.time() == time(0):
        return value.date().isoformat()  # a date cell: Excel stores dates as midnight
    return value.isoformat(sep=" ", timespec="seconds" if not value.microsecond else "auto")
