"""Transforms of text, dates, enums and yes/no answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.dates import parse_datetime, utc
from connectors.errors import RecordError
from connectors.transforms.cells import Row, Transform, word
from schemas import enum_words


def trim(value: str, _column: str) -> str:
    return " ".join(value.split())


def utc_datetime(value: str, column: str) -> datetime:
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


# The contract's yes and no words, which the HTTP intake takes too.
YES, NO = enum_words.YES, enum_words.NO


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
