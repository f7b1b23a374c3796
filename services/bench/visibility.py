"""When each row of a view first became visible: a poller of the view store, in a thread.

The bench offers a load of new registrations, each making a new visible row, and polls
the store every ``POLL_INTERVAL_S`` without scanning it:

* SQLite: the rows inserted since the last poll (by rowid), so a poll costs the same
  however far behind the worker is; asking for every key in flight took a fifth of the
  bench's samples at 5,000/s and held the sender to 740/s;
* PostgreSQL: the oldest keys in flight of each partition, and more of a partition only
  while all of them are visible (``inflight.py``), then, before an event is declared
  lost, every key left (the final sweep; what it finds is counted in ``swept``).

A row found by a poll became visible after the previous poll began and before this one
did, so each event's latency is known to within one poll interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable

import sqlalchemy as sa

from services.bench.inflight import InFlight
from services.bench.processes import BenchError
from services.store.database import create_engine
from services.store.models import ViewRow

POLL_INTERVAL_S = 0.01
SWEEP_CHUNK = 1000

NEW_ROWS = sa.text(
    "SELECT rowid, key FROM view_row WHERE rowid > :after AND view = :view AND visible"
)
VISIBLE_OF = sa.text("SELECT key FROM view_row WHERE view = :view AND visible AND key = ANY(:keys)")


class VisibilityPoller:
    """First-visible times (epoch seconds) of the rows of ``view``, keyed by row key."""

    def __init__(self, database_url: str, view: str, partitions: int) -> None:
        self._engine = create_engine(database_url)
        self._view = view
        self._by_rowid = self._engine.dialect.name == "sqlite"
        self._after_rowid = 0
        self._in_flight = InFlight(partitions)
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}
        self.swept = 0  # rows only the final sweep found (their worker broke partition order)
        self._stop = threading.Event()
        self._failed: str | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="visibility")

    def start(self) -> None:
        """Begin polling (rows already there are never reported)."""
        if self._by_rowid:
            with self._engine.connect() as conn:
                self._after_rowid = conn.scalar(sa.text("SELECT max(rowid) FROM view_row")) or 0
        self._thread.start()

    def sent(self, key: str, _at: float = 0.0) -> None:
        """``key``'s event was sent: the sender's callback (in send order)."""
        if not self._by_rowid:
            self._in_flight.sent(key)

    def wait_all(self, keys: Collection[str], timeout_s: float) -> bool:
        """Wait until every one of ``keys`` was seen, or ``timeout_s``; whether all were."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._check()
            with self._lock:
                if all(k in self._seen for k in keys):
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def stop(self) -> dict[str, float]:
        """Stop polling, sweep every key left (PostgreSQL); return each row's first-visible
        time (rows of keys nobody sent, a warm-up's, included)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self._check()
            if not self._by_rowid:
                with self._engine.connect() as conn:
                    self.swept = len(self._sweep(conn, self._in_flight.pending()))
        finally:
            self._engine.dispose()
        with self._lock:
            return dict(self._seen)

    def _run(self) -> None:
        try:
            self._poll_until_stopped()
        except Exception as exc:  # every event would look lost: say why instead
            self._failed = f"{type(exc).__name__}: {exc}"

    def _check(self) -> None:
        if self._failed is not None:
            raise BenchError(f"the visibility poller failed: {self._failed}")

    def _poll_until_stopped(self) -> None:
        # One connection for the run, each query its own transaction: no ping at every
        # checkout, no snapshot held (SQLite's WAL would show none of the new rows, and
        # PostgreSQL's vacuum would wait for the poller).
        with self._engine.connect() as opened:
            conn = opened.execution_options(isolation_level="AUTOCOMMIT")
            while not self._stop.is_set():
                began = time.time()
                if self._by_rowid:
                    self._record(self._inserted(conn), began)
                else:
                    self._in_flight.poll(lambda keys: self._visible(conn, keys))
                self._stop.wait(max(0.0, POLL_INTERVAL_S - (time.time() - began)))

    def _record(self, keys: Iterable[str], at: float) -> None:
        with self._lock:
            for key in keys:
                self._seen.setdefault(key, at)

    def _inserted(self, conn: sa.Connection) -> list[str]:
        """Keys of the visible rows of the view inserted since the last call (SQLite)."""
        rows = conn.execute(NEW_ROWS, {"after": self._after_rowid, "view": self._view}).all()
        if rows:
            self._after_rowid = max(rowid for rowid, _ in rows)
        return [key for _, key in rows]

    def _visible(self, conn: sa.Connection, keys: list[str]) -> set[str]:
        """Which of ``keys`` are visible rows of the view now, recorded as seen now."""
        at = time.time()
        found = set(conn.scalars(VISIBLE_OF, {"view": self._view, "keys": keys}))
        self._record(found, at)
        return found

    def _sweep(self, conn: sa.Connection, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), SWEEP_CHUNK):
            found |= self._visible(conn, keys[start : start + SWEEP_CHUNK])
        return found


def wait_visible(
    database_url: str, view: str, key: str, timeout_s: float, check: Callable[[], None]
) -> float:
    """Wait until ``view`` has a row ``key``; ``check`` raises if its writer died. Seconds."""
    engine = create_engine(database_url)
    started = time.monotonic()
    query = sa.select(ViewRow.key).where(ViewRow.view == view, ViewRow.key == key)
    try:
        while time.monotonic() - started < timeout_s:
            check()
            with engine.connect() as conn:
                if conn.scalar(query) is not None:
                    return time.monotonic() - started
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise TimeoutError(f"no {view} row {key[:12]}... after {timeout_s}s")
