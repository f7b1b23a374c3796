"""The live view store held against writers while a rebuilt store is compared and swapped in.

While a swap is open no merge or fold writes the live store (PostgreSQL: the view tables
locked in EXCLUSIVE mode; SQLite: the write lock), and readers go on reading, as before.
A switch writes only the rows that differ, with a new version and an outbox mark each for
the records subscribers must receive, and drops the community deltas the rebuilt counts
already hold, all in the one transaction: readers see the old views or the new, never a mix.
"""

from __future__ import annotations

import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import set_json_loads
from sqlalchemy.engine import make_url

from services.errors import StoreError
from services.store.merge_store import BatchWrite, ConflictWrite, RowWrite, StoredView, ViewKey
from services.store.postgres_merge import PostgresTransaction
from services.store.shadow import Shadow
from services.store.sqlite_merge import SqliteTransaction, stored_view

# How long a swap waits for the live store's writers; they wait for it the same way.
LOCK_WAIT_S = 60

_CONFLICT_COLUMNS = "view, key, field, event_id, owner, department, event_time_ms"


@dataclass
class SwapWrite:
    """What a switch writes into the live store."""

    rows: list[RowWrite] = field(default_factory=list)
    deleted: list[ViewKey] = field(default_factory=list)  # rows no subscriber ever saw
    republish: list[ViewKey] = field(default_factory=list)
    conflicts_added: list[ConflictWrite] = field(default_factory=list)
    conflicts_removed: list[ConflictWrite] = field(default_factory=list)
    snapshots: list[tuple[str, datetime, dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True)
class Pair:
    """One row that may differ: as the live store has it, and as the rebuilt one has it."""

    view: str
    key: str
    live: StoredView | None
    rebuilt: StoredView | None


class ViewSwap(ABC):
    """An open swap: the live store locked against writers, the rebuilt store beside it."""

    @abstractmethod
    def pairs(self) -> list[Pair]:
        """Every row whose stored form differs between the two stores (possibly only in the
        order of its JSON's keys: the caller compares the values)."""

    @abstractmethod
    def conflicts(self) -> tuple[list[ConflictWrite], list[ConflictWrite]]:
        """The conflicts each store recorded that the other did not: (live's, rebuilt's)."""

    @abstractmethod
    def pending_deltas(self) -> int:
        """How many community deltas the live store holds that no fold has taken yet."""

    @abstractmethod
    def write(self, swap: SwapWrite) -> int:
        """Write ``swap`` into the live store, drop its pending community deltas and commit;
        return the version the rows were written with."""


@contextmanager
def open_swap(shadow: Shadow) -> Iterator[ViewSwap]:
    """Lock the live store against writers until the block ends (rolled back unless written)."""
    parsed = make_url(shadow.live_url)
    if shadow.path is not None:
        with _sqlite_swap(parsed.database or "", shadow) as swap:
            yield swap
        return
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with _postgres_swap(conninfo, shadow) as swap:
        yield swap


# --- PostgreSQL ---------------------------------------------------------------------------------

# Candidates only: JSONB compares by value, so a row whose keys were merely written in
# another order is not one; placeholders of a merge still in flight cannot be seen here.
_PG_PAIRS = """
SELECT coalesce(l.view, r.view), coalesce(l.key, r.key),
       l.key IS NOT NULL, l.community_code, l.visible, l.data, l.provenance, l.state,
       r.key IS NOT NULL, r.community_code, r.visible, r.data, r.provenance, r.state
FROM view_row l FULL JOIN {schema}.view_row r ON l.view = r.view AND l.key = r.key
WHERE l.key IS NULL OR r.key IS NULL
   OR l.community_code IS DISTINCT FROM r.community_code OR l.visible <> r.visible
   OR l.data <> r.data OR l.provenance <> r.provenance OR l.state <> r.state
ORDER BY 1, 2
"""


class _PostgresSwap(ViewSwap):
    def __init__(self, conn: psycopg.Connection[Any], schema: str) -> None:
        self._conn = conn
        self._schema = schema

    def lock(self) -> None:
        # Readers take ACCESS SHARE only, which EXCLUSIVE lets through; every writer of
        # these tables waits. A worker that locked them in the other order meanwhile is a
        # deadlock PostgreSQL breaks by failing one side: that side tries again.
        for attempt in range(10):
            try:
                self._conn.execute(
                    "LOCK TABLE view_row, community_delta, outbox, merge_conflict,"
                    " situation_snapshot IN EXCLUSIVE MODE"
                )
                return
            except pg_errors.DeadlockDetected:
                self._conn.rollback()
                self._session()
                time.sleep(0.2 * (attempt + 1))
        raise StoreError("the live view store stayed busy: try the switch again")

    def _session(self) -> None:
        self._conn.execute(f"SET lock_timeout = '{LOCK_WAIT_S}s'")

    def pairs(self) -> list[Pair]:
        found = []
        for view, key, has_live, *rest in self._conn.execute(_PG_PAIRS.format(schema=self._schema)):
            live, has_rebuilt, rebuilt = rest[:5], rest[5], rest[6:]
            found.append(
                Pair(
                    view,
                    key,
                    StoredView(key, *live) if has_live else None,
                    StoredView(key, *rebuilt) if has_rebuilt else None,
                )
            )
        return found

    def conflicts(self) -> tuple[list[ConflictWrite], list[ConflictWrite]]:
        live = f"SELECT {_CONFLICT_COLUMNS} FROM merge_conflict"
        rebuilt = f"SELECT {_CONFLICT_COLUMNS} FROM {self._schema}.merge_conflict"
        extra = self._conn.execute(f"{live} EXCEPT {rebuilt}").fetchall()
        missing = self._conn.execute(f"{rebuilt} EXCEPT {live}").fetchall()
        return [ConflictWrite(*c) for c in extra], [ConflictWrite(*c) for c in missing]

    def pending_deltas(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM community_delta").fetchone()
        return int(row[0]) if row else 0

    def write(self, swap: SwapWrite) -> int:
        committed = PostgresTransaction(self._conn).write(_batch(swap))
        self._conn.execute(
            "DELETE FROM view_row v USING unnest(%s::text[], %s::text[]) AS d(view, key)"
            " WHERE v.view = d.view AND v.key = d.key",
            ([v for v, _ in swap.deleted], [k for _, k in swap.deleted]),
        )
        for c in swap.conflicts_removed:
            self._conn.execute(
                "DELETE FROM merge_conflict WHERE view = %s AND key = %s AND field = %s"
                " AND event_id = %s",
                (c.view, c.key, c.field, c.event_id),
            )
        self._conn.execute("DELETE FROM community_delta")
        self._conn.commit()
        return committed.version


@contextmanager
def _postgres_swap(conninfo: str, shadow: Shadow) -> Iterator[ViewSwap]:
    assert shadow.schema is not None
    try:
        conn = psycopg.connect(conninfo, autocommit=False)
    except psycopg.Error as exc:
        raise StoreError(f"cannot open the live view store: {exc}") from exc
    try:
        set_json_loads(orjson.loads, conn)
        swap = _PostgresSwap(conn, shadow.schema)
        swap._session()
        try:
            swap.lock()
        except pg_errors.LockNotAvailable as exc:
            raise StoreError(
                f"the live view store's writers held it for more than {LOCK_WAIT_S}s: "
                "try again (datong status shows whether a worker is stuck)"
            ) from exc
        yield swap
    finally:
        if not conn.closed and not conn.broken:
            conn.rollback()
        conn.close()


# --- SQLite -------------------------------------------------------------------------------------

_SQLITE_COLUMNS = "community_code, visible, data, provenance, state"
# Text comparison finds every difference and, where two rows' JSON keys were written in
# another order, a few rows that are equal: the caller compares values.
_SQLITE_PAIRS = f"""
SELECT l.view, l.key, 1, {", ".join("l." + c for c in _SQLITE_COLUMNS.split(", "))},
       r.key IS NOT NULL, {", ".join("r." + c for c in _SQLITE_COLUMNS.split(", "))}
FROM main.view_row l LEFT JOIN rebuilt.view_row r ON l.view = r.view AND l.key = r.key
WHERE r.key IS NULL OR l.community_code IS NOT r.community_code OR l.visible IS NOT r.visible
   OR l.data IS NOT r.data OR l.provenance IS NOT r.provenance OR l.state IS NOT r.state
UNION ALL
SELECT r.view, r.key, 0, NULL, NULL, NULL, NULL, NULL,
       1, {", ".join("r." + c for c in _SQLITE_COLUMNS.split(", "))}
FROM rebuilt.view_row r
WHERE NOT EXISTS (SELECT 1 FROM main.view_row l WHERE l.view = r.view AND l.key = r.key)
ORDER BY 1, 2
"""


class _SqliteSwap(ViewSwap):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def pairs(self) -> list[Pair]:
        found = []
        for view, key, has_live, *rest in self._conn.execute(_SQLITE_PAIRS):
            live, has_rebuilt, rebuilt = rest[:5], rest[5], rest[6:]
            found.append(
                Pair(
                    view,
                    key,
                    stored_view((key, *live)) if has_live else None,
                    stored_view((key, *rebuilt)) if has_rebuilt else None,
                )
            )
        return found

    def conflicts(self) -> tuple[list[ConflictWrite], list[ConflictWrite]]:
        live = f"SELECT {_CONFLICT_COLUMNS} FROM main.merge_conflict"
        rebuilt = f"SELECT {_CONFLICT_COLUMNS} FROM rebuilt.merge_conflict"
        extra = self._conn.execute(f"{live} EXCEPT {rebuilt}").fetchall()
        missing = self._conn.execute(f"{rebuilt} EXCEPT {live}").fetchall()
        return [ConflictWrite(*c) for c in extra], [ConflictWrite(*c) for c in missing]

    def pending_deltas(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM main.community_delta").fetchone()
        return int(row[0]) if row else 0

    def write(self, swap: SwapWrite) -> int:
        committed = SqliteTransaction(self._conn).write(_batch(swap))
        self._conn.executemany(
            "DELETE FROM main.view_row WHERE view = ? AND key = ?", list(swap.deleted)
        )
        self._conn.executemany(
            "DELETE FROM main.merge_conflict WHERE view = ? AND key = ? AND field = ?"
            " AND event_id = ?",
            [(c.view, c.key, c.field, c.event_id) for c in swap.conflicts_removed],
        )
        self._conn.execute("DELETE FROM main.community_delta")
        self._conn.execute("COMMIT")
        return committed.version


@contextmanager
def _sqlite_swap(path: str, shadow: Shadow) -> Iterator[ViewSwap]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout={LOCK_WAIT_S * 1000}")
        conn.execute("ATTACH DATABASE ? AS rebuilt", (str(shadow.path),))
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(
                f"the live view store stayed locked for {LOCK_WAIT_S}s ({exc}): try again"
            ) from exc
        try:
            yield _SqliteSwap(conn)
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
    finally:
        conn.close()


def _batch(swap: SwapWrite) -> BatchWrite:
    return BatchWrite(
        rows=swap.rows,
        outbox=swap.republish,
        conflicts=swap.conflicts_added,
        snapshots=swap.snapshots,
    )
