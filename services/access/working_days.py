"""Working days on the official calendar of the State Council, for sharing deadlines.

A time limit of N working days (the conformity review's 2, a provider's 5 or 10) ends on the
N-th working day after the day a request reached its stage: the day itself never counts,
and a request filed on a holiday starts counting on the next working day. Working days are
Monday to Friday, but for the public holidays the State Council declares each year and with
the weekend days it swaps into working days (调休). That calendar comes from the
``chinese-calendar`` package, which ships each year's notice once it is published, and from
the operator's holiday calendar file (``DATONG_HOLIDAY_CALENDAR``, read by
``holiday_calendar.py``): a year in the file replaces the package's for that year, so a data
bureau can enter next year's notice the day it is published. Days are days in Beijing time
(``Asia/Shanghai``), whatever the server's zone.

A day in a year neither covers (next year's notice is published in November) counts Monday
to Friday, and the deadline says it is provisional. The hub refuses to start in a year
neither covers at all (``require_current_year``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from services.errors import ConfigError

BEIJING = ZoneInfo("Asia/Shanghai")
PACKAGE = "chinese-calendar"
SETTING = "DATONG_HOLIDAY_CALENDAR"
_LONGEST_S = 400  # working days: far beyond any statutory limit, bounds the loop


class CalendarNotCovered(ConfigError):  # noqa: N818 - named for what the operator must fix
    """Neither the calendar package nor the holiday file knows the current year's holidays."""


def package_years() -> range:
    """The years whose holidays and swapped working days the installed package knows."""
    years = sorted({d.year for d in chinese_calendar.holidays})
    return range(years[0], years[-1] + 1)


@dataclass(frozen=True)
class YearNotice:
    """One year's notice as the operator entered it: the days off that would otherwise be
    working days (a holiday on a weekend may be listed too), and the weekend days that are
    working days."""

    holidays: frozenset[date]
    working_days: frozenset[date]


@dataclass(frozen=True)
class WorkingCalendar:
    """The package's years, with the years of the operator's file (``source``) replacing
    them. Built once per process from the settings (``holiday_calendar.load``)."""

    notices: Mapping[int, YearNotice] = field(default_factory=dict, hash=False)
    source: str | None = None  # the file the notices came from, for messages
    # Looked up when built (not bound at import), so that a test can stand in for another
    # release of the package.
    package: range = field(default_factory=lambda: package_years())  # noqa: PLW0108

    @property
    def years(self) -> frozenset[int]:
        """Every year whose working days are known."""
        return frozenset(self.package) | frozenset(self.notices)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day (Monday to Friday beyond the covered years)."""
        notice = self.notices.get(day.year)
        if notice is not None:
            if day in notice.working_days:
                return True
            return day.weekday() < 5 and day not in notice.holidays
        if day.year in self.package:
            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5


def beijing_day(at: datetime) -> date:
    """The calendar day in Beijing of an aware instant."""
    if at.tzinfo is None:
        raise ValueError("a naive datetime has no day in Beijing; pass an aware one")
    return at.astimezone(BEIJING).date()


@dataclass(frozen=True)
class Deadline:
    """The last day a stage may take, and whether a day of it was counted without the
    official calendar (a year neither the package nor the holiday file covers yet)."""

    day: date
    provisional: bool = False


def add_working_days(start: date, days: int, calendar: WorkingCalendar) -> Deadline:
    """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
    if not 0 < days <= _LONGEST_S:
        raise ValueError(f"a time limit is 1 to {_LONGEST_S} working days, not {days}")
    covered = calendar.years
    day, counted, provisional = start, 0, False
    while counted < days:
        day += timedelta(days=1)
        provisional = provisional or day.year not in covered
        if calendar.is_working_day(day):
            counted += 1
    return Deadline(day, provisional)


def is_overdue(deadline: date, now: datetime) -> bool:
    """Whether the deadline day has passed in Beijing at ``now``."""
    return beijing_day(now) > deadline


def require_current_year(calendar: WorkingCalendar, now: datetime | None = None) -> None:
    """Refuse to run a hub whose calendar does not cover this year, naming both remedies."""
    year = beijing_day(now or datetime.now(UTC)).year
    if year in calendar.years:
        return
    package = calendar.package
    known = f"{PACKAGE} {chinese_calendar.__version__} covers {package.start}-{package.stop - 1}"
    if calendar.source is not None:
        listed = ", ".join(str(y) for y in sorted(calendar.notices)) or "no year"
        known += f", {SETTING} {calendar.source} covers {listed}"
    raise CalendarNotCovered(
        f"the working-day calendar does not cover {year} ({known}): sharing deadlines cannot "
        f"be counted; upgrade the Python package {PACKAGE} to a release with {year}'s State "
        f"Council holiday notice, or set {SETTING} to a YAML file that lists that notice "
        f"under '{year}:' with 'holidays: [YYYY-MM-DD, ...]' (days off) and "
        "'working_days: [...]' (weekend days worked) "
        '(docs/sharing.md, "The holiday calendar file")'
    )
