"""Working days on the official calendar of the State Council, for sharing deadlines.

A time limit of N working days (the conformity review's 2, a provider's 5 or 10) ends on the
N-th working day after the day a request reached its stage: the day itself never counts,
and a request filed on a holiday starts counting on the next working day. Working days are
Monday to Friday, but for the public holidays the State Council declares each year and with
the weekend days it swaps into working days (调休); that calendar comes from the
``chinese-calendar`` package, which ships each year's notice once it is published. Days are
days in Beijing time (``Asia/Shanghai``), whatever the server's zone.

A day in a year the package does not cover yet (next year's notice is published in
November) counts Monday to Friday, and the deadline says it is provisional. The hub refuses
to start in a year the package does not cover at all (``require_current_year``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from services.errors import ConfigError

BEIJING = ZoneInfo("Asia/Shanghai")
PACKAGE = "chinese-calendar"
_LONGEST_S = 400  # working days: far beyond any statutory limit, bounds the loop


class CalendarNotCovered(ConfigError):  # noqa: N818 - named for what the operator must fix
    """The installed calendar package does not know the current year's holidays."""


@dataclass(frozen=True)
class Deadline:
    """The last day a stage may take, and whether a day of it was counted without the
    official calendar (a year the package does not cover yet)."""

    day: date
    provisional: bool = False


def covered_years() -> range:
    """The years whose holidays and swapped working days the installed package knows."""
    years = sorted({d.year for d in chinese_calendar.holidays})
    return range(years[0], years[-1] + 1)


def beijing_day(at: datetime) -> date:
    """The calendar day in Beijing of an aware instant."""
    if at.tzinfo is None:
        raise ValueError("a naive datetime has no day in Beijing; pass an aware one")
    return at.astimezone(BEIJING).date()


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day (Monday to Friday beyond the covered years)."""
    if day.year in covered_years():
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def add_working_days(start: date, days: int) -> Deadline:
    """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
    if not 0 < days <= _LONGEST_S:
        raise ValueError(f"a time limit is 1 to {_LONGEST_S} working days, not {days}")
    covered = covered_years()
    day, counted, provisional = start, 0, False
    while counted < days:
        day += timedelta(days=1)
        provisional = provisional or day.year not in covered
        if is_working_day(day):
            counted += 1
    return Deadline(day, provisional)


def is_overdue(deadline: date, now: datetime) -> bool:
    """Whether the deadline day has passed in Beijing at ``now``."""
    return beijing_day(now) > deadline


def require_current_year(now: datetime | None = None) -> None:
    """Refuse to run a hub whose calendar package does not cover this year."""
    year = beijing_day(now or datetime.now(UTC)).year
    covered = covered_years()
    if year not in covered:
        raise CalendarNotCovered(
            f"the working-day calendar ({PACKAGE} {chinese_calendar.__version__}) covers "
            f"{covered.start}-{covered.stop - 1}, not {year}: sharing deadlines cannot be "
            f"counted; upgrade the Python package {PACKAGE} to a release with {year}'s "
            "State Council holiday notice"
        )
