"""How a rebuilt store is compared with the live one, and what a switch writes from that."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.rebuild.compare import EMPTY, ComparedRow, Comparison, Conflict, Difference, summary
from services.rebuild.procedure import swap_write

NOW = datetime(2026, 12, 7, 14, 35, 12, tzinfo=UTC)


def row(
    *,
    visible: bool = True,
    community: str | None = "C1",
    state: dict[str, Any] | None = None,
    provenance: dict[str, Any] | None = None,
    **data: Any,
) -> ComparedRow:
    """A view row: ``data`` is its record; provenance defaults to one health event per field."""
    return ComparedRow(
        community,
        visible,
        data,
        provenance if provenance is not None else {f: ["health", "e1", 1] for f in data},
        state or {},
    )


def compared(*pairs: tuple[str, str, ComparedRow | None, ComparedRow | None]) -> Comparison:
    comparison = Comparison()
    for view, key, live, rebuilt in pairs:
        comparison.add_row(view, key, live, rebuilt)
    return comparison


def test_rows_equal_in_value_have_no_difference_whatever_their_key_order() -> None:
    live = ComparedRow("C1", True, {"a": 1, "b": 2}, {}, {"v": {"x": 1, "y": 2}})
    rebuilt = ComparedRow("C1", True, {"b": 2, "a": 1}, {}, {"v": {"y": 2, "x": 1}})

    assert not compared(("resident_profile", "p1", live, rebuilt))


def test_a_changed_field_is_named_with_both_values() -> None:
    comparison = compared(
        ("resident_profile", "p1", row(health_status="PURPLE"), row(health_status="YELLOW"))
    )

    assert comparison.differences == [
        Difference("resident_profile", "p1", "health_status", "PURPLE", "YELLOW")
    ]
    assert comparison.republish == [("resident_profile", "p1")]


def test_provenance_and_state_differences_are_named_by_their_prefix() -> None:
    live = row(state={"versions": {"a": 1}}, provenance={"a": ["health", "e1", 1]}, a=1)
    rebuilt = row(state={"versions": {"a": 2}}, provenance={"a": ["health", "e2", 2]}, a=1)

    fields = [d.field for d in compared(("household", "d1", live, rebuilt)).differences]

    assert fields == ["provenance.a", "state.versions"]


def test_a_state_only_difference_is_written_but_not_sent_to_subscribers() -> None:
    comparison = compared(
        ("resident_profile", "p1", row(a=1, state={"x": 1}), row(a=1, state={"x": 2}))
    )

    write = swap_write(comparison, NOW)

    assert [(r.view, r.key) for r in write.rows] == [("resident_profile", "p1")]
    assert write.republish == []


def test_a_row_only_the_rebuild_has_is_created_and_sent() -> None:
    comparison = compared(("alert", "a1", None, row(kind="WELFARE")))

    write = swap_write(comparison, NOW)

    assert [(r.key, r.new, r.data) for r in write.rows] == [("a1", True, {"kind": "WELFARE"})]
    assert write.republish == [("alert", "a1")]


def test_a_shown_row_the_rebuild_lacks_is_emptied_so_subscribers_get_a_tombstone() -> None:
    comparison = compared(("alert", "a1", row(kind="WELFARE"), None))

    write = swap_write(comparison, NOW)

    assert [(r.key, r.visible, r.data, r.state, r.new) for r in write.rows] == [
        ("a1", False, {}, {}, False)
    ]
    assert write.republish == [("alert", "a1")]
    assert write.deleted == []


def test_a_hidden_row_the_rebuild_lacks_is_deleted_without_a_message() -> None:
    hidden = row(visible=False, community=None, state={"erased": 5})

    write = swap_write(compared(("resident_profile", "p1", hidden, None)), NOW)

    assert write.deleted == [("resident_profile", "p1")]
    assert write.rows == [] and write.republish == []


def test_an_empty_hidden_row_equals_no_row() -> None:
    assert not compared(("alert", "a1", EMPTY, None))


def test_a_changed_community_row_gets_this_hours_snapshot() -> None:
    comparison = compared(
        ("community_situation", "C1", row(total=3), row(total=4)),
        ("community_situation", "C2", row(total=1), row(visible=False, total=1)),
    )

    write = swap_write(comparison, NOW)

    assert write.snapshots == [("C1", datetime(2026, 12, 7, 14, tzinfo=UTC), {"total": 4})]


def test_conflicts_only_one_store_recorded_are_differences_and_are_synchronised() -> None:
    kept = Conflict("household", "d1", "suitable", "e1", "housing", "grid", 10)
    lost = Conflict("household", "d1", "suitable", "e2", "housing", "grid", 11)
    stray = Conflict("household", "d2", "suitable", "e9", "housing", "grid", 12)
    comparison = Comparison()

    comparison.add_conflicts(live=[kept, stray], rebuilt=[kept, lost])
    write = swap_write(comparison, NOW)

    assert [d.field for d in comparison.differences] == [
        "conflict suitable e2",
        "conflict suitable e9",
    ]
    assert [c.event_id for c in write.conflicts_added] == ["e2"]
    assert [c.event_id for c in write.conflicts_removed] == ["e9"]


def test_the_summary_names_each_difference_then_counts_them_all() -> None:
    comparison = compared(
        ("resident_profile", "p1", row(a=1, b=1), row(a=2, b=2)),
        ("household", "d1", row(n=1), row(n="x" * 100)),
    )

    lines = summary(comparison, limit=2)

    assert lines[0] == "resident_profile  p1  a  live=1  rebuilt=2"
    assert lines[1] == "resident_profile  p1  b  live=1  rebuilt=2"
    assert lines[2] == "... and 1 more differences"
    assert lines[3] == "3 differences in 2 rows (household 1, resident_profile 1)"


def test_the_summary_of_equal_stores_says_so() -> None:
    assert summary(Comparison(), limit=10) == [
        "no difference: the rebuilt views equal the live ones"
    ]
