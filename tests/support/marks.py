"""A merge worker's test marks (``services/merge/marks.py``) from the test's side: start a
worker that halts at a chosen mark, SIGKILL it once the marks file says it is there.

A halted worker does nothing but wait, so a kill after its ``halted`` line lands at that very
point: inside a merge transaction (``inside``), or between a commit and the publishing of
its changes and offsets (``committed``). The file is the proof of where each kill landed.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

from tests.support.hub import Hub


@dataclass(frozen=True)
class Landed:
    """Where one SIGKILL landed, as the killed worker wrote it before halting."""

    pid: int
    mark: str
    count: int  # the worker had reached the mark this many times (this batch included)


def halted(path: Path) -> list[Landed]:
    """Every halt the marks file records, oldest first."""
    if not path.exists():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        pid, mark, count, *rest = line.split()
        if rest == ["halted"]:
            found.append(Landed(int(pid), mark, int(count)))
    return found


def kill_at_mark(hub: Hub, marks: Path, mark: str, count: int) -> Landed:
    """Start a worker that halts the ``count``-th time it reaches ``mark``, wait until it has
    (its line in ``marks``), SIGKILL it there and return the line."""
    worker = hub.start(
        "worker", env={"DATONG_TEST_MARKS": str(marks), "DATONG_TEST_HALT": f"{mark}:{count}"}
    )

    def arrived() -> Landed | None:
        return next((h for h in halted(marks) if h.pid == worker.pid), None)

    landed: Landed = hub.wait_for(arrived, f"the worker to halt at {mark} {count}", 120)
    hub.kill(worker, signal.SIGKILL)
    return landed
