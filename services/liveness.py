"""Whether a process's work loop is alive: it advances while it has work, or it has none.

A side thread answering 200 says only that the process exists; a consumer wedged on a lock
or a hung broker connection would never be restarted. The loop itself reports what it
sees (how far it got, whether work waits), and ``/healthz`` judges from that report. Idle
is healthy: a worker with no lag or a connector with an empty drop folder has nothing to
advance on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class LoopHealth:
    """What ``/healthz`` answers: alive or not, and why, for the operator reading it."""

    alive: bool
    detail: str


class Liveness:
    """The last report of one work loop, judged against ``stall_s``.

    Reports come from the loop's thread (or event loop), the verdict is asked for from the
    metrics server's thread: a lock keeps the two consistent.
    """

    def __init__(self, stall_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._stall_s = stall_s
        self._clock = clock
        self._lock = threading.Lock()
        self._position: Hashable = None
        self._pending = False
        self._moved_at = clock()

    def observe(self, position: Hashable, pending: bool) -> None:
        """Record where the loop is and whether work waits for it.

        The stall is timed from the last change of ``position``, or from the moment work
        appeared after an idle spell: a loop that sat idle for an hour has not been stuck
        for an hour when a record arrives.
        """
        with self._lock:
            now = self._clock()
            if position != self._position or (pending and not self._pending):
                self._moved_at = now
            self._position, self._pending = position, pending

    def health(self) -> LoopHealth:
        """Alive unless work waits and the loop has not advanced for ``stall_s`` seconds."""
        with self._lock:
            still = self._clock() - self._moved_at
            if not self._pending:
                return LoopHealth(True, "idle: nothing waiting")
            if still > self._stall_s:
                return LoopHealth(
                    False,
                    f"work waiting and no progress for {still:.0f} s "
                    f"(DATONG_LIVENESS_STALL_S={self._stall_s:g})",
                )
            return LoopHealth(True, "advancing")
