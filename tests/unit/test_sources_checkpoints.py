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
    assert reopened.entry("reg.csv") == Checkpoint(None, {TOPIC: {0: 10, 1: 7}})
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
        2000, {TOPIC: {0: 500, 1: 7}, "dlq.public-security": {0: 3}}
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
