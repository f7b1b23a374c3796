"""Each department's newest event over every community's situation record."""

from __future__ import annotations

from typing import Any

from services.store.views import newest_by_department


def test_the_newest_time_of_each_department_over_every_community_wins() -> None:
    records: list[dict[str, Any]] = [
        {"residents": 3, "department_freshness": {"health": 100, "housing": 900}},
        {"residents": 1, "department_freshness": {"health": 700, "grid": 50}},
        {"residents": 2},  # a community whose record shows no freshness yet
    ]
    assert newest_by_department(records) == {"health": 700, "housing": 900, "grid": 50}


def test_no_community_means_no_department_has_fed() -> None:
    assert newest_by_department([]) == {}
