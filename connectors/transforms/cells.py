"""A record while it is mapped (its cells, the hub's means) and what a built transform is."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.errors import RecordError
from connectors.gazetteer import Candidate, Gazetteer
from connectors.identity import normalize_id

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


class Row:
    """One record while it is mapped: its cells by canonical column, and the hub's means.

    A plain class with slots rather than a dataclass: one is made for every row a
    connector reads, and the dataclass's factory-built defaults cost a call each.
    """

    __slots__ = ("columns", "fields", "gazetteer", "hmac_key", "ids", "resolved")

    def __init__(
        self,
        fields: Mapping[str, str | None],
        columns: Mapping[str, str],  # canonical column -> key in ``fields``
        hmac_key: bytes,
        gazetteer: Gazetteer | None = None,
    ) -> None:
        self.fields = fields
        self.columns = columns
        self.hmac_key = hmac_key
        self.gazetteer = gazetteer
        self.resolved: dict[tuple[str, str | None], Candidate] = {}
        self.ids: dict[str, str] = {}  # raw -> normalized ID, checked once

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


def plain(kind: str, fn: Callable[[Any, str], Any], personal: bool = False) -> Transform:
    """A transform of the cell alone (it reads neither other columns nor the row's means)."""
    return Transform(lambda value, column, _row: fn(value, column), kind, personal=personal)
