"""Per-field last-writer-wins merge of source events into resident_profile rows."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy

from schemas.catalog import Catalog
from schemas.serde import Serde
from services.merge import derive, feeds, records, rules
from services.merge.merge import Conflict, Provenance, Result, RowState, Update, apply, empty_row
from tests.support.factories import health_event
from tests.support.stores import embedded_registry

REGISTERED = "gov.public_security.ResidentRegistered"
MOVED = "gov.public_security.ResidentMoved"
DEREGISTERED = "gov.public_security.ResidentDeregistered"
HEALTH_CHANGED = "gov.health.HealthStatusChanged"
PS = rules.PUBLIC_SECURITY
SPEC = rules.RESIDENT_PROFILE
CATALOG = Catalog.load()
SUBJECTS = feeds.subject_views(CATALOG.view_key_fields())
OWNERS = SPEC.owners
PERSON = "9c" * 32
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- factories: decoded source events and the updates they make ----------------------------


def registered(when: datetime, serial: str = "RB1", **changes: Any) -> dict[str, Any]:
    """A decoded ResidentRegistered record."""
    return {
        "event_id": f"{PS}:{serial}",
        "event_time": when,
        "department": PS,
        "person_key": PERSON,
        "name_masked": "张*",
        "gender": "FEMALE",
        "birth_date": date(1949, 12, 31),
        "phone_masked": "138****5678",
        "household_no": "H0001",
        "dwelling_id": "D-0001",
        "community_code": "C001",
        "address": "幸福里1号楼1单元101",
        **changes,
    }


def moved(when: datetime, serial: str, community: str, dwelling: str) -> dict[str, Any]:
    """A decoded ResidentMoved record."""
    return {
        "event_id": f"{PS}:{serial}",
        "event_time": when,
        "department": PS,
        "person_key": PERSON,
        "dwelling_id": dwelling,
        "community_code": community,
        "address": f"{community} {dwelling}",
    }


def deregistered(when: datetime, serial: str, reason: str = "ERASURE_REQUEST") -> dict[str, Any]:
    """A decoded ResidentDeregistered record."""
    return {
        "event_id": f"{PS}:{serial}",
        "event_time": when,
        "department": PS,
        "person_key": PERSON,
        "reason": reason,
    }


def health(status: str, when: datetime, event_id: str | None = None) -> dict[str, Any]:
    return health_event(PERSON, status, when, event_id)


def update(full_name: str, record: dict[str, Any], department: str | None = None) -> Update:
    """The one resident_profile field update a decoded event makes (freshness left aside)."""
    department = department or record["department"]
    made = feeds.updates_for(full_name, department, "person_key", record, SUBJECTS)
    (only,) = [u for u in made if u.erase or any(not n.startswith("fresh/") for n in u.values)]
    fields = {n: v for n, v in only.values.items() if not n.startswith("fresh/")}
    return Update(only.view, only.key, only.source, fields, only.erase)


def merge(row: RowState, one: Update) -> Result:
    return apply(row, one, OWNERS)


def apply_all(updates: Iterable[Update], row: RowState | None = None) -> RowState:
    row = row or empty_row(PERSON)
    for one in updates:
        row = merge(row, one).row
    return row


def history() -> list[Update]:
    """Five updates touching overlapping fields, two of them tied on event_time."""
    return [
        update(REGISTERED, registered(at(0), "RB1")),
        update(HEALTH_CHANGED, health("YELLOW", at(3), "health:b")),
        update(MOVED, moved(at(6), "RB2", "C002", "D-0200")),
        update(HEALTH_CHANGED, health("RED", at(3), "health:a")),
        update(REGISTERED, registered(at(9), "RB3", name_masked="王*", community_code="C003")),
    ]


def history_with_erasure() -> list[Update]:
    """Registration, health, an erasure, a stale registration and a later re-registration."""
    return [
        update(REGISTERED, registered(at(0), "RB1")),
        update(HEALTH_CHANGED, health("RED", at(2))),
        update(DEREGISTERED, deregistered(at(4), "RB2")),
        update(REGISTERED, registered(at(3), "RB3", name_masked="旧*")),
        update(REGISTERED, registered(at(6), "RB4", community_code="C009")),
    ]


def larger_history() -> list[Update]:
    """Fourteen updates: duplicates, ties, a non-owner write and an erasure among them."""
    base = history() + history_with_erasure()
    return [
        *base,
        base[0],  # a resend of the first registration
        update(HEALTH_CHANGED, health("GREEN", at(9), "health:z")),
        update(MOVED, moved(at(2), "RB9", "C001", "D-0009"), department="health"),  # non-owner
        update(HEALTH_CHANGED, health("YELLOW", at(9), "health:y")),
    ]


@pytest.fixture(scope="module")
def serde() -> Iterator[Serde]:
    engine = sqlalchemy.create_engine("sqlite://")
    yield Serde(Catalog.load(), embedded_registry(engine))
    engine.dispose()


# --- owner updates and ordering ----------------------------------------------------------


def test_a_registration_fills_the_row_with_its_provenance() -> None:
    first = update(REGISTERED, registered(at(0)))
    result = merge(empty_row(PERSON), first)
    assert result.changed
    assert result.conflicts == ()
    assert result.row.values["registered"] is True
    assert result.row.values["community_code"] == "C001"
    assert result.row.values["birth_date"] == "1949-12-31"
    assert "health_status" not in result.row.values
    assert all(p == first.source for p in result.row.provenance.values())
    assert first.source == Provenance(PS, f"{PS}:RB1", 1_709_280_000_000)


def test_the_owners_newer_update_applies() -> None:
    row = apply_all([update(REGISTERED, registered(at(0)))])
    move = update(MOVED, moved(at(5), "RB2", "C002", "D-0200"))
    result = merge(row, move)
    assert result.changed
    assert result.row.values["community_code"] == "C002"
    assert result.row.values["dwelling_id"] == "D-0200"
    assert result.row.provenance["community_code"] == move.source
    assert result.row.values["name_masked"] == "张*"  # fields the move does not carry stay


def test_an_older_event_does_not_overwrite_a_newer_field() -> None:
    move = update(MOVED, moved(at(5), "RB2", "C002", "D-0200"))
    late_registration = update(REGISTERED, registered(at(0)))
    row = apply_all([move, late_registration])
    assert row.values["community_code"] == "C002"
    assert row.provenance["community_code"] == move.source
    assert row.values["name_masked"] == "张*"  # fields only the older event carries apply
    assert row.provenance["name_masked"] == late_registration.source


def test_an_older_event_on_newer_fields_changes_nothing() -> None:
    row = apply_all([update(MOVED, moved(at(5), "RB2", "C002", "D-0200"))])
    result = merge(row, update(MOVED, moved(at(1), "RB1", "C001", "D-0001")))
    assert not result.changed
    assert result.row == row


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_a_tie_on_event_time_is_broken_by_event_id(order: tuple[int, int]) -> None:
    tied = [
        update(HEALTH_CHANGED, health("RED", at(1), "health:a")),
        update(HEALTH_CHANGED, health("GREEN", at(1), "health:b")),
    ]
    row = apply_all(tied[i] for i in order)
    assert row.values["health_status"] == "GREEN"
    assert row.provenance["health_status"].event_id == "health:b"


def test_a_repeated_event_changes_nothing() -> None:
    registration = update(REGISTERED, registered(at(0)))
    row = apply_all([registration])
    again = merge(row, registration)
    assert not again.changed
    assert again.row == row


def test_the_same_event_decoded_twice_changes_nothing() -> None:
    row = apply_all([update(HEALTH_CHANGED, health("RED", at(1)))])
    again = merge(row, update(HEALTH_CHANGED, health("RED", at(1))))
    assert not again.changed


# --- ownership ---------------------------------------------------------------------------


def test_a_non_owner_write_is_recorded_as_a_conflict_and_not_applied() -> None:
    row = apply_all([update(REGISTERED, registered(at(0)))])
    intruder = Update(
        SPEC.name, PERSON, Provenance("health", "health:x", 10**13), {"community_code": "C999"}
    )
    result = merge(row, intruder)
    assert result.conflicts == (Conflict(SPEC.name, PERSON, "community_code", PS, intruder.source),)
    assert not result.changed
    assert result.row == row


def test_owned_fields_of_a_mixed_update_apply_and_the_rest_conflict() -> None:
    mixed = Update(
        SPEC.name,
        PERSON,
        Provenance("health", "health:x", 1),
        {"health_status": "RED", "address": "elsewhere"},
    )
    result = merge(empty_row(PERSON), mixed)
    assert result.changed
    assert result.row.values == {"health_status": "RED"}
    assert [c.field for c in result.conflicts] == ["address"]
    assert result.conflicts[0].owner == PS


def test_an_event_from_the_wrong_department_conflicts_on_every_field() -> None:
    result = merge(
        empty_row(PERSON), update(MOVED, moved(at(1), "RB2", "C002", "D-0200"), department="health")
    )
    assert {c.field for c in result.conflicts} == {"community_code", "dwelling_id", "address"}
    assert not result.changed


def test_a_field_the_view_does_not_have_is_refused() -> None:
    stray = Update(SPEC.name, PERSON, Provenance(PS, "x", 1), {"shoe_size": 42})
    with pytest.raises(KeyError, match="shoe_size"):
        merge(empty_row(PERSON), stray)


# --- erasure -----------------------------------------------------------------------------


def test_an_erasure_clears_every_field_at_its_version() -> None:
    row = apply_all(
        [update(REGISTERED, registered(at(0))), update(HEALTH_CHANGED, health("RED", at(1)))]
    )
    erasure = update(DEREGISTERED, deregistered(at(2), "RB2"))
    result = merge(row, erasure)
    assert result.changed
    named = [n for n in OWNERS if "/" not in n]
    assert result.row.values == dict.fromkeys(named)
    assert result.row.provenance == dict.fromkeys(named, erasure.source)
    assert not derive.resident_visible(result.row)


@pytest.mark.parametrize(
    "late",
    [
        update(REGISTERED, registered(at(1), "RB-old")),
        update(HEALTH_CHANGED, health("YELLOW", at(1))),
        update(MOVED, moved(at(1), "RB-old", "C002", "D-0200")),
    ],
    ids=["registration", "health", "move"],
)
def test_an_older_update_after_an_erasure_does_not_bring_values_back(late: Update) -> None:
    erased = apply_all(
        [update(REGISTERED, registered(at(0))), update(DEREGISTERED, deregistered(at(2), "RB2"))]
    )
    result = merge(erased, late)
    assert not result.changed
    assert result.row == erased


def test_a_newer_registration_after_an_erasure_applies() -> None:
    erased = apply_all(
        [update(REGISTERED, registered(at(0))), update(DEREGISTERED, deregistered(at(2), "RB2"))]
    )
    result = merge(erased, update(REGISTERED, registered(at(3), "RB3", community_code="C005")))
    assert result.changed
    assert result.row.values["community_code"] == "C005"
    assert derive.resident_visible(result.row)
    assert result.row.values["health_status"] is None  # never re-sent, stays erased


def test_an_erasure_older_than_a_field_leaves_that_field() -> None:
    newer_health = update(HEALTH_CHANGED, health("RED", at(5)))
    row = apply_all(
        [
            update(REGISTERED, registered(at(0))),
            newer_health,
            update(DEREGISTERED, deregistered(at(2), "RB2")),
        ]
    )
    assert row.values["health_status"] == "RED"
    assert row.values["registered"] is None
    assert not derive.resident_visible(row)


# --- order independence and idempotence --------------------------------------------------


@pytest.mark.parametrize("make", [history, history_with_erasure], ids=["updates", "erasure"])
def test_every_permutation_of_the_updates_gives_the_same_row(make: Any) -> None:
    updates = make()
    expected = apply_all(updates)
    for order in itertools.permutations(updates):
        assert apply_all(order) == expected


def test_the_order_independent_result_is_the_newest_value_per_field() -> None:
    row = apply_all(history())
    assert row.values["community_code"] == "C003"  # RB3 at 9 beats the move at 6
    assert row.values["dwelling_id"] == "D-0001"  # RB3 at 9 re-states D-0001 after the move
    assert row.values["health_status"] == "YELLOW"  # tie at 3: health:b > health:a
    assert row.values["name_masked"] == "王*"


def test_the_erasure_history_ends_with_only_the_re_registration() -> None:
    row = apply_all(history_with_erasure())
    assert row.values["community_code"] == "C009"
    assert row.values["health_status"] is None
    assert derive.resident_visible(row)


def test_random_shuffles_of_a_larger_history_give_the_same_row() -> None:
    updates = larger_history()
    expected = apply_all(updates)
    rng = random.Random(20240305)
    for _ in range(300):
        shuffled = updates[:]
        rng.shuffle(shuffled)
        assert apply_all(shuffled) == expected


@pytest.mark.parametrize("make", [history, history_with_erasure, larger_history])
def test_applying_a_sequence_twice_gives_the_same_row(make: Any) -> None:
    updates = make()
    once = apply_all(updates)
    assert apply_all(updates, once) == once
    assert not any(merge(once, one).changed for one in updates)


def test_conflicts_do_not_depend_on_order() -> None:
    intruder = update(MOVED, moved(at(2), "RB9", "C001", "D-0009"), department="health")
    before = merge(apply_all(history()), intruder)
    after = merge(empty_row(PERSON), intruder)
    assert {c.field for c in before.conflicts} == {c.field for c in after.conflicts}


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2039, 1, 12, 23, 59, 4, 595_000, tzinfo=UTC),
        datetime(1987, 5, 10, 10, 40, 21, 915_000, tzinfo=UTC),
    ],
)
def test_to_millis_is_exact_for_whole_milliseconds(moment: datetime) -> None:
    exact = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    assert feeds.to_millis(moment) == exact


def test_an_event_one_millisecond_newer_wins_whatever_its_event_id() -> None:
    older = update(
        HEALTH_CHANGED, health("RED", datetime(2039, 1, 12, 0, 0, 0, 1_000, UTC), "health:b")
    )
    newer = update(
        HEALTH_CHANGED, health("GREEN", datetime(2039, 1, 12, 0, 0, 0, 2_000, UTC), "health:a")
    )
    assert apply_all([older, newer]).values["health_status"] == "GREEN"


# --- the view record ---------------------------------------------------------------------


@pytest.mark.parametrize("make", [history, history_with_erasure, larger_history])
def test_the_view_record_of_a_merged_row_encodes_against_the_view_contract(
    serde: Serde, make: Any
) -> None:
    row = apply_all(make())
    contract = serde.catalog.view("resident_profile")
    record = view_record(row)
    assert set(record) == set(contract.field_names)
    decoded = serde.decode(contract, serde.encode(contract, record))
    # Times go out as epoch milliseconds and come back as timestamp-millis datetimes.
    assert decoded == {**record, "provenance": decoded["provenance"]}
    assert {k: millis_of(p["event_time"]) for k, p in decoded["provenance"].items()} == {
        k: p["event_time"] for k, p in record["provenance"].items()
    }


def test_the_view_record_shows_values_and_their_provenance() -> None:
    updates = history()
    record = view_record(apply_all(updates))
    assert record["person_key"] == PERSON
    assert record["birth_date"] == date(1949, 12, 31)
    assert "registered" not in record
    assert "registered" not in record["provenance"]
    assert record["provenance"]["health_status"] == {
        "department": "health",
        "event_id": "health:b",
        "event_time": millis_of(at(3)),
    }
    assert record["provenance"]["community_code"]["event_id"] == f"{PS}:RB3"
    assert set(record["provenance"]) == {
        "community_code", "dwelling_id", "address", "household_no", "name_masked", "gender",
        "birth_date", "phone_masked", "health_status",
    }  # fmt: skip


def test_fields_without_a_value_have_no_provenance_in_the_view_record() -> None:
    record = view_record(apply_all([update(REGISTERED, registered(at(0), phone_masked=None))]))
    assert record["health_status"] is None
    assert record["phone_masked"] is None
    assert "health_status" not in record["provenance"]
    assert "phone_masked" not in record["provenance"]


def test_each_resident_event_type_writes_the_resident_profile_only() -> None:
    for name in (REGISTERED, MOVED, HEALTH_CHANGED):
        record = registered(at(0)) | {"status": "RED"}
        made = feeds.updates_for(name, PS, "person_key", record, SUBJECTS)
        assert {u.view for u in made} == {"resident_profile"}


def millis_of(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def view_record(row: RowState) -> dict[str, Any]:
    """The Avro record of a shown row, as the worker encodes it."""
    shown = records.resident_record(row)
    assert shown is not None, "the row is shown"
    fields, provenance = shown
    return records.avro_record(CATALOG.view("resident_profile"), row.key, fields, provenance)
