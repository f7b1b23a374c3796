"""Working-day deadlines on the official 2026 calendar.

The expected days are written by hand from the State Council's notice for 2026
(国务院办公厅关于2026年部分节假日安排的通知, 国办发明电〔2025〕7号, 4 November 2025):
Mid-Autumn Festival Fri 25 to Sun 27 September off; National Day Thu 1 to Wed 7 October off;
Sun 20 September and Sat 10 October are working days. Around them, in 2026::

    Sep 18 Fri work   Sep 19 Sat off    Sep 20 Sun WORK   Sep 21-24 Mon-Thu work
    Sep 25-27 off     Sep 28-30 Mon-Wed work              Oct 1-7 off
    Oct 8 Thu work    Oct 9 Fri work    Oct 10 Sat WORK   Oct 11 Sun off
    Oct 12-16 Mon-Fri work              Oct 17-18 off     Oct 19-20 Mon-Tue work
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.access.working_days import (
    CalendarNotCovered,
    Deadline,
    WorkingCalendar,
    add_working_days,
    beijing_day,
    is_overdue,
    require_current_year,
)

INSTALLED = WorkingCalendar()  # chinese-calendar 1.11.0, pinned: 2026 is in it
# A package that stops at 2026 whatever release is installed, with no holiday calendar file.
TO_2026 = WorkingCalendar(package=range(2004, 2027))


@pytest.mark.parametrize(
    ("filed", "days", "due"),
    [
        # Filed on the last working day before National Day: the holiday does not count.
        (date(2026, 9, 30), 2, date(2026, 10, 9)),
        (date(2026, 9, 30), 5, date(2026, 10, 13)),  # Oct 8, 9, 10 (Sat, swapped), 12, 13
        (date(2026, 9, 30), 10, date(2026, 10, 20)),
        # Filed on the Friday before the swapped working Sunday, 20 September.
        (date(2026, 9, 18), 2, date(2026, 9, 21)),  # Sun 20, Mon 21
        (date(2026, 9, 18), 5, date(2026, 9, 24)),  # 20, 21, 22, 23, 24
        (date(2026, 9, 18), 10, date(2026, 10, 9)),  # 20-24, 28, 29, 30, Oct 8, 9
        # Filed on a holiday (Saturday of National Day): counting starts on 8 October.
        (date(2026, 10, 3), 2, date(2026, 10, 9)),
        (date(2026, 10, 3), 5, date(2026, 10, 13)),
        (date(2026, 10, 3), 10, date(2026, 10, 20)),
        # Filed on the day before Mid-Autumn: 25 to 27 September do not count.
        (date(2026, 9, 24), 2, date(2026, 9, 29)),
    ],
)
def test_a_time_limit_ends_on_the_nth_working_day_of_the_official_calendar(
    filed: date, days: int, due: date
) -> None:
    assert add_working_days(filed, days, INSTALLED) == Deadline(due, provisional=False)


def test_a_request_filed_in_the_evening_utc_is_filed_on_the_next_day_in_beijing() -> None:
    # 17:00 UTC on 30 September is 01:00 on 1 October in Beijing: a holiday.
    assert beijing_day(datetime(2026, 9, 30, 17, 0, tzinfo=UTC)) == date(2026, 10, 1)


def test_days_beyond_the_covered_years_count_monday_to_friday_and_say_so() -> None:
    # 2027 is not in the package: Thu 31 Dec 2026 + 2 -> Fri 1 Jan, Mon 4 Jan.
    assert add_working_days(date(2026, 12, 31), 2, TO_2026) == Deadline(date(2027, 1, 4), True)


def test_overdue_starts_the_day_after_the_deadline_in_beijing() -> None:
    due = date(2026, 10, 9)
    assert not is_overdue(due, datetime(2026, 10, 9, 15, 59, tzinfo=UTC))  # 23:59 Beijing
    assert is_overdue(due, datetime(2026, 10, 9, 16, 0, tzinfo=UTC))  # 00:00 on 10 October


def test_the_hub_refuses_a_year_its_calendar_does_not_cover_naming_both_remedies() -> None:
    require_current_year(TO_2026, datetime(2026, 6, 1, tzinfo=UTC))
    with pytest.raises(CalendarNotCovered) as caught:
        require_current_year(TO_2026, datetime(2030, 1, 2, tzinfo=UTC))
    message = str(caught.value)
    assert "2030" in message
    assert "upgrade the Python package chinese-calendar" in message
    assert "set DATONG_HOLIDAY_CALENDAR" in message and "'2030:'" in message
    assert "holidays:" in message and "working_days:" in message


def test_the_year_is_the_year_in_beijing() -> None:
    # 16:00 UTC on 31 December 2026 is midnight on 1 January 2027 in Beijing.
    require_current_year(TO_2026, datetime(2026, 12, 31, 15, 59, tzinfo=UTC))
    with pytest.raises(CalendarNotCovered, match="does not cover 2027"):
        require_current_year(TO_2026, datetime(2026, 12, 31, 16, 0, tzinfo=UTC))
