"""An export file before it is written: its header, rows, and what each clean row becomes.

The department tables (``tables_people``, ``tables_places``) fill these from the population;
``dirt`` spoils a few rows; ``exports`` writes them in the department's file format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from connectors.demo.model import Dwelling

Cell = str | int | float | datetime | date | None

# The formats department systems write: the registry's GB18030 CSV, other systems' UTF-8
# CSV with or without a byte-order mark, and spreadsheets.
CSV_GB18030 = ("csv", "gb18030")
CSV_UTF8 = ("csv", "utf-8")
CSV_UTF8_BOM = ("csv", "utf-8-sig")
XLSX = ("xlsx", None)


@dataclass
class ExportRow:
    """One row of a demo export; ``event`` is what a clean row is published as (kebab-case)."""

    cells: dict[str, Cell]
    event: str
    dirt: str | None = None  # the reason this row was spoiled, None for a clean row
    short: bool = False  # written without its last cell (a column missing from the row)
    extra: bool = False  # written with one cell more than the header


@dataclass
class Table:
    """One export file of one department.

    ``time_column`` is the required event-time column and comes last in ``header``, so a
    row cut short loses a required cell. The other ``*_column`` attributes tell ``dirt``
    where realistic mistakes can happen; None where the export has no such column.
    """

    department: str
    export: str  # the export's Chinese name, as in EXPORTS.md
    stamp: str  # YYYYMMDD (or YYYYMM) of the file name
    form: tuple[str, str | None]
    header: tuple[str, ...]
    time_column: str
    rows: list[ExportRow] = field(default_factory=list)
    id_column: str | None = None
    text_column: str | None = None
    enum_column: str | None = None
    unknown_word: str = "待定"
    unknown_code: str = "bad_enum"  # the dead-letter code of ``unknown_word``
    address_column: str | None = None

    @property
    def header_set(self) -> frozenset[str]:
        """The header's column names."""
        return _names(self.header)

    @property
    def file_name(self) -> str:
        """``<export>_<stamp>.<csv|xlsx>``."""
        return f"{self.export}_{self.stamp}.{self.form[0]}"

    def add(self, event: str, cells: Mapping[str, Cell]) -> None:
        """Append a clean row; every cell must belong to the header."""
        unknown = cells.keys() - self.header_set
        if unknown:
            raise ValueError(f"{self.export}: cells outside the header: {sorted(unknown)}")
        self.rows.append(ExportRow(dict(cells), event))


def columns(names: str) -> tuple[str, ...]:
    """A header from its column names separated by spaces (no column name has a space)."""
    return tuple(names.split())


@lru_cache(maxsize=64)
def _names(header: tuple[str, ...]) -> frozenset[str]:
    return frozenset(header)


def stamp_of(moment: datetime) -> str:
    """The date part of a file name: 20240603."""
    return f"{moment:%Y%m%d}"


@lru_cache(maxsize=8192)
def seconds(moment: datetime) -> str:
    """``2024-03-05 10:00:00``, the way most platforms export a time."""
    return f"{moment:%Y-%m-%d %H:%M:%S}"


@lru_cache(maxsize=8192)
def minutes(moment: datetime) -> str:
    """``2024-03-05 10:00``."""
    return f"{moment:%Y-%m-%d %H:%M}"


def slashed(moment: datetime) -> str:
    """``2024/3/5 9:05``, what Excel shows for a date-time cell saved as CSV."""
    return f"{moment.year}/{moment.month}/{moment.day} {moment.hour}:{moment.minute:02d}"


def chinese_date(day: date) -> str:
    """``2024年3月5日``."""
    return f"{day.year}年{day.month}月{day.day}日"


def estate(dwelling: Dwelling) -> str:
    """The community's name as residents say it: 光华里 for 光华里社区."""
    return dwelling.address.community.removesuffix("社区")


def address_text(dwelling: Dwelling, form: int) -> str:
    """A dwelling's address in one of the ways people write it (EXPORTS.md, Addresses).

    0 the full form, 1 from the district, 2 ``光华里3栋2单元502``, 3 ``光华里 3-2-502``,
    4 ``光华里3#2单元502``, 5 ``光华里小区3号楼2单元502号``.
    """
    a = dwelling.address
    short = f"{a.building}号楼{a.unit}单元{a.room}"
    if form == 0:
        return a.full_text
    if form == 1:
        return f"{a.district}{a.community}{short}"
    if form == 2:
        return f"{estate(dwelling)}{a.building}栋{a.unit}单元{a.room}"
    if form == 3:
        return f"{estate(dwelling)} {a.building}-{a.unit}-{a.room}"
    if form == 4:
        return f"{estate(dwelling)}{a.building}#{a.unit}单元{a.room}"
    return f"{estate(dwelling)}小区{short}号"
