"""The planner's statistics of the view rows, refreshed beside the merge, never inside it.

A fast-growing ``view_row`` has no statistics until autovacuum gets to it, and without them
the planner scans the whole table for every batch's key lookup (measured: 33 ms per 500
keys at 100k rows, 2 ms after ANALYZE). But an ANALYZE of the whole row takes about a second
at 40k rows (it samples the three JSONB columns), and run in the merge's thread it stalled
every event behind it for that long each time the store doubled: the event-to-view p99 at
1,000/s. So only the columns the merge and the API look rows up by are analysed (about
0.2 s at 40k rows), on a connection of its own, in a thread of its own.
"""

from __future__ import annotations

import logging
import threading

import psycopg

log = logging.getLogger(__name__)

ANALYZE = "ANALYZE view_row (view, key, community_code, visible, version)"
CLOSE_WAIT_S = 30.0


class BackgroundAnalyze:
    """Runs ANALYZE on ``view_row`` in a thread when asked; one at a time, none lost."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False

    def request(self) -> None:
        """Refresh the statistics soon, without waiting (once more if one is running)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return
            self._thread = threading.Thread(target=self._run, name="datong-analyze", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(ANALYZE)
            except psycopg.Error as exc:
                # Statistics are an optimisation: the merge goes on, autovacuum catches up.
                log.warning("refreshing the view rows' statistics failed: %s", exc)
            with self._lock:
                if not self._again:
                    return
                self._again = False

    def close(self) -> None:
        """Wait (a bounded time) for a running ANALYZE, so no connection outlives the store."""
        with self._lock:
            self._again = False
            thread = self._thread
        if thread is not None:
            thread.join(CLOSE_WAIT_S)
