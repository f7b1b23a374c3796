"""Events grouped by the hour they happened in, as the history replay merges them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.rebuild.hours import by_hour, hour_of

T0 = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)


def ms(hours: float) -> int:
    return int((T0 + timedelta(hours=hours)).timestamp() * 1000)


def test_an_hour_starts_on_the_hour() -> None:
    assert hour_of(ms(5.99)) == ms(5) == hour_of(ms(5))


def test_events_are_grouped_by_their_hour_oldest_first_in_their_order() -> None:
    timed = [(ms(7.5), "c"), (ms(5.1), "a"), (ms(7.0), "d"), (ms(5.9), "b")]
    assert by_hour(timed, since_ms=ms(0)) == [(ms(5), ["a", "b"]), (ms(7), ["c", "d"])]


def test_events_before_the_window_make_one_group_the_hour_before_it() -> None:
    timed = [(ms(-300), "old"), (ms(2.5), "new"), (ms(-1.5), "older"), (0, "undated")]
    assert by_hour(timed, since_ms=ms(0.5)) == [
        (ms(-1), ["old", "older", "undated"]),
        (ms(2), ["new"]),
    ]


def test_nothing_to_group_gives_no_hour() -> None:
    assert by_hour([], since_ms=ms(0)) == []
