"""The public release's rules on worked examples (attacks: test_public_release_attacks)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.access.public_figures import (
    PRIVATE,
    Household,
    build_release,
    public_view,
    release_instant,
)
from services.access.public_release import Released, Rules, protect
from services.errors import ConfigError

RULES = Rules(min_count=10, base=5)
AT = datetime(2026, 12, 7, 18, tzinfo=UTC)


def test_counts_of_k_or_more_are_rounded_down_to_the_base() -> None:
    released = protect({"1号楼": 14, "2号楼": 25}, RULES)
    assert released.cells == {"1号楼": 10, "2号楼": 25}
    assert released.total == 35


def test_a_lone_small_cell_takes_the_next_smallest_with_it() -> None:
    released = protect({"1号楼": 3, "2号楼": 12, "3号楼": 40}, RULES)
    assert released.cells == {"1号楼": None, "2号楼": None, "3号楼": 40}
    assert released.total == 55


def test_a_total_under_k_withholds_everything() -> None:
    released = protect({"1号楼": 4, "2号楼": 5}, RULES)
    assert released.cells == {"1号楼": None, "2号楼": None}
    assert released.total is None


def test_a_total_that_would_pin_the_withheld_cells_is_withheld() -> None:
    # Three cells of 5 under k = 6: a total of 15 (15 to 17) beside three cells of at most 5
    # would say each is 5.
    released = protect({"A": 5, "B": 5, "C": 5}, Rules(min_count=6, base=3))
    assert released == protect({"A": 5, "B": 5, "C": 5}, Rules(min_count=6, base=3))
    assert released.cells == {"A": None, "B": None, "C": None}
    assert released.total is None


def test_shown_cells_beside_small_ones_keep_the_total_when_nothing_is_pinned() -> None:
    # 28 rounds to 25 (25 to 29); C and D 10 to 14 each: A and B are 0 to 9, together too.
    released = protect({"A": 0, "B": 0, "C": 14, "D": 14}, RULES)
    assert released.cells == {"A": None, "B": None, "C": 10, "D": 10}
    assert released.total == 25


@pytest.mark.parametrize(("k", "base"), [(2, 2), (10, 2), (10, 4), (10, 1)])
def test_rules_that_cannot_protect_are_refused(k: int, base: int) -> None:
    with pytest.raises(ConfigError, match="DATONG_PUBLIC"):
        Rules(min_count=k, base=base)


def test_release_instants_are_fixed_multiples_of_the_interval() -> None:
    now = datetime(2026, 12, 7, 20, 39, 59, tzinfo=UTC)
    assert release_instant(now, 6) == datetime(2026, 12, 7, 18, tzinfo=UTC)
    assert release_instant(now, 24) == datetime(2026, 12, 7, tzinfo=UTC)


def quarantined(building: str, n: int, deliveries: int = 0) -> list[Household]:
    return [Household(building, True, deliveries) for _ in range(n)]


def test_a_release_lists_every_building_and_notices_what_changed() -> None:
    homes = quarantined("1号楼", 12, 1) + [Household("2号楼", False, 0)] * 20
    projects = {"R1": {"stage": "DESIGN", "percent": 10, "buildings": ["1号楼"]}}
    first = build_release("610103001001", AT, 6, homes, projects, None, RULES)
    # 2号楼's 0 is under k, so 1号楼's 12 is withheld beside it; the total 12 shows as 10.
    assert first["quarantined_households"] == {
        "total": 10,
        "by_building": {"1号楼": None, "2号楼": None},
        "changed_at": "2026-12-07T18:00:00Z",
    }
    assert first["notices"] == []
    later = datetime(2026, 12, 8, tzinfo=UTC)
    moved = {"R1": {"stage": "TENDERING", "percent": 20, "buildings": ["1号楼"]}}
    second = build_release("610103001001", later, 6, homes, moved, first, RULES)
    assert second["notices"] == [
        {"figure": "renovation_stage", "project_id": "R1", "from": "DESIGN", "to": "TENDERING"}
    ]
    assert second["quarantined_households"]["changed_at"] == "2026-12-07T18:00:00Z"
    assert second["renovation_projects"][0]["changed_at"] == "2026-12-08T00:00:00Z"
    assert PRIVATE in second and PRIVATE not in public_view(second)


def test_a_group_withheld_whole_is_released_even_when_earlier_releases_narrowed_it() -> None:
    # Earlier releases left A at 0 or 1 and B under k; now A + B is at least k (B grew):
    # only A = 1 fits, whatever this release shows, so it shows nothing of the group.
    earlier = Released({"A": None, "B": None}, None, {"A": (0, 1), "B": (0, 9)})
    released = protect({"A": 1, "B": 9}, RULES, earlier)
    assert released.cells == {"A": None, "B": None}
    assert released.total is None
