"""DATONG_FEED_CADENCE, DATONG_FEED_HOURS and DATONG_FEED_UTC_OFFSET_H: when each department
is expected to feed, which the stale-feed alert measures silence against."""

from __future__ import annotations

import pytest

from services.errors import ConfigError
from services.feed_schedule import DEFAULT_CADENCE_S, FALLBACK_CADENCE_S, parse_schedule
from services.settings import Settings


def test_unset_means_the_per_department_defaults_in_beijing_working_hours() -> None:
    schedule = Settings.from_env({}).feed_schedule
    assert schedule.cadence_of("health") == 2 * 3600
    assert schedule.cadence_of("public-security") == 26 * 3600
    assert schedule.hours == (8, 20)
    assert schedule.utc_offset_h == 8


def test_a_cadence_overrides_only_the_departments_it_names() -> None:
    schedule = Settings.from_env(
        {"DATONG_FEED_CADENCE": "health=45m, housing=2d,grid=900"}
    ).feed_schedule
    assert schedule.cadence_of("health") == 45 * 60
    assert schedule.cadence_of("housing") == 2 * 86400
    assert schedule.cadence_of("grid") == 900
    assert schedule.cadence_of("utilities") == DEFAULT_CADENCE_S["utilities"]


def test_a_department_without_a_default_gets_the_strict_one() -> None:
    assert parse_schedule(None, None, None).cadence_of("new-department") == FALLBACK_CADENCE_S


def test_working_hours_and_offset_are_read() -> None:
    schedule = parse_schedule(None, "7-19", "-5")
    assert (schedule.hours, schedule.utc_offset_h) == ((7, 19), -5)


@pytest.mark.parametrize(
    ("cadence", "hours", "offset"),
    [
        ("health", None, None),
        ("health=0h", None, None),
        ("health=2 weeks", None, None),
        (None, "20-8", None),
        (None, "8-25", None),
        (None, "eight", None),
        (None, None, "+8:00"),
        (None, None, "15"),
    ],
)
def test_a_malformed_schedule_is_refused(
    cadence: str | None, hours: str | None, offset: str | None
) -> None:
    with pytest.raises(ConfigError):
        parse_schedule(cadence, hours, offset)


def test_settings_with_a_schedule_stay_hashable() -> None:
    settings = Settings.from_env({"DATONG_FEED_CADENCE": "health=1h"})
    assert hash(settings) == hash(Settings.from_env({"DATONG_FEED_CADENCE": "health=3600"}))
