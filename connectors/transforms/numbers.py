"""Transforms of numbers as exports write them: units, money, percents, doses, floors, layouts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.errors import RecordError
from connectors.gazetteer import chinese_int
from connectors.transforms.cells import Row, Transform, canonical


def _decimal(value: str, column: str) -> Decimal:
    text = canonical(value).replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RecordError(column, "is not a number", "bad_number") from None
    if not number.is_finite():
        raise RecordError(column, "is not a number", "bad_number")
    return number


def _split_unit(value: str, units: Mapping[str, Any], column: str) -> tuple[str, Any]:
    """``12.5吨`` -> (``12.5``, units[吨]); a bare number takes the unit ``""`` if listed."""
    text = canonical(value)
    for unit in sorted(units, key=len, reverse=True):
        if unit and text.lower().endswith(unit.lower()):
            return text[: len(text) - len(unit)], units[unit]
    if re.search(r"[^\d.,+\-]", text):
        raise RecordError(column, f"has a unit that is not one of {', '.join(units)}", "bad_unit")
    if "" not in units:
        raise RecordError(column, f"needs a unit ({', '.join(units)})", "bad_unit")
    return text, units[""]


def number(args: Any) -> Transform:
    """A decimal number, with units converted: ``{units: {吨: 1, 升: 0.001, "": 1}}``."""
    units = {
        canonical(str(k)): Decimal(str(v)) for k, v in ((args or {}).get("units") or {}).items()
    }
    units = units or {"": Decimal(1)}

    def apply(value: str, column: str, _row: Row) -> float:
        text, factor = _split_unit(value, units, column)
        return float(_decimal(text, column) * factor)

    return Transform(apply, "double")


def whole_number(args: Any) -> Transform:
    """A whole number, optionally followed by one of ``units`` (``3室``); Chinese numerals too."""
    units = sorted((canonical(str(u)) for u in (args or {}).get("units", [])), key=len)[::-1]

    def apply(value: str, column: str, _row: Row) -> int:
        text = canonical(value)
        for unit in units:
            if text.endswith(unit):
                text = text.removesuffix(unit)
                break
        spoken = chinese_int(text)
        if spoken is not None:
            return spoken
        count = _decimal(text, column)
        if count != count.to_integral_value():
            raise RecordError(column, "is not a whole number", "bad_number")
        return int(count)

    return Transform(apply, "int")


_MONEY_UNITS = {"元": Decimal(100), "万元": Decimal(1_000_000), "角": Decimal(10), "分": Decimal(1)}


def money(args: Any) -> Transform:
    """Yuan as written (``¥1,120.50``, ``86.5元``) -> fen; ``{unit: 万元}`` for ten-thousands."""
    unit = (args or {}).get("unit", "元")
    if unit not in _MONEY_UNITS:
        raise ValueError(f"money unit must be one of {', '.join(_MONEY_UNITS)}")
    factor = _MONEY_UNITS[unit]

    def apply(value: str, column: str, _row: Row) -> int:
        text = re.sub(r"(万元|万|元)$" if unit == "万元" else f"{unit}$", "", canonical(value))
        text = text.lstrip("¥")
        fen = _decimal(text, column) * factor
        if fen != fen.to_integral_value():
            raise RecordError(column, "has fractions of a fen", "bad_number")
        return int(fen)

    return Transform(apply, "long")


def percent(value: str, column: str) -> int:
    text = canonical(value).removesuffix("%")
    share = _decimal(text, column)
    if not 0 <= share <= 100:
        raise RecordError(column, "must be between 0 and 100 percent", "out_of_range")
    return int(share.to_integral_value())


def ordinal(value: str, column: str) -> int:
    """第2剂, 第二剂, 2针, 2 -> 2."""
    match = re.fullmatch(r"第?(\w+?)(?:剂|针|次)?(?:\(.*\))?", canonical(value))
    count = chinese_int(match.group(1)) if match else None
    if count is None or count < 1:
        raise RecordError(column, "is not a dose number (第2剂, 2)", "bad_number")
    return count


def floor(value: str, column: str) -> int:
    """5, 5层, -1, 地下1层, 负一层, B1 -> floor number (negative below ground)."""
    text = canonical(value).upper().removesuffix("层").removesuffix("楼")
    sign = -1 if text.startswith(("地下", "负", "B", "-")) else 1
    digits = re.sub(r"^(地下|负|B|-)", "", text)
    floor = chinese_int(digits)
    if floor is None:
        raise RecordError(column, "is not a floor (5, 5层, 地下1层)", "bad_number")
    return sign * floor


def layout(args: Any) -> Transform:
    """Count of 室 (``rooms``) or 卫 (``bathrooms``) in a layout such as ``3室2厅1卫``."""
    marker = {"rooms": "室", "bathrooms": "卫"}.get(str(args))
    if marker is None:
        raise ValueError("layout takes rooms or bathrooms")

    def apply(value: str, column: str, _row: Row) -> int:
        text = canonical(value)
        if text.isdigit():
            return int(text) if marker == "室" else 1
        match = re.search(rf"([0-9零一二两三四五六七八九十]+){marker}", text)
        count = chinese_int(match.group(1)) if match else None
        if count is None:
            raise RecordError(column, f"does not say how many {marker} (3室2厅1卫)", "bad_number")
        return count

    return Transform(apply, "int")


def at_least(args: Any) -> Transform:
    """True when the number is at least ``args``: ``{at_least: 2}`` after ``layout: bathrooms``."""
    if not isinstance(args, int):
        raise ValueError("at_least takes a whole number")
    return Transform(lambda value, _column, _row: value >= args, "boolean")


def split(args: Any) -> Transform:
    """``1号楼、3号楼`` -> [1号楼, 3号楼]; separators default to 、,，;；/ and spaces."""
    separators = str(args) if args else "、,，;；/"
    pattern = re.compile(f"[{re.escape(separators)}\\s]+")
    return Transform(lambda value, _column, _row: [p for p in pattern.split(value) if p], "array")
