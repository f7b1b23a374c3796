"""Test-only marks: where a merge worker is, written down for the fault tests.

Under ``DATONG_TEST_MARKS`` the worker appends a line to that file each time it reaches a
mark, flushed and fsynced before it goes on, so a test reading the file knows the worker got
there even if it is SIGKILLed the next instant:

- ``inside``: a batch's rows are written and its merge transaction is not committed yet;
- ``committed``: the transaction is committed and nothing of it is published, nor are its
  offsets committable yet.

``DATONG_TEST_HALT=<mark>:<n>`` makes the worker stop for good right after writing the n-th
line of that mark (``... halted``): a SIGKILL then lands exactly there, which is how the
fault tests prove where their kills landed instead of guessing from timing. Off by default:
the worker then holds no marks at all and pays one ``None`` check per batch.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

from services.settings import Settings

Halt = tuple[str, int]


class Marks:
    """Appends ``<pid> <mark> <n>[ halted]`` lines to a file, and halts at one if asked."""

    def __init__(self, path: Path, halt: Halt | None = None) -> None:
        self._path = path
        self._halt = halt
        self._reached: Counter[str] = Counter()
        self._pid = os.getpid()

    def reached(self, mark: str) -> None:
        """Write that ``mark`` is reached (durably); halt forever if it is the chosen one."""
        self._reached[mark] += 1
        halting = self._halt == (mark, self._reached[mark])
        line = f"{self._pid} {mark} {self._reached[mark]}{' halted' if halting else ''}\n"
        with self._path.open("a", encoding="utf-8") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())
        if halting:
            # Held until the test kills the process: an open transaction stays open, a
            # committed batch stays unpublished. The event loop (heartbeats) runs on.
            threading.Event().wait()


def open_marks(settings: Settings) -> Marks | None:
    """The worker's marks under ``DATONG_TEST_MARKS``, None (the default) otherwise."""
    if settings.test_marks is None:
        return None
    return Marks(settings.test_marks, settings.test_halt)
