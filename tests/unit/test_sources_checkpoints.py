"""Checkpoints: positions of any source kind, read-back offsets that only move forward."""

from __future__ import annotations

import json
from pathlib import Path

from connectors.checkpoints import Checkpoint, FileCheckpoints

TOPIC = "src.public-security.resident-registered"


def test_a_new_source_begins_with_offsets_and_no_position(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    FileCheckpoints(path).begin("reg.csv", {TOPIC: {0: 10, 1: 7}})
    reopened = FileCheckpoints(path)
    assert reopened.entry("reg.csv") == Checkpoint(
        None, {TOPIC: {0: 10, 1: 7}}, origin={TOPIC: {0: 10, 1: 7}}
    )
    assert reopened.get("reg.csv") is None
    assert reopened.entry("other.csv") is None


def test_saved_offsets_only_move_forward_and_untouched_partitions_keep_theirs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cp.json"
    checkpoints = FileCheckpoints(path)
    checkpoints.begin("reg.csv", {TOPIC: {0: 10, 1: 7}})
    checkpoints.save("reg.csv", 1000, {TOPIC: {0: 500}, "dlq.public-security": {0: 3}})
    checkpoints.save("reg.csv", 2000, {TOPIC: {0: 400}})
    assert FileCheckpoints(path).entry("reg.csv") == Checkpoint(
        2000, {TOPIC: {0: 500, 1: 7}, "dlq.public-security": {0: 3}}, origin={TOPIC: {0: 10, 1: 7}}
    )


def test_string_positions_of_sql_sources_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    position = '["2024-03-05T10:00:00+08:00", 42]'
    FileCheckpoints(path).save("sql:dept/登记表#updated_at", position, {})
    assert FileCheckpoints(path).get("sql:dept/登记表#updated_at") == position


def test_checkpoint_files_of_the_earlier_format_are_read(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    path.write_text(json.dumps({"reg.csv": 7}))
    checkpoints = FileCheckpoints(path)
    assert checkpoints.entry("reg.csv") == Checkpoint(7, None)
    checkpoints.save("reg.csv", 9)
    assert FileCheckpoints(path).entry("reg.csv") == Checkpoint(9, None)


def test_a_reset_starts_a_file_again_and_is_the_same_done_twice(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    checkpoints = FileCheckpoints(path)
    checkpoints.save("核酸.xlsx@3f2a", 40, {TOPIC: {0: 12}})
    checkpoints.save("/srv/drop/reg.csv", 7, {TOPIC: {0: 3}})
    assert checkpoints.reset("核酸.xlsx") == ["核酸.xlsx@3f2a"]
    assert checkpoints.reset("核酸.xlsx") == ["核酸.xlsx@3f2a"]
    reopened = FileCheckpoints(path)
    assert reopened.entry("核酸.xlsx@3f2a") == Checkpoint(None, None, reset=True)
    assert reopened.get("/srv/drop/reg.csv") == 7
    assert reopened.reset("reg.csv") == ["/srv/drop/reg.csv"]  # a file given by its path


def test_a_reset_of_every_source_and_of_an_unknown_file(tmp_path: Path) -> None:
    checkpoints = FileCheckpoints(tmp_path / "cp.json")
    assert checkpoints.reset() == []
    checkpoints.save("a.csv", 1)
    checkpoints.save("b.csv", 2)
    assert checkpoints.reset("c.csv") == []
    assert sorted(checkpoints.reset()) == ["a.csv", "b.csv"]
    assert checkpoints.names() == ["a.csv", "b.csv"]


def test_the_first_save_after_a_reset_ends_it(tmp_path: Path) -> None:
    checkpoints = FileCheckpoints(tmp_path / "cp.json")
    checkpoints.save("a.csv", 9)
    checkpoints.reset("a.csv")
    checkpoints.save("a.csv", 3, {TOPIC: {0: 5}})
    assert FileCheckpoints(tmp_path / "cp.json").entry("a.csv") == Checkpoint(3, {TOPIC: {0: 5}})


def test_where_a_source_began_is_kept_through_saves_and_resets(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    checkpoints = FileCheckpoints(path)
    checkpoints.begin("a.csv", {TOPIC: {0: 10, 1: 7}})
    checkpoints.save("a.csv", 500, {TOPIC: {0: 900, 1: 800}})
    checkpoints.reset("a.csv")
    assert FileCheckpoints(path).entry("a.csv") == Checkpoint(
        None, None, reset=True, origin={TOPIC: {0: 10, 1: 7}}
    )
    checkpoints.save("a.csv", 3, {TOPIC: {0: 950}})
    assert FileCheckpoints(path).entry("a.csv") == Checkpoint(
        3, {TOPIC: {0: 950}}, origin={TOPIC: {0: 10, 1: 7}}
    )


def test_the_origins_of_several_sources_are_their_lowest_offsets(tmp_path: Path) -> None:
    checkpoints = FileCheckpoints(tmp_path / "cp.json")
    checkpoints.begin("a.csv", {TOPIC: {0: 10, 1: 7}})
    checkpoints.begin("b.csv", {TOPIC: {0: 4, 1: 9}, "dlq.public-security": {0: 2}})
    checkpoints.save("legacy.csv", 5, {TOPIC: {0: 1}})  # saved before origins were kept
    assert checkpoints.origins(["a.csv", "b.csv"]) == {
        TOPIC: {0: 4, 1: 7},
        "dlq.public-security": {0: 2},
    }
    assert checkpoints.origins(["a.csv"]) == {TOPIC: {0: 10, 1: 7}}
    assert checkpoints.origins(["a.csv", "legacy.csv"]) == {}  # from the beginning
    assert checkpoints.origins(["a.csv", "never-seen.csv"]) == {}
