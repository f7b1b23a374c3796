"""The transforms a mapping YAML may name, for the values people meet in real exports.

Each transform is built once from its YAML arguments (``enum: {男: MALE}``) and then
applied per record as ``apply(value, column, row)``: ``value`` is the trimmed cell (or
the previous transform's output), ``column`` the Chinese column it came from, named in
every RecordError, whose reason never repeats the value. ``kind`` is what it produces,
checked against the target Avro type when the YAML is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import InvalidOperation
from typing import Any

from connectors.dates import parse_date
from connectors.identity import mask_name, mask_phone
from connectors.transforms.cells import (
    PLACEHOLDERS,
    SAME,
    Apply,
    Row,
    Transform,
    canonical,
    cell_text,
    plain,
    word,
)
from connectors.transforms.lookups import address, agrees_with
from connectors.transforms.numbers import (
    at_least,
    floor,
    layout,
    money,
    number,
    ordinal,
    percent,
    split,
    whole_number,
)
from connectors.transforms.personal import birth_of_id, gender_of_id, keyed_hash, person_key
from connectors.transforms.words import enum_map, trim, utc_datetime, yes_no

__all__ = [
    "PLACEHOLDERS",
    "SAME",
    "TRANSFORMS",
    "Apply",
    "Row",
    "Transform",
    "build",
    "canonical",
    "cell_text",
    "keyed_hash",
    "word",
]


def _no_args(transform: Transform) -> Callable[[Any], Transform]:
    def build(args: Any) -> Transform:
        if args is not None:
            raise ValueError("takes no arguments")
        return transform

    return build


TRANSFORMS: dict[str, Callable[[Any], Transform]] = {
    "trim": _no_args(plain("string", trim)),
    "upper": _no_args(plain("string", lambda v, _c: v.upper())),
    "datetime": _no_args(plain("timestamp", utc_datetime)),
    "date": _no_args(plain("date", parse_date)),
    "enum": enum_map,
    "bool": yes_no,
    "int": whole_number,
    "number": number,
    "money": money,
    "percent": _no_args(plain("int", percent)),
    "ordinal": _no_args(plain("int", ordinal)),
    "floor": _no_args(plain("int", floor)),
    "layout": layout,
    "at_least": at_least,
    "split": split,
    "person_key": _no_args(Transform(person_key, "string", personal=True)),
    "birth_date_of_id": _no_args(Transform(birth_of_id, "date", personal=True)),
    "gender_of_id": _no_args(
        Transform(gender_of_id, "symbol", frozenset({"MALE", "FEMALE"}), personal=True)
    ),
    "agrees_with": agrees_with,
    "mask_name": _no_args(plain("string", mask_name, personal=True)),
    "mask_phone": _no_args(plain("string", mask_phone, personal=True)),
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
