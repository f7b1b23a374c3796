"""Realistic mistakes in about 1.5% of each export's rows, every one counted.

A dirty row is a spoiled copy of a clean row placed right after it (a clerk's second,
botched entry), so every clean record still arrives and the counts stay exact: each file
ends with its clean rows published, its dirty rows dead-lettered under the reason they
were spoiled for, and its unresolvable addresses parked. Reasons are the dead-letter codes.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from connectors.demo.table import Cell, ExportRow, Table
from connectors.identity import check_digit

DIRT_SHARE = 0.015
MIN_ROWS = 20  # a file this long has at least one dirty row, however small the share
INVALID_ID = "invalid_id"
BAD_DATE = "bad_date"
MISSING_FIELD = "missing_field"
FORMULA = "formula"
BAD_ENUM = "bad_enum"
EXTRA_COLUMNS = "extra_columns"
UNRESOLVED = "unresolved_address"
# Dirt that ends as a parked record instead of a dead letter.
PARKED = frozenset({UNRESOLVED})

FORMULAS = ("=1+1", '=HYPERLINK("http://example.invalid","详情")', "@SUM(1,1)")
_BUILDING = re.compile(r"(\d+)(号楼|栋|#)|(?<=\s)(\d+)(?=-\d+-\d+)")


def kinds_for(table: Table) -> list[str]:
    """The mistakes that can happen in ``table``, in a fixed order."""
    kinds = [BAD_DATE, MISSING_FIELD]
    if table.id_column:
        kinds.append(INVALID_ID)
    if table.text_column:
        kinds.append(FORMULA)
    if table.address_column:
        kinds.append(UNRESOLVED)
    if table.enum_column:
        kinds.append(BAD_ENUM)
    kinds.append(EXTRA_COLUMNS)
    return kinds


def soil(table: Table, rng: random.Random, share: float = DIRT_SHARE) -> None:
    """Insert ``round(share * rows)`` spoiled copies (at least one from MIN_ROWS rows)."""
    clean = list(table.rows)
    count = max(round(len(clean) * share), 1 if len(clean) >= MIN_ROWS else 0)
    if not count:
        return
    kinds = kinds_for(table)
    start = rng.randrange(len(kinds))
    spoiled: dict[int, list[ExportRow]] = {}
    filled = {
        kind: [i for i, row in enumerate(clean) if row.cells.get(column)]
        for kind, column in ((INVALID_ID, table.id_column), (UNRESOLVED, table.address_column))
        if column
    }
    for n in range(count):
        kind = kinds[(start + n) % len(kinds)]
        index = _pick(filled.get(kind), len(clean), rng)
        if index is None:
            kind, index = BAD_DATE, rng.randrange(len(clean))
        spoiled.setdefault(index, []).append(_spoil(table, clean[index], kind, rng))
    table.rows = [r for i, row in enumerate(clean) for r in (row, *spoiled.get(i, []))]


def _pick(filled: list[int] | None, rows: int, rng: random.Random) -> int | None:
    """A row the mistake can happen in: one whose ID or address cell is filled, if needed."""
    if filled is None:
        return rng.randrange(rows)
    return rng.choice(filled) if filled else None


def _spoil(table: Table, row: ExportRow, kind: str, rng: random.Random) -> ExportRow:
    cells: dict[str, Cell] = dict(row.cells)
    if kind == INVALID_ID and table.id_column:
        cells[table.id_column] = wrong_check_digit(str(cells[table.id_column]))
    elif kind == BAD_DATE:
        cells[table.time_column] = impossible_date(cells[table.time_column], rng)
    elif kind == FORMULA and table.text_column:
        cells[table.text_column] = rng.choice(FORMULAS)
    elif kind == BAD_ENUM and table.enum_column:
        cells[table.enum_column] = table.unknown_word
    elif kind == UNRESOLVED and table.address_column:
        cells[table.address_column] = no_such_building(str(cells[table.address_column]))
    if kind == BAD_ENUM:
        kind = table.unknown_code  # a yes/no column calls its unknown word bad_bool
    return replace(
        row, cells=cells, dirt=kind, short=kind == MISSING_FIELD, extra=kind == EXTRA_COLUMNS
    )


def wrong_check_digit(id_number: str) -> str:
    """The ID number with a check character that does not match (a typo in the last place)."""
    right = check_digit(id_number[:17])
    wrong = "0123456789X"[("0123456789X".index(right) + 1) % 11]
    return id_number[:17] + wrong


def impossible_date(value: Cell, rng: random.Random) -> str:
    """A 30 February, 31 April or 31 June, keeping the time of day when the cell had one."""
    text = str(value or "")
    year = text[:4] if text[:4].isdigit() else "2024"
    month, day = rng.choice((("02", "30"), ("04", "31"), ("06", "31"), ("02", "29")))
    if (month, day) == ("02", "29"):
        year = "2023"  # not a leap year
    clock = re.search(r"\d{1,2}:\d{2}(:\d{2})?", text)
    return f"{year}-{month}-{day}" + (f" {clock.group(0)}" if clock else "")


def no_such_building(address: str) -> str:
    """The same address with a building number no community here has (9<n>9, e.g. 939)."""

    def swap(match: re.Match[str]) -> str:
        if match.group(1):
            return f"9{match.group(1)}9{match.group(2)}"
        return f"9{match.group(3)}9"

    return _BUILDING.sub(swap, address, count=1)
