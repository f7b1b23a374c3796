"""When each department is expected to feed the hub: the stale-feed alert's yardstick.

A department that exports once a day is not late after two quiet hours, and one that
streams is late long before a day; nights and weekends without news are normal for
some. The schedule says, per department, the longest silence that is still normal
during working hours, and which hours those are, in the community's local time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from services.errors import ConfigError

# Departments that stream or push during the day (grid tasks, health status, deliveries,
# meter readings) are stale after two quiet hours; those that export once a working day
# (household registry, civil affairs, housing) after a day and a margin for a late run.
DEFAULT_CADENCE_S: Mapping[str, int] = {
    "civil-affairs": 26 * 3600,
    "commerce": 2 * 3600,
    "grid": 2 * 3600,
    "health": 2 * 3600,
    "housing": 26 * 3600,
    "public-security": 26 * 3600,
    "utilities": 2 * 3600,
}
# A department missing from the map (a new one) gets the strict default.
FALLBACK_CADENCE_S = 2 * 3600
# China Standard Time has no daylight saving, so a fixed offset from UTC is exact.
DEFAULT_UTC_OFFSET_H = 8
DEFAULT_HOURS = (8, 20)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_HOURS = re.compile(r"^(\d{1,2})-(\d{1,2})$")


@dataclass(frozen=True)
class FeedSchedule:
    """Per department the longest normal silence, and the local working hours it applies in.

    ``hours`` is ``(start, end)``: the stale-feed alert may fire from ``start`` o'clock up
    to (not including) ``end`` o'clock, local time = UTC + ``utc_offset_h``.
    """

    # (department, seconds) pairs, sorted: a tuple keeps the settings object hashable.
    cadence_s: tuple[tuple[str, int], ...] = tuple(sorted(DEFAULT_CADENCE_S.items()))
    hours: tuple[int, int] = DEFAULT_HOURS
    utc_offset_h: int = DEFAULT_UTC_OFFSET_H

    def cadence_of(self, department: str) -> int:
        """The longest normal silence of ``department``, in seconds."""
        return dict(self.cadence_s).get(department, FALLBACK_CADENCE_S)


def parse_schedule(
    cadence: str | None, hours: str | None, utc_offset_h: str | None
) -> FeedSchedule:
    """A schedule from ``DATONG_FEED_CADENCE`` (``health=2h,housing=26h``: overrides of the
    defaults), ``DATONG_FEED_HOURS`` (``8-20``) and ``DATONG_FEED_UTC_OFFSET_H`` (``8``).

    Raises:
        ConfigError: a value is malformed or out of range.
    """
    cadence_s = dict(DEFAULT_CADENCE_S)
    for item in filter(None, (p.strip() for p in (cadence or "").split(","))):
        department, sep, value = (s.strip() for s in item.partition("="))
        found = _DURATION.match(value)
        if not sep or not department or found is None or int(found[1]) == 0:
            raise ConfigError(
                f"DATONG_FEED_CADENCE: {item!r} is not department=<duration> (e.g. health=2h)"
            )
        cadence_s[department] = int(found[1]) * _UNITS[found[2] or "s"]
    return FeedSchedule(tuple(sorted(cadence_s.items())), _hours(hours), _offset(utc_offset_h))


def _hours(value: str | None) -> tuple[int, int]:
    if value is None:
        return DEFAULT_HOURS
    found = _HOURS.match(value.strip())
    if found is None or not 0 <= int(found[1]) < int(found[2]) <= 24:
        raise ConfigError(f"DATONG_FEED_HOURS must be <start>-<end> within 0-24, got {value!r}")
    return int(found[1]), int(found[2])


def _offset(value: str | None) -> int:
    if value is None:
        return DEFAULT_UTC_OFFSET_H
    try:
        offset = int(value)
    except ValueError:
        raise ConfigError(f"DATONG_FEED_UTC_OFFSET_H must be whole hours, got {value!r}") from None
    if not -12 <= offset <= 14:
        raise ConfigError(f"DATONG_FEED_UTC_OFFSET_H must be within -12..14, got {offset}")
    return offset
