"""A row's merge state is stored once: what its record already shows is left out and put back."""

from __future__ import annotations

import json

from services.merge.merge import Provenance, RowState
from services.merge.state import row_of, state_json
from tests.support.demo_events import demo_events, updates_of
from tests.support.memory_views import MemoryViews

HOUSING = Provenance("housing", "housing:D1", 1_000)
LATER = Provenance("housing", "housing:D1b", 2_000)


def _round_trip(view: str, row: RowState, record: dict | None, provenance: dict) -> RowState:  # type: ignore[type-arg]
    state = json.loads(json.dumps(state_json(view, row, record, provenance)))
    return row_of(view, row.key, state, record, provenance)


def test_a_field_the_record_shows_as_it_is_is_not_stored_twice() -> None:
    row = RowState(
        "D1", {"registered": True, "rooms": 2}, {"registered": HOUSING, "rooms": HOUSING}
    )
    record = {"rooms": 2, "community_code": None}
    state = state_json("household", row, record, {"rooms": ["housing", "housing:D1", 1_000]})
    assert state == {
        "values": {"registered": True},
        "provenance": {"registered": ["housing", "housing:D1", 1_000]},
    }
    assert _round_trip("household", row, record, {"rooms": ["housing", "housing:D1", 1_000]}) == row


def test_a_field_written_without_a_value_keeps_its_version_in_the_state() -> None:
    row = RowState("D1", {"rooms": None, "grid_id": "G1"}, {"rooms": LATER, "grid_id": HOUSING})
    record = {"rooms": None, "grid_id": "G1", "community_code": None}
    provenance = {"grid_id": ["housing", "housing:D1", 1_000]}
    state = state_json("household", row, record, provenance)
    assert state == {"values": {}, "provenance": {"rooms": ["housing", "housing:D1b", 2_000]}}
    assert _round_trip("household", row, record, provenance) == row


def test_a_record_value_that_differs_from_the_state_keeps_the_state_value() -> None:
    # The household's community comes from its residents while housing wrote none.
    row = RowState("D1", {"community_code": None}, {"community_code": HOUSING})
    record = {"community_code": "C001"}
    assert _round_trip("household", row, record, {}) == row


def test_a_hidden_row_keeps_everything_in_its_state() -> None:
    row = RowState("P1", {"registered": None, "name_masked": None}, {"name_masked": LATER})
    assert _round_trip("resident_profile", row, None, {}) == row


def test_every_row_of_the_demo_community_survives_the_round_trip() -> None:
    views = MemoryViews()
    updates = updates_of(demo_events()[1])
    for start in range(0, len(updates), 500):
        views.merge(updates[start : start + 500])
    checked = 0
    for view, rows in views.views.items():
        for key, stored in rows.items():
            provenance = dict(stored.provenance)
            assert _round_trip(view, stored.row, stored.record, provenance) == stored.row, key
            checked += 1
    assert checked > 500
