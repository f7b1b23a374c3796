"""The operator's holiday calendar file (``DATONG_HOLIDAY_CALENDAR``): deadlines in a year
the package does not cover, counted on the notice the operator entered, and every
malformed entry refused at start, naming the file, the year and the entry.

The 2027 notice below is MADE UP for these tests (the State Council's is not published when
they are written): New Year's Day Fri 1 January off; Spring Festival Fri 5 to Fri 12
February off (the weekend of 6-7 February is listed too, as a notice does); Sun 31 January
and Sat 20 February are working days. Around them, in 2027::

    Jan 1 Fri off     Jan 2-3 off       Jan 4-8 Mon-Fri work
    Jan 29 Fri work   Jan 30 Sat off    Jan 31 Sun WORK   Feb 1-4 Mon-Thu work
    Feb 5-12 off      Feb 13-14 off     Feb 15-19 Mon-Fri work
    Feb 20 Sat WORK   Feb 21 Sun off    Feb 22-26 Mon-Fri work
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from services.access import holiday_calendar
from services.access.holiday_calendar import MAX_BYTES, HolidayCalendarError, load, parse
from services.access.working_days import (
    CalendarNotCovered,
    Deadline,
    WorkingCalendar,
    add_working_days,
    require_current_year,
)
from services.bench.processes import hub_env
from services.errors import ConfigError
from services.settings import Settings
from tests.support.holiday_calendar import FILE_NAME, holiday_calendar_env

SOURCE = "/etc/datong/holidays.yaml"
NOTICE_2027 = """\
# MADE UP for the tests: not the State Council's notice for 2027.
2027:
  holidays: [2027-01-01, 2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08,
             2027-02-09, 2027-02-10, 2027-02-11, 2027-02-12]
  working_days: [2027-01-31, 2027-02-20]
"""
PACKAGE_TO_2026 = range(2004, 2027)  # a package that stops at 2026, whichever is installed


def calendar(text: str = NOTICE_2027) -> WorkingCalendar:
    return parse(text, SOURCE)


def test_a_year_in_the_file_is_covered_beside_the_packages() -> None:
    assert 2027 in calendar().years
    assert 2026 in calendar().years  # the installed package's, untouched


@pytest.mark.parametrize(
    ("filed", "days", "due"),
    [
        # Filed on the last day of 2026: New Year's Day and the weekend do not count.
        (date(2026, 12, 31), 2, date(2027, 1, 5)),  # Mon 4, Tue 5
        # Filed on the Friday before the swapped working Sunday, 31 January.
        (date(2027, 1, 29), 2, date(2027, 2, 1)),  # Sun 31, Mon 1
        # Filed the day before Spring Festival: 5 to 14 February do not count.
        (date(2027, 2, 4), 2, date(2027, 2, 16)),  # 15, 16
        (date(2027, 2, 4), 5, date(2027, 2, 19)),  # 15-19
        (date(2027, 2, 4), 10, date(2027, 2, 25)),  # 15-19, Sat 20, 22, 23, 24, 25
        # Filed on a holiday (Monday 8 February): counting starts on the 15th.
        (date(2027, 2, 8), 2, date(2027, 2, 16)),
    ],
)
def test_a_2027_time_limit_counts_the_files_holidays_and_swapped_working_days(
    filed: date, days: int, due: date
) -> None:
    file = WorkingCalendar(calendar().notices, SOURCE, package=PACKAGE_TO_2026)
    assert add_working_days(filed, days, file) == Deadline(due, provisional=False)


def test_without_the_file_2027_counts_monday_to_friday_and_is_provisional() -> None:
    package_only = WorkingCalendar(package=PACKAGE_TO_2026)
    # Fri 5 February is a weekday: counted, and the deadline says it was a guess.
    assert add_working_days(date(2027, 2, 4), 2, package_only) == Deadline(date(2027, 2, 8), True)


def test_a_year_in_the_file_replaces_the_packages_year() -> None:
    # 2026 entered with no holiday at all: Thu 1 October (National Day) is a working day.
    plain_2026 = calendar("2026:\n  holidays: []\n  working_days: []\n")
    assert add_working_days(date(2026, 9, 30), 2, plain_2026) == Deadline(date(2026, 10, 2))
    # Without the file, the package's National Day holds (1 to 7 October off).
    assert add_working_days(date(2026, 9, 30), 2, WorkingCalendar()) == Deadline(date(2026, 10, 9))


def test_the_hub_starts_in_2027_with_the_file_and_refuses_without_it() -> None:
    in_2027 = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
    require_current_year(WorkingCalendar(calendar().notices, SOURCE, PACKAGE_TO_2026), in_2027)
    with pytest.raises(CalendarNotCovered) as caught:
        require_current_year(WorkingCalendar(package=PACKAGE_TO_2026), in_2027)
    message = str(caught.value)
    assert "does not cover 2027" in message
    assert "upgrade the Python package chinese-calendar" in message
    assert "set DATONG_HOLIDAY_CALENDAR" in message


def test_a_file_without_the_current_year_is_named_in_the_refusal() -> None:
    only_2028 = "2028:\n  holidays: [2028-01-01]\n  working_days: []\n"
    file = WorkingCalendar(calendar(only_2028).notices, SOURCE, PACKAGE_TO_2026)
    with pytest.raises(CalendarNotCovered) as caught:
        require_current_year(file, datetime(2027, 3, 1, tzinfo=UTC))
    assert f"DATONG_HOLIDAY_CALENDAR {SOURCE} covers 2028" in str(caught.value)


def test_json_is_read_as_well() -> None:
    text = '{"2027": {"holidays": ["2027-01-01"], "working_days": ["2027-01-31"]}}'
    notice = calendar(text).notices[2027]
    assert notice.holidays == {date(2027, 1, 1)} and notice.working_days == {date(2027, 1, 31)}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        # Years and days in ASCII digits only: full-width and superscript digits are refused.
        ("２０２７:\n  holidays: []\n  working_days: []\n", ["'２０２７'", "4 ASCII digits"]),
        ("202²:\n  holidays: []\n  working_days: []\n", ["'202²'", "4 ASCII digits"]),
        (
            "2027:\n  holidays: [２０２７-01-01]\n  working_days: []\n",
            ["2027: holidays", "'２０２７-01-01'"],
        ),
        (
            "2027:\n  holidays: [2027-0²-01]\n  working_days: []\n",
            ["2027: holidays", "'2027-0²-01'"],
        ),
        # YAML's own readings are not taken: an underscore in a number, a short day.
        ("2_027:\n  holidays: []\n  working_days: []\n", ["'2_027'"]),
        ("2027:\n  holidays: [2027-1-1]\n  working_days: []\n", ["'2027-1-1'", "YYYY-MM-DD"]),
        ("2027:\n  holidays: [2027-02-30]\n  working_days: []\n", ["'2027-02-30'", "not a day"]),
        ("0000:\n  holidays: []\n  working_days: []\n", ["'0000'"]),
        # A day outside its year.
        (
            "2027:\n  holidays: [2028-01-01]\n  working_days: []\n",
            ["2027: holidays", "2028-01-01 is not in 2027"],
        ),
        # A weekday listed as a swapped working day (Fri 19 February).
        (
            "2027:\n  holidays: []\n  working_days: [2027-02-19]\n",
            ["2027: working_days", "2027-02-19 is a Friday"],
        ),
        # A day in both lists (Sun 31 January).
        (
            "2027:\n  holidays: [2027-01-31]\n  working_days: [2027-01-31]\n",
            ["2027: 2027-01-31 is in both"],
        ),
        # Listed twice: a day, a list, a year.
        (
            "2027:\n  holidays: [2027-01-01, 2027-01-01]\n  working_days: []\n",
            ["2027: holidays (line 2)", "2027-01-01 is listed twice"],
        ),
        (
            "2027:\n  holidays: []\n  holidays: []\n  working_days: []\n",
            ["2027: holidays (line 3) is listed twice"],
        ),
        (
            "2027:\n  holidays: []\n  working_days: []\n" * 2,
            ["(line 4)", "2027 is listed twice"],
        ),
        # Shapes: not a mapping, an empty document, a year without its lists, a word mistyped.
        ("- 2027-01-01\n", ["expected a mapping of years", "a list"]),
        ("", ["an empty document"]),
        ("# nothing yet\n", ["an empty document"]),
        ("2027:\n", ["2027 (line 1)", "expected 'holidays' and 'working_days'"]),
        ("2027:\n  holidays: [2027-01-01]\n", ["2027", "no 'working_days' list"]),
        ("2027:\n  holidays: []\n  workdays: []\n", ["2027: 'workdays' (line 3)"]),
        (
            "2027:\n  holidays: 2027-01-01\n  working_days: []\n",
            ["2027: holidays (line 2)", "expected a list"],
        ),
        (
            "2027:\n  holidays: [[2027-01-01]]\n  working_days: []\n",
            ["2027: holidays (line 2)", "a list is not a day"],
        ),
        ("2027: {holidays: [], working_days: [], <<: {}}\n", ["merge key"]),
        ("2027: [unclosed\n", ["not YAML"]),
    ],
)
def test_a_malformed_entry_is_refused_naming_the_file_and_the_entry(
    text: str, names: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text, SOURCE)
    message = str(caught.value)
    assert message.startswith(SOURCE) and "\n" not in message
    for name in names:
        assert name in message


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    padding = "# " + "x" * 78 + "\n"
    text = NOTICE_2027 + padding * (MAX_BYTES // len(padding) + 1)
    assert len(text.encode()) > MAX_BYTES
    with pytest.raises(HolidayCalendarError, match="larger than 64 KiB"):
        parse(text, SOURCE)
    path = tmp_path / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HolidayCalendarError, match=f"{path}: larger than 64 KiB"):
        load(path)


def test_the_file_is_read_at_start_and_named_when_it_cannot_be(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(NOTICE_2027, encoding="utf-8")
    loaded = load(path)
    assert loaded.source == str(path) and set(loaded.notices) == {2027}
    with pytest.raises(
        HolidayCalendarError, match=f"{tmp_path / 'missing.yaml'}: .*cannot be read"
    ):
        load(tmp_path / "missing.yaml")
    path.write_bytes(b"2027:\n  holidays: [\xff]\n")
    with pytest.raises(HolidayCalendarError, match="not UTF-8"):
        load(path)


def test_no_file_is_the_packages_calendar() -> None:
    assert load(None) == WorkingCalendar()
    assert holiday_calendar.load(None).notices == {}


def test_the_test_suites_file_is_made_only_in_a_year_the_package_does_not_cover(
    tmp_path: Path,
) -> None:
    assert holiday_calendar_env(tmp_path, datetime(2026, 6, 1, tzinfo=UTC)) == {}
    assert not (tmp_path / FILE_NAME).exists()
    env = holiday_calendar_env(tmp_path, datetime(2031, 6, 1, tzinfo=UTC))
    path = Path(env["DATONG_HOLIDAY_CALENDAR"])
    assert "TEST DATA" in path.read_text(encoding="utf-8")
    made = load(path)
    require_current_year(made, datetime(2031, 6, 1, tzinfo=UTC))
    # Weekends and New Year's Day (Wed 1 January 2031) off, nothing else.
    assert made.notices[2031].holidays == {date(2031, 1, 1)}
    assert add_working_days(date(2030, 12, 31), 2, made) == Deadline(date(2031, 1, 3), False)


def test_the_bench_passes_the_operators_file_on_to_its_hub_processes(tmp_path: Path) -> None:
    notices = tmp_path / "holidays.yaml"
    with_file = hub_env("127.0.0.1:1", "sqlite://", tmp_path, 1, notices)
    assert with_file["DATONG_HOLIDAY_CALENDAR"] == str(notices)
    assert "DATONG_HOLIDAY_CALENDAR" not in hub_env("127.0.0.1:1", "sqlite://", tmp_path, 1)


def test_the_setting_names_the_file_and_is_unset_by_default() -> None:
    given = Settings.from_env({"DATONG_HOLIDAY_CALENDAR": "/etc/datong/holidays.yaml"})
    assert given.holiday_calendar == Path("/etc/datong/holidays.yaml")
    assert Settings.from_env({}).holiday_calendar is None
