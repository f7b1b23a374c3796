"""The transforms a mapping YAML may name, for the values people meet in real exports.

Each transform is built once from its YAML arguments (``enum: {男: MALE}``) and then
applied per record as ``apply(value, column, row)``: ``value`` is the trimmed cell (or
the previous transform's output), ``column`` the Chinese column it came from, named in
every RecordError, whose reason never repeats the value. ``kind`` is what it produces,
checked against the target Avro type when the YAML is loaded.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.dates import parse_date, parse_datetime, utc
from connectors.errors import RecordError
from connectors.gazetteer import Candidate, Gazetteer, chinese_int
from connectors.identity import birth_of, gender_of, mask_name, mask_phone, normalize_id
from connectors.identity import person_key as hmac_person_key

# Cells Chinese exports write for "nothing here"; a clerk's 无 is a value (无 -> NONE).
PLACEHOLDERS = frozenset({"-", "--", "—", "——", "/", "／", "NULL", "null", "None", "N/A"})
SAME = "same"  # the kind of a transform that returns its input checked, not changed


def canonical(column: str) -> str:
    """A header as compared: NFKC (full-width brackets -> ASCII), no whitespace."""
    return "".join(unicodedata.normalize("NFKC", column).split())


def word(value: str) -> str:
    """A cell word as compared with enum maps: NFKC (full-width letters), trimmed.

    Inner spaces are kept: ``登 记`` is not ``登记``, as a registry clerk's typo must not
    silently become a transaction.
    """
    return unicodedata.normalize("NFKC", value).strip()


def cell_text(value: str | None) -> str | None:
    """A cell trimmed, or None when it is missing, empty or a placeholder such as ``--``."""
    if value is None:
        return None
    value = value.strip()
    return value if value and value not in PLACEHOLDERS else None


@dataclass
class Row:
    """One record while it is mapped: its cells by canonical column, and the hub's means."""

    fields: Mapping[str, str | None]
    columns: Mapping[str, str]  # canonical column -> key in ``fields``
    hmac_key: bytes
    gazetteer: Gazetteer | None = None
    resolved: dict[tuple[str, str | None], Candidate] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # raw -> normalized ID, checked once

    def id_number(self, value: str, column: str) -> str:
        """``value`` as a checked, normalized resident ID number (GB 11643)."""
        normalized = self.ids.get(value)
        if normalized is None:
            normalized = self.ids[value] = normalize_id(value, column)
        return normalized

    def text(self, column: str) -> str | None:
        """The trimmed cell, or None when the column is absent, the cell empty or a placeholder."""
        key = self.columns.get(column)
        return None if key is None else cell_text(self.fields.get(key))

    def missing(self, column: str) -> RecordError:
        """The error for a required column that has no value, saying why."""
        key = self.columns.get(column)
        if key is None:
            return RecordError(column, "column is missing from the export", "missing_column")
        value = self.fields.get(key)
        if value is None:
            return RecordError(
                column, "is missing (the row has fewer columns than the header)", "missing_field"
            )
        if value.strip():
            return RecordError(column, "is a placeholder for an empty cell", "missing_field")
        return RecordError(column, "is empty", "missing_field")


Apply = Callable[[Any, str, Row], Any]


@dataclass(frozen=True)
class Transform:
    """A built transform: what it does, what kind of value it makes, what else it reads."""

    apply: Apply
    kind: str
    symbols: frozenset[str] = frozenset()  # the enum symbols a ``symbol`` transform can give
    columns: tuple[str, ...] = ()  # other columns it reads
    personal: bool = False  # its input is an ID number, a name or a phone number
    gazetteer: bool = False  # needs the gazetteer


def _plain(kind: str, fn: Callable[[Any, str], Any], personal: bool = False) -> Transform:
    return Transform(lambda value, column, _row: fn(value, column), kind, personal=personal)


# --- text, dates, enums, yes/no ------------------------------------------------------------


def _trim(value: str, _column: str) -> str:
    return " ".join(value.split())


def _datetime(value: str, column: str) -> datetime:
    return utc(parse_datetime(value, column))


def enum_map(args: Any) -> Transform:
    """``{男: MALE, 女: FEMALE}``: words (compared after NFKC) to symbols."""
    if not isinstance(args, dict) or not args:
        raise ValueError("enum needs a mapping of words to symbols")
    if any(isinstance(k, bool) or k is None for k in args):
        raise ValueError("YAML read a word as true/false/null: quote it")
    words = {word(str(k)): str(v) for k, v in args.items()}
    listed = ", ".join(str(k) for k in args)

    def apply(value: str, column: str, _row: Row) -> str:
        symbol = words.get(word(value))
        if symbol is None:
            raise RecordError(column, f"is not one of {listed}", "bad_enum")
        return symbol

    return Transform(apply, "symbol", frozenset(words.values()))


YES = ("是", "有", "Y", "YES", "TRUE", "1", "√", "✓")
NO = ("否", "无", "没有", "N", "NO", "FALSE", "0", "×")


def yes_no(args: Any) -> Transform:
    """是/否, 有/无, Y/N, 1/0, true/false (or the words given as ``{true: [..], false: [..]}``)."""
    spec = args or {}
    truthy = {word(w).upper() for w in spec.get(True, spec.get("true", YES))}
    falsy = {word(w).upper() for w in spec.get(False, spec.get("false", NO))}

    def apply(value: str, column: str, _row: Row) -> bool:
        answer = word(value).upper()
        if answer in truthy or answer in falsy:
            return answer in truthy
        raise RecordError(column, "is not a yes/no answer (是/否, 有/无)", "bad_bool")

    return Transform(apply, "boolean")


# --- numbers, units, money ----------------------------------------------------------------


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


def _percent(value: str, column: str) -> int:
    text = canonical(value).removesuffix("%")
    share = _decimal(text, column)
    if not 0 <= share <= 100:
        raise RecordError(column, "must be between 0 and 100 percent", "out_of_range")
    return int(share.to_integral_value())


def _ordinal(value: str, column: str) -> int:
    """第2剂, 第二剂, 2针, 2 -> 2."""
    match = re.fullmatch(r"第?(\w+?)(?:剂|针|次)?(?:\(.*\))?", canonical(value))
    count = chinese_int(match.group(1)) if match else None
    if count is None or count < 1:
        raise RecordError(column, "is not a dose number (第2剂, 2)", "bad_number")
    return count


def _floor(value: str, column: str) -> int:
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


# --- identity and masking -----------------------------------------------------------------


def _person_key(value: str, column: str, row: Row) -> str:
    return hmac_person_key(row.id_number(value, column), row.hmac_key)


def _birth_of_id(value: str, column: str, row: Row) -> date:
    return birth_of(row.id_number(value, column), column)


def _gender_of_id(value: str, column: str, row: Row) -> str:
    return gender_of(row.id_number(value, column))


def agrees_with(args: Any) -> Transform:
    """Check another column against this value: ``{column: 出生日期, as: date}``.

    The other column may be empty; when it is given and disagrees, the error names it.
    """
    if not isinstance(args, dict) or "column" not in args:
        raise ValueError("agrees_with needs a column")
    other = canonical(str(args["column"]))
    parsers: dict[str, Callable[[str, str], Any]] = {
        "date": parse_date,
        "datetime": _datetime,
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


def keyed_hash(values: list[str], key: bytes) -> str:
    """A short HMAC of cell values: an event_id part that reveals nothing of them."""
    message = "\x1f".join(values).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:20]


def _no_args(transform: Transform) -> Callable[[Any], Transform]:
    def build(args: Any) -> Transform:
        if args is not None:
            raise ValueError("takes no arguments")
        return transform

    return build


TRANSFORMS: dict[str, Callable[[Any], Transform]] = {
    "trim": _no_args(_plain("string", _trim)),
    "upper": _no_args(_plain("string", lambda v, _c: v.upper())),
    "datetime": _no_args(_plain("timestamp", _datetime)),
    "date": _no_args(_plain("date", parse_date)),
    "enum": enum_map,
    "bool": yes_no,
    "int": whole_number,
    "number": number,
    "money": money,
    "percent": _no_args(_plain("int", _percent)),
    "ordinal": _no_args(_plain("int", _ordinal)),
    "floor": _no_args(_plain("int", _floor)),
    "layout": layout,
    "at_least": at_least,
    "split": split,
    "person_key": _no_args(Transform(_person_key, "string", personal=True)),
    "birth_date_of_id": _no_args(Transform(_birth_of_id, "date", personal=True)),
    "gender_of_id": _no_args(
        Transform(_gender_of_id, "symbol", frozenset({"MALE", "FEMALE"}), personal=True)
    ),
    "agrees_with": agrees_with,
    "mask_name": _no_args(_plain("string", mask_name, personal=True)),
    "mask_phone": _no_args(_plain("string", mask_phone, personal=True)),
    "address": address,
}


def build(spec: Any) -> Transform:
    """Build a transform from its YAML form: ``name`` or ``{name: arguments}``.

    Raises ValueError with the problem; the loader adds the file and entry.
    """
    if isinstance(spec, str):
        name, args = spec, None
    elif isinstance(spec, dict) and len(spec) == 1:
        ((name, args),) = spec.items()
    else:
        raise ValueError("a transform is a name or a one-key mapping {name: arguments}")
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transform {name!r} (known: {', '.join(sorted(TRANSFORMS))})")
    try:
        return TRANSFORMS[name](args)
    except (ValueError, TypeError, KeyError, InvalidOperation) as exc:
        raise ValueError(f"transform {name!r}: {exc}") from None
