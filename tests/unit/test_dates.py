"""Dates and times in the forms Chinese department exports write them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from connectors.dates import CHINA, parse_date, parse_datetime, utc
from connectors.errors import RecordError

FIELD = "办理时间"
MARCH_5 = datetime(2024, 3, 5, tzinfo=CHINA)


def reject(raw: str) -> RecordError:
    with pytest.raises(RecordError) as caught:
        parse_datetime(raw, FIELD)
    return caught.value


@pytest.mark.parametrize(
    "raw",
    [
        "2024-03-05",
        "2024/3/5",
        "2024/03/05",
        "2024-3-5",
        "2024.3.5",
        "2024年3月5日",
        "20240305",
        " 2024-03-05 ",
    ],
)
def test_every_date_form_means_midnight_china_time(raw: str) -> None:
    assert parse_datetime(raw, FIELD) == MARCH_5


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-05 10:30", (10, 30, 0)),
        ("2024-03-05 10:30:15", (10, 30, 15)),
        ("2024-03-05T10:30:15", (10, 30, 15)),
        ("2024/3/5 8:05:09", (8, 5, 9)),
        ("2024年3月5日 10时30分15秒", (10, 30, 15)),
        ("2024年3月5日 10:30", (10, 30, 0)),
        ("20240305 10:30:15", (10, 30, 15)),
        ("2024-03-05 10:30:15.123", (10, 30, 15)),
    ],
)
def test_every_form_with_a_time_is_china_time(raw: str, expected: tuple[int, int, int]) -> None:
    hour, minute, second = expected
    assert parse_datetime(raw, FIELD) == MARCH_5.replace(hour=hour, minute=minute, second=second)


def test_chinese_hours_and_minutes_without_seconds_are_accepted() -> None:
    assert parse_datetime("2024年3月5日 10时30分", FIELD) == MARCH_5.replace(hour=10, minute=30)


@pytest.mark.parametrize(
    "raw", ["2024-03-05", "2024年3月5日 10时30分15秒", "20240305 23:59:59", "2024-03-05T10:30:15"]
)
def test_results_are_aware_and_at_plus_eight_hours(raw: str) -> None:
    moment = parse_datetime(raw, FIELD)
    assert moment.tzinfo is not None
    assert moment.utcoffset() == timedelta(hours=8)


def test_an_explicit_offset_is_kept() -> None:
    moment = parse_datetime("2024-03-05T10:30:15+00:00", FIELD)
    assert moment == datetime(2024, 3, 5, 10, 30, 15, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)


def test_a_z_suffix_means_utc() -> None:
    assert parse_datetime("2024-03-05T10:30:15Z", FIELD) == datetime(
        2024, 3, 5, 10, 30, 15, tzinfo=UTC
    )


def test_utc_is_the_same_instant_eight_hours_earlier_on_the_clock() -> None:
    moment = utc(parse_datetime("2024-03-05 06:00", FIELD))
    assert moment == datetime(2024, 3, 4, 22, 0, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "raw",
    [
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "2024-03-32",
        "2024-04-31",
        "2024/2/30",
        "2023年2月29日",
        "20230229",
        "2024-03-05 25:00",
        "2024-03-05 10:60",
        "2024-03-05 10:30:61",
    ],
)
def test_a_date_or_time_that_does_not_exist_is_bad_date(raw: str) -> None:
    error = reject(raw)
    assert (error.field, error.code) == (FIELD, "bad_date")


@pytest.mark.parametrize(
    "raw",
    [
        "hello",
        "05/03/2024",
        "2024-03",
        "2024-03-05 noon",
        "24-03-05",
        "2024年3月",
        "2024-W10-2",  # an ISO 8601 week date, which Python's fromisoformat reads
    ],
)
def test_text_that_is_not_a_date_is_bad_date(raw: str) -> None:
    error = reject(raw)
    assert (error.field, error.code) == (FIELD, "bad_date")


def test_leap_day_of_a_leap_year_is_accepted() -> None:
    assert parse_date("2024-02-29", FIELD) == date(2024, 2, 29)


def test_an_empty_value_is_a_missing_field() -> None:
    error = reject("  ")
    assert (error.field, error.code) == (FIELD, "missing_field")


@pytest.mark.parametrize("raw", ["2024-03-05", "2024年3月5日", "20240305", "2024/3/5 23:30"])
def test_parse_date_gives_the_china_calendar_day(raw: str) -> None:
    assert parse_date(raw, "出生日期") == date(2024, 3, 5)
