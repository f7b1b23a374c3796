"""Address resolution: free-text addresses -> the housing department's dwelling_id.

The gazetteer is built from the housing registry (every mapped DwellingRegistered row is
added) and kept in the connectors' state store, so every connector process of the hub
resolves against the same one. Addresses are compared by their parts, after normalization:
full-width digits, Chinese numerals before 号楼/栋/幢/座/单元/室, ``3-2-502``, ``3#`` and
spaces are reduced to (building, unit, room), and the place in front of the building is
matched by containing one of the dwelling's names (its community, or the estate named in
its full address), so province, city, district and street prefixes neither help nor hurt.
When several names match, the longest wins (幸福里2区 over 幸福里).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from connectors.errors import RecordError
from connectors.state.tables import dwelling_table

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CN_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUMBER = "[零〇一二两三四五六七八九十百]+"
_MARKERS = "号楼|号栋|号幢|号院|号|栋|幢|座|楼|单元|层|室|户|区|期|剂|针"
_NUMERAL_BEFORE_MARKER = re.compile(rf"({_CN_NUMBER})(?={_MARKERS})")
_DROP = re.compile(r"[\s,，、。.·()（）\[\]【】\"'“”]")
_DASHES = re.compile(r"[‐-―−－~～]")
_HASH_BUILDING = re.compile(r"([0-9A-Z]+)#(?:楼|栋)?")
_BUILDING = re.compile(r"([0-9A-Z]+)号?(?:楼|栋|幢|座)")
# After the building: a unit (2单元, or 2- before the room), a floor (5层) and the room.
_TAIL = re.compile(
    r"-?(?:([0-9A-Z]+)单元|([0-9A-Z]{1,2})-(?=[0-9]))?-?(?:[0-9]+(?:层|楼))?-?"
    r"([0-9A-Z]+(?:-[0-9]+)?)?(?:室|号|户)?"
)
_DASHED = re.compile(r"([0-9A-Z]+)-([0-9A-Z]+)(?:-([0-9A-Z]+))?(?:室|号|户)?$")
_SUFFIXES = ("社区居委会", "居委会", "社区", "小区")
MAX_CANDIDATES = 10


def chinese_int(text: str) -> int | None:
    """``12`` or a Chinese numeral up to 999 (``十二``, ``二十``, ``一百零五``, ``两``) as int."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for char in text:
        if char in _CN_DIGITS:
            current = _CN_DIGITS[char]
        elif char in "十百":
            total += (current or 1) * (10 if char == "十" else 100)
            current = 0
        else:
            return None
    return total + current if text else None


def normalize_text(text: str) -> str:
    """NFKC (full-width -> half-width), upper case, no spaces or punctuation, Arabic numerals."""
    value = _DROP.sub("", unicodedata.normalize("NFKC", text).upper())
    value = _DASHES.sub("-", value)
    value = _HASH_BUILDING.sub(r"\1号楼", value)
    return _NUMERAL_BEFORE_MARKER.sub(lambda m: str(chinese_int(m.group(1))), value)


def _number(part: str | None) -> str:
    """``0502`` -> ``502``; letters (``A``) stay as they are."""
    if not part:
        return ""
    return str(int(part)) if part.isdigit() else part


@dataclass(frozen=True)
class ParsedAddress:
    """A free-text address split into the place before the building and the dwelling's parts."""

    place: str
    building: str
    unit: str
    room: str


def parse_address(text: str) -> ParsedAddress | None:
    """Split an address; None when it names no building and room (``小区东门``)."""
    value = normalize_text(text)
    for match in _BUILDING.finditer(value):
        tail = _TAIL.fullmatch(value[match.end() :])
        if tail is not None and tail.group(3):
            unit = tail.group(1) or tail.group(2)
            return ParsedAddress(
                value[: match.start()], _number(match.group(1)), _number(unit), _number(tail[3])
            )
    dashed = _DASHED.search(value)
    if dashed is None:
        return None
    building, second, third = dashed.groups()
    unit, room = (second, third) if third else ("", second)
    return ParsedAddress(value[: dashed.start()], _number(building), _number(unit), _number(room))


def place_names(*names: str | None) -> list[str]:
    """Normalized names and their cores without 社区/小区/居委会, longest first, 2+ chars."""
    found: set[str] = set()
    for name in names:
        value = normalize_text(name or "")
        found.add(value)
        for suffix in _SUFFIXES:
            if value.endswith(suffix):
                found.add(value.removesuffix(suffix))
    return sorted((n for n in found if len(n) >= 2), key=lambda n: (-len(n), n))


@dataclass(frozen=True)
class Candidate:
    """A dwelling an address might mean."""

    dwelling_id: str
    community_code: str


UNRESOLVED_CODE = "unresolved_address"


class AddressUnresolved(RecordError):  # noqa: N818 - a RecordError, named for what happened
    """An address matched no dwelling or several: the record is parked, not rejected.

    A runner without a resolution queue still treats it as a RecordError, so the record
    goes to the dead-letter topic (code ``unresolved_address``) rather than being lost.
    """

    def __init__(self, field: str, reason: str, candidates: tuple[Candidate, ...]) -> None:
        super().__init__(field, reason, UNRESOLVED_CODE)
        self.candidates = candidates


class Gazetteer:
    """Dwellings of the housing registry, looked up by free-text address."""

    def __init__(self, engine: sa.Engine) -> None:
        """Over the connectors' state store ``engine`` (``connectors.state.store``)."""
        self.engine = engine

    def add(self, dwelling: Mapping[str, Any]) -> None:
        """Add or replace a dwelling from a DwellingRegistered record; an older record loses."""
        address = dwelling.get("address") or {}
        full = parse_address(address.get("full_text") or "")
        estate = full.place if full else ""
        for known in ("province", "city", "district", "street"):
            estate = estate.removeprefix(normalize_text(address.get(known) or ""))
        row = {
            "dwelling_id": dwelling["dwelling_id"],
            "community_code": dwelling["community_code"],
            "building": _part(dwelling["building"], _BUILDING_MARK),
            "unit": _part(dwelling.get("unit"), "单元"),
            "room": _part(dwelling["room_number"], "室|号|户"),
            "names": json.dumps(place_names(address.get("community"), estate)),
            "event_time_ms": int(dwelling["event_time"].timestamp() * 1000),
        }
        key = dwelling_table.c.dwelling_id == row["dwelling_id"]
        with self.engine.begin() as connection:
            current = connection.execute(
                sa.select(dwelling_table.c.event_time_ms).where(key)
            ).scalar_one_or_none()
            if current is not None and current > row["event_time_ms"]:
                return
            connection.execute(dwelling_table.delete().where(key))
            connection.execute(dwelling_table.insert().values(**row))

    def resolve(self, text: str, field: str, community_code: str | None = None) -> Candidate:
        """The one dwelling ``text`` names; AddressUnresolved (naming ``field``) otherwise.

        ``community_code``, when the record states it, narrows the search to that
        community and lets an address without a place name (``3栋2单元502``) resolve.
        """
        parsed = parse_address(text)
        if parsed is None:
            raise AddressUnresolved(field, "names no building and room number", ())
        query = sa.select(dwelling_table).where(
            dwelling_table.c.building == parsed.building, dwelling_table.c.room == parsed.room
        )
        if parsed.unit:
            query = query.where(dwelling_table.c.unit == parsed.unit)
        if community_code:
            query = query.where(dwelling_table.c.community_code == community_code)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(dwelling_table.c.dwelling_id)).all()
        scored = [(_score(parsed.place, json.loads(r.names)), r) for r in rows]
        best = max((score for score, _ in scored), default=0)
        if best:
            matched = [r for score, r in scored if score == best]
        else:
            matched = list(rows) if community_code else []
        candidates = tuple(
            Candidate(r.dwelling_id, r.community_code) for r in (matched or rows)[:MAX_CANDIDATES]
        )
        if len(matched) == 1:
            return candidates[0]
        if matched:
            raise AddressUnresolved(field, f"matches {len(matched)} dwellings", candidates)
        if rows:
            reason = "names no community or estate the housing registry knows"
            raise AddressUnresolved(field, reason, candidates)
        raise AddressUnresolved(field, "matches no dwelling in the housing registry", ())


_BUILDING_MARK = "号楼|号栋|号幢|号|栋|幢|座|楼"


def _part(text: str | None, marker: str) -> str:
    """A building, unit or room cell as the gazetteer keys it: ``3号楼`` -> ``3``."""
    return _number(re.sub(rf"(?:{marker})$", "", normalize_text(text or "")))


def _score(place: str, names: list[str]) -> int:
    """Length of the longest of a dwelling's names found in the address's place, 0 if none."""
    return next((len(name) for name in names if name in place), 0)


class ReadOnlyGazetteer(Gazetteer):
    """A gazetteer that looks addresses up and never adds a dwelling: a dry run's
    (``datong mapping check``) housing sample must not change the connector's state."""

    def add(self, dwelling: Mapping[str, Any]) -> None:
        """Leave the gazetteer as it is."""
