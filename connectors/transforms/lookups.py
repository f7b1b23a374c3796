"""Transforms that read beyond their cell: another column to agree with, the gazetteer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.dates import parse_date
from connectors.errors import RecordError
from connectors.transforms.cells import SAME, Row, Transform, canonical
from connectors.transforms.words import utc_datetime


def agrees_with(args: Any) -> Transform:
    """Check another column against this value: ``{column: 出生日期, as: date}``.

    The other column may be empty; when it is given and disagrees, the error names it.
    """
    if not isinstance(args, dict) or "column" not in args:
        raise ValueError("agrees_with needs a column")
    other = canonical(str(args["column"]))
    parsers: dict[str, Callable[[str, str], Any]] = {
        "date": parse_date,
        "datetime": utc_datetime,
        "text": lambda v, _c: v,
    }
    parse = parsers.get(str(args.get("as", "text")))
    if parse is None:
        raise ValueError("agrees_with: as must be date, datetime or text")

    def apply(value: Any, column: str, row: Row) -> Any:
        stated = row.text(other)
        if stated is not None and parse(stated, other) != value:
            raise RecordError(
                other, f"does not match the value derived from {column}", "inconsistent"
            )
        return value

    return Transform(apply, SAME, columns=(other,))


def address(args: Any) -> Transform:
    """Resolve a free-text address through the gazetteer: ``{part: dwelling_id}``.

    ``community_column`` names a column holding the record's community code, which
    narrows the search. An address that does not resolve raises AddressUnresolved.
    """
    spec = args or {}
    part = spec.get("part", "dwelling_id")
    if part not in ("dwelling_id", "community_code"):
        raise ValueError("address: part must be dwelling_id or community_code")
    community = canonical(str(spec["community_column"])) if "community_column" in spec else None

    def apply(value: str, column: str, row: Row) -> str:
        if row.gazetteer is None:
            raise RecordError(column, "cannot be resolved: no gazetteer configured", "config")
        code = row.text(community) if community else None
        key = (value, code)
        if key not in row.resolved:
            row.resolved[key] = row.gazetteer.resolve(value, column, code)
        return str(getattr(row.resolved[key], part))

    columns = (community,) if community else ()
    return Transform(apply, "string", columns=columns, gazetteer=True)
