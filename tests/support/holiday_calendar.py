"""A holiday calendar file for hubs under test, made only when the installed
``chinese-calendar`` does not cover the current year in Beijing.

``datong api`` and ``datong up`` refuse to start in a year their calendar does not cover
(``services/access/working_days.py``), and a package release covers a year only once the
State Council has published its notice: from 1 January until then, every test that starts
the API would fail. Such a test hub gets this file instead. It is TEST DATA, not the
official notice: weekends off plus New Year's Day, written for the current year at run time
into the test's own folder, so nothing goes stale. Production code never falls back to it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from services.access.working_days import SETTING, beijing_day, package_years

FILE_NAME = "holiday_calendar_test.yaml"


def fixture_calendar_text(year: int) -> str:
    """The test calendar for ``year``: weekends and New Year's Day off, nothing swapped."""
    return (
        f"# TEST DATA for datong's test suite, NOT the State Council's notice for {year}:\n"
        "# weekends off plus New Year's Day, so that a test hub starts in a year the\n"
        "# installed chinese-calendar does not cover yet (tests/support/holiday_calendar.py).\n"
        f"{year}:\n"
        f"  holidays: [{year}-01-01]\n"
        "  working_days: []\n"
    )


def holiday_calendar_env(folder: Path, now: datetime | None = None) -> dict[str, str]:
    """``{DATONG_HOLIDAY_CALENDAR: <a test file in folder>}`` when the installed package
    does not cover the year in Beijing at ``now``; ``{}`` when it does (the package decides,
    as in production)."""
    year = beijing_day(now or datetime.now(UTC)).year
    if year in package_years():
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    path.write_text(fixture_calendar_text(year), encoding="utf-8")
    return {SETTING: str(path)}
