"""The merge worker's test marks: a durable line per mark reached, a halt only where asked."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from services.merge.marks import Marks, open_marks
from services.settings import Settings
from tests.support.waiting import wait_for


def test_without_a_marks_file_the_worker_keeps_no_marks(tmp_path: Path) -> None:
    assert open_marks(Settings.from_env({"DATONG_VAR_DIR": str(tmp_path)})) is None


def test_each_mark_reached_is_a_line_with_the_process_and_its_count(tmp_path: Path) -> None:
    marks = Marks(tmp_path / "marks")
    for mark in ("inside", "committed", "inside", "committed"):
        marks.reached(mark)
    lines = [line.split() for line in (tmp_path / "marks").read_text().splitlines()]
    assert [line[1:] for line in lines] == [
        ["inside", "1"],
        ["committed", "1"],
        ["inside", "2"],
        ["committed", "2"],
    ]
    assert {line[0] for line in lines} == {str(os.getpid())}


def test_the_worker_halts_after_writing_the_chosen_mark(tmp_path: Path) -> None:
    marks = Marks(tmp_path / "marks", halt=("committed", 2))
    reached: list[str] = []

    def merge_three_batches() -> None:
        for _ in range(3):
            marks.reached("inside")
            marks.reached("committed")
            reached.append("batch")

    # A daemon: once halted it never ends, as a halted worker waits for its SIGKILL.
    thread = threading.Thread(target=merge_three_batches, daemon=True)
    thread.start()
    file = tmp_path / "marks"  # written by the thread: it may not exist at the first look
    wait_for(lambda: file.exists() and "halted" in file.read_text(), what="the halt")
    assert thread.is_alive(), "halted"
    assert reached == ["batch"], "the second batch halted before it could go on"
    last = (tmp_path / "marks").read_text().splitlines()[-1].split()[1:]
    assert last == ["committed", "2", "halted"]
