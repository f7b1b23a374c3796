"""Every subject's fields, folded from its events one at a time in version order.

The obvious reading of the README's merge rules: sort all events by (event_time, event_id),
then for each write, apply it only if the writing department owns the field and the event
is newer than the field's current value. A deregistration clears every field of the person
at its version. Water meters instead keep, in event_time order, the highest register value,
when it was first seen (the last water use) and the newest reading.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.support.oracle.facts import Fact, Source
from tests.support.oracle.writes import COMMUNITY, DWELLING, ERASURE, PERSON, Write, is_water, owner
from tests.support.oracle.writes import writes as writes_of


@dataclass(frozen=True)
class Value:
    """A field's value and the event that last wrote it."""

    value: Any
    source: Source


@dataclass(frozen=True)
class Meter:
    """A water meter: highest register value, when first seen, newest reading time."""

    value: float
    used_at: int
    read_at: int


Fields = dict[str, Value]


@dataclass
class Folded:
    """The fields of every subject after all events, and the writes refused as conflicts."""

    subjects: dict[str, dict[str, Fields]] = field(
        default_factory=lambda: {PERSON: {}, DWELLING: {}, COMMUNITY: {}}
    )
    conflicts: list[tuple[Write, Source]] = field(default_factory=list)

    def fields(self, subject: str, key: str) -> Fields:
        """The fields of one subject (empty if nothing was written)."""
        return self.subjects[subject].setdefault(key, {})


def fold(facts: Iterable[Fact]) -> Folded:
    """Fold ``facts`` (sorted by version, as ``facts.facts`` gives them) into subjects."""
    folded = Folded()
    for fact in facts:
        if fact.name == ERASURE:
            _erase(folded.fields(PERSON, fact.key), fact.source)
        for write in writes_of(fact):
            _apply(folded, write, fact.source)
    return folded


def _apply(folded: Folded, write: Write, source: Source) -> None:
    if owner(write.subject, write.name) != source.department:
        folded.conflicts.append((write, source))  # kept aside, never applied
        return
    fields = folded.fields(write.subject, write.key)
    current = fields.get(write.name)
    if is_water(write.name):
        fields[write.name] = _read_meter(current, write.value, source)
    elif current is None or current.source.version < source.version:
        fields[write.name] = Value(write.value, source)


def _read_meter(current: Value | None, reading: float, source: Source) -> Value:
    """One more reading, in event_time order; a repeated reading changes nothing."""
    at = source.time_ms
    if current is None:
        return Value(Meter(reading, at, at), source)
    meter: Meter = current.value
    if source.version <= current.source.version:
        return current  # a repeat (facts come in version order)
    if reading > meter.value:
        meter = Meter(reading, at, at)  # the register went up: water was used
    else:
        meter = Meter(meter.value, meter.used_at, at)
    return Value(meter, source)


def _erase(fields: Fields, source: Source) -> None:
    """A deregistration: every field (entries included) holds no value from now on."""
    for name, current in list(fields.items()):
        if current.source.version < source.version:
            fields[name] = Value(None, source)
