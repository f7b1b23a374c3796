"""Event-to-view latency at a fixed offered load, and its limit through the bare broker.

How the view side is timed: the bench sends each event at a steady rate and polls
the view store for the rows of the events still in flight, every ``POLL_INTERVAL_S``.
On SQLite a poll asks only for the rows inserted since the last one (by rowid: every
event of the run registers a new resident, so each becomes a new, visible row), which
costs the same however far the worker falls behind; asking for every key in flight
took a fifth of the bench's samples at 5,000/s and held the publisher to 740/s.
Elsewhere it asks for the keys in flight.
A row found by a poll became visible after the previous poll began and before this one
began, so its latency is known to within one poll interval, per event; p99 and max are
exact order statistics of those samples. The worker's ``datong_event_to_view_seconds``
histogram times the commit itself, but only to its bucket bounds (0.25 s, 0.5 s,
0.75 s around the targets) and it cannot give a maximum, so it is kept only as a
cross-check: the smallest bucket bound holding 99% of the run's events.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from services.bench.offered import Record, offer
from services.store.database import create_engine
from services.store.models import ViewRow

POLL_INTERVAL_S = 0.01
DRAIN_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Latencies:
    """Latency order statistics of one run, in seconds, and how the load was offered."""

    p50: float
    p99: float
    max: float
    samples: int
    missing: int
    offered_rate: float
    achieved_rate: float


def order_statistics(
    samples: Sequence[float], missing: int, offered: float, achieved: float
) -> Latencies:
    """p50, p99 (nearest rank) and max of ``samples``."""
    ordered = sorted(samples)
    if not ordered:
        return Latencies(math.nan, math.nan, math.nan, 0, missing, offered, achieved)

    def rank(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return Latencies(rank(0.5), rank(0.99), ordered[-1], len(ordered), missing, offered, achieved)


class VisibilityPoller:
    """Finds when rows of ``view`` with the keys handed to ``sent`` first become visible."""

    def __init__(self, database_url: str, view: str) -> None:
        self._engine = create_engine(database_url)
        self._view = view
        self._by_rowid = self._engine.dialect.name == "sqlite"
        self._after_rowid = 0
        self._lock = threading.Lock()
        self._pending: dict[str, float] = {}  # key -> sent at (epoch seconds)
        self._latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="visibility")

    def start(self) -> None:
        """Begin polling in a background thread (rows already there are not timed)."""
        if self._by_rowid:
            with self._engine.connect() as conn:
                self._after_rowid = conn.scalar(sa.text("SELECT max(rowid) FROM view_row")) or 0
        self._thread.start()

    def sent(self, key: str, at: float) -> None:
        """``key``'s event was sent at ``at`` (epoch seconds)."""
        with self._lock:
            self._pending[key] = at

    def wait_all(self, timeout_s: float) -> None:
        """Block until every sent key was seen, or the timeout passed."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return
            time.sleep(0.05)

    def stop(self) -> list[float]:
        """Stop polling; return the latency of every key seen (seconds)."""
        self._stop.set()
        self._thread.join()
        self._engine.dispose()
        return list(self._latencies)

    @property
    def missing(self) -> int:
        """Keys sent but not seen (yet)."""
        with self._lock:
            return len(self._pending)

    def _run(self) -> None:
        # Only the keys in flight are queried, so a poll costs the same at any run length.
        while not self._stop.is_set():
            began = time.time()
            with self._lock:
                pending = list(self._pending)
            found = self._inserted() if self._by_rowid else self._visible(pending)
            with self._lock:
                for key in found:
                    sent_at = self._pending.pop(key, None)
                    if sent_at is not None:  # else a row of the warm-up
                        self._latencies.append(began - sent_at)
            self._stop.wait(max(0.0, POLL_INTERVAL_S - (time.time() - began)))

    def _inserted(self) -> list[str]:
        """Keys of the visible rows of the view inserted since the last call (SQLite)."""
        query = sa.text(
            "SELECT rowid, key FROM view_row WHERE rowid > :after AND view = :view AND visible"
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query, {"after": self._after_rowid, "view": self._view}).all()
        if rows:
            self._after_rowid = max(rowid for rowid, _ in rows)
        return [key for _, key in rows]

    def _visible(self, keys: list[str]) -> list[str]:
        found: list[str] = []
        with self._engine.connect() as conn:
            for start in range(0, len(keys), 500):
                query = sa.select(ViewRow.key).where(
                    ViewRow.view == self._view, ViewRow.key.in_(keys[start : start + 500])
                )
                found += conn.scalars(query)
        return found


def view_latency(
    bootstrap: str,
    record: Callable[[int], Record],
    *,
    database_url: str,
    view: str,
    rate: float,
    seconds: float,
) -> Latencies:
    """Offer ``rate`` events/s of ``record(i)`` for ``seconds``; time each row's arrival.

    Each record's key is the key of the view row it makes.
    """
    poller = VisibilityPoller(database_url, view)
    poller.start()
    total = int(rate * seconds)
    try:
        achieved = asyncio.run(
            offer(bootstrap, total, rate, record, lambda key, at: poller.sent(key.decode(), at))
        )
        poller.wait_all(DRAIN_TIMEOUT_S)
    finally:
        samples = poller.stop()
    return order_statistics(samples, poller.missing, rate, achieved)


def bucket_bound(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """Smallest histogram bucket bound holding ``q`` of the observations between two scrapes.

    ``before`` and ``after`` map each bucket's upper bound (``le``) to its cumulative count.
    """
    total = after.get(math.inf, 0.0) - before.get(math.inf, 0.0)
    for bound in sorted(after):
        if total and after[bound] - before.get(bound, 0.0) >= q * total:
            return bound
    return math.nan


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
