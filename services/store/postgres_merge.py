"""The merge store on PostgreSQL: row locks under READ COMMITTED, one round trip of writes.

Why row locks and not SERIALIZABLE: workers own partitions of persons, dwellings and
communities, but a resident's batch also writes the household it lives in, which another
worker's batch may be writing. Under SERIALIZABLE one of the two aborts at commit and the
whole batch is merged again, so adding workers adds retries. Here each batch locks the
rows it read (``SELECT … FOR UPDATE``, in key order, view by view in the order the merge
reads them), so a second worker waits a moment for the first instead of failing, and the
order (``LOCK_ORDER``, which a publisher's resend follows too) rules out deadlocks. A row
neither worker found is created by one; the other's insert then finds it and that batch
alone is merged again (ConcurrentWriteError).

Every write of a batch goes in one statement (data-modifying CTEs over ``unnest`` arrays),
sent together with the commit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import set_json_loads

from services.store.merge_store import (
    BatchWrite,
    Committed,
    ConcurrentWriteError,
    Json,
    MergeStore,
    MergeTransaction,
    PendingEntry,
    StoredView,
    ViewKey,
)
from services.store.postgres_merge_sql import (
    COLUMNS,
    COMMUNITY_LOCKS,
    CREATE_PLACEHOLDERS,
    LOCK_ORDER,
    PLACEHOLDER_VERSION,
    RENOVATION_LOCK,
    SESSION,
    WRITE_BATCH,
    json_text,
    row_json,
)
from services.store.statistics import BackgroundAnalyze


class PostgresTransaction(MergeTransaction):
    """The merge's reads and writes on an open psycopg transaction (also the rebuild's switch)."""

    def __init__(self, conn: psycopg.Connection[Any], locks: int = 0) -> None:
        self._conn = conn
        self._locks = locks
        self.placeholders: set[ViewKey] = set()

    def rows(self, view: str, keys: Collection[str]) -> dict[str, StoredView]:
        if not keys:
            return {}
        ordered = sorted(keys)
        # Two statements, one round trip: the lock's snapshot comes after the inserts.
        with self._conn.pipeline():
            self._conn.execute(CREATE_PLACEHOLDERS, (view, ordered))
            cursor = self._conn.execute(
                f"SELECT {COLUMNS}, version FROM view_row WHERE view = %s AND key = ANY(%s)"
                " ORDER BY key FOR UPDATE",
                (view, ordered),
            )
            found = cursor.fetchall()
        rows = {}
        for *columns, version in found:
            if version == PLACEHOLDER_VERSION:
                self.placeholders.add((view, columns[0]))
            else:
                rows[columns[0]] = StoredView(*columns)
        return rows

    def peek(self, view: str, keys: Collection[str]) -> dict[str, StoredView]:
        if not keys:
            return {}
        rows = self._conn.execute(
            f"SELECT {COLUMNS} FROM view_row WHERE view = %s AND key = ANY(%s)"
            f" AND version <> {PLACEHOLDER_VERSION}",
            (view, sorted(keys)),
        ).fetchall()
        return {r[0]: StoredView(*r) for r in rows}

    def household_keys(self, community: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT key FROM view_row WHERE view = 'household' AND community_code = %s",
            (community,),
        ).fetchall()
        return [r[0] for r in rows]

    def freshness(self, wanted: Mapping[str, Collection[str]]) -> dict[str, dict[str, int]]:
        pairs = [(c, d) for c, departments in wanted.items() for d in sorted(departments)]
        rows = self._conn.execute(
            "SELECT w.community, w.department,"
            " max((r.state -> 'values' ->> ('fresh/' || w.department))::bigint)"
            " FROM unnest(%s::text[], %s::text[]) AS w(community, department)"
            " JOIN view_row r ON r.community_code = w.community"
            " AND r.view IN ('resident_profile', 'household')"
            " GROUP BY 1, 2",
            ([c for c, _ in pairs], [d for _, d in pairs]),
        ).fetchall()
        found: dict[str, dict[str, int]] = {}
        for community, department, millis in rows:
            if millis is not None:
                found.setdefault(community, {})[department] = int(millis)
        return found

    def lock_communities(self, communities: Collection[str]) -> list[str]:
        # Try-locks never wait, so taking them in one statement cannot deadlock.
        rows = self._conn.execute(
            "SELECT c FROM unnest(%s::text[]) AS c"
            " WHERE pg_try_advisory_xact_lock(%s, hashtext(c))",
            (sorted(communities), COMMUNITY_LOCKS + self._locks),
        ).fetchall()
        return sorted(r[0] for r in rows)

    def take_deltas(self, communities: Collection[str]) -> list[tuple[str, Json]]:
        if not communities:
            return []
        rows = self._conn.execute(
            "DELETE FROM community_delta WHERE community_code = ANY(%s)"
            " RETURNING id, community_code, delta",
            (sorted(communities),),
        ).fetchall()
        return [(community, delta) for _, community, delta in sorted(rows)]

    def exclusive(self) -> None:
        self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (RENOVATION_LOCK + self._locks,))

    def write(self, batch: BatchWrite) -> Committed:
        rows = sorted(batch.rows, key=lambda r: (r.view, r.key))
        held = self.placeholders
        created = [row_json(r) for r in rows if r.new and (r.view, r.key) not in held]
        unwritten = held - {(r.view, r.key) for r in rows}
        params: dict[str, Any] = {
            "now": datetime.now(UTC),
            "updated": json_text(
                [row_json(r) for r in rows if not r.new or (r.view, r.key) in held]
            ),
            "unwritten": json_text(sorted(unwritten)),
            "created": json_text(created),
            "outbox": json_text(batch.outbox),
            "deltas": json_text([{"community_code": c, "delta": d} for c, d in batch.deltas]),
            "conflicts": json_text([asdict(c) for c in batch.conflicts]),
            "snapshots": json_text(
                [
                    {"community_code": c, "taken_at": t.isoformat(), "data": d}
                    for c, t, d in batch.snapshots
                ]
            ),
        }
        found = self._conn.execute(WRITE_BATCH, params).fetchone()
        assert found is not None
        version, inserted, ids = found
        if inserted != len(created):
            raise ConcurrentWriteError(
                "new_row", "another worker created a row this batch found absent"
            )
        return Committed(int(version), list(ids))


class PostgresMergeStore(MergeStore):
    """The merge store on one psycopg connection (not shared between threads).

    ``locks`` shifts the advisory lock keys: a rebuild's store in a schema of its own merges
    beside the live workers without waiting for their locks, nor they for its.
    """

    def __init__(self, conninfo: str, locks: int = 0) -> None:
        self._conninfo = conninfo
        self._locks = locks
        self._conn: psycopg.Connection[Any] | None = None
        self._statistics = BackgroundAnalyze(conninfo)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self._conninfo, autocommit=False)
            set_json_loads(orjson.loads, self._conn)
            self._conn.execute(SESSION)
            self._conn.commit()
        return self._conn

    @contextmanager
    def transaction(self, *, merge: bool = True) -> Iterator[MergeTransaction]:
        conn = self._connection()
        try:
            if merge:
                conn.execute(
                    "SELECT pg_advisory_xact_lock_shared(%s)", (RENOVATION_LOCK + self._locks,)
                )
            yield PostgresTransaction(conn, self._locks)
            conn.commit()
        except pg_errors.DeadlockDetected as exc:
            self._rollback(conn)
            raise ConcurrentWriteError("deadlock", f"PostgreSQL found a deadlock: {exc}") from exc
        except pg_errors.LockNotAvailable as exc:
            self._rollback(conn)
            raise ConcurrentWriteError(
                "lock_timeout", "a row stayed locked past lock_timeout"
            ) from exc
        except BaseException:
            self._rollback(conn)
            raise

    @staticmethod
    def _rollback(conn: psycopg.Connection[Any]) -> None:
        if not conn.closed and not conn.broken:
            conn.rollback()

    def pending_communities(self) -> list[str]:
        conn = self._connection()
        rows = conn.execute("SELECT DISTINCT community_code FROM community_delta").fetchall()
        conn.commit()
        return sorted(r[0] for r in rows)

    def communities(self) -> list[str]:
        conn = self._connection()
        rows = conn.execute(
            "SELECT key FROM view_row WHERE view = 'community_situation'"
        ).fetchall()
        conn.commit()
        return sorted(r[0] for r in rows)

    def finish(self, committed: Committed, published: Sequence[ViewKey]) -> list[ViewKey]:
        conn = self._connection()
        rows = conn.execute(
            "WITH gone AS (DELETE FROM outbox WHERE id = ANY(%(ids)s))"
            " SELECT r.view, r.key FROM view_row r"
            " JOIN unnest(%(views)s::text[], %(keys)s::text[]) AS p(view, key)"
            " ON r.view = p.view AND r.key = p.key WHERE r.version > %(version)s",
            {
                "ids": committed.outbox_ids,
                "views": [v for v, _ in published],
                "keys": [k for _, k in published],
                "version": committed.version,
            },
        ).fetchall()
        conn.commit()
        return [(view, key) for view, key in rows]

    @contextmanager
    def current(self, keys: Sequence[ViewKey]) -> Iterator[dict[ViewKey, StoredView]]:
        conn = self._connection()
        try:
            rows = conn.execute(
                f"SELECT r.view, {', '.join('r.' + c for c in COLUMNS.split(', '))}"
                " FROM view_row r JOIN unnest(%s::text[], %s::text[]) AS p(view, key)"
                " ON r.view = p.view AND r.key = p.key"
                " ORDER BY array_position(%s::text[], r.view::text), r.key FOR SHARE OF r",
                ([v for v, _ in keys], [k for _, k in keys], list(LOCK_ORDER)),
            ).fetchall()
            yield {(r[0], r[1]): StoredView(*r[1:]) for r in rows}
            conn.commit()
        except BaseException:
            self._rollback(conn)
            raise

    def leftovers(self, older_than_s: float, limit: int) -> list[PendingEntry]:
        conn = self._connection()
        rows = conn.execute(
            "SELECT id, version, view, key FROM outbox"
            " WHERE created_at < now() - make_interval(secs => %s) ORDER BY id LIMIT %s",
            (older_than_s, limit),
        ).fetchall()
        conn.commit()
        return [PendingEntry(i, v, (view, key)) for i, v, view, key in rows]

    def discard(self, ids: Sequence[int]) -> None:
        conn = self._connection()
        conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", (list(ids),))
        conn.commit()

    def outbox_size(self) -> int:
        conn = self._connection()
        row = conn.execute("SELECT count(*) FROM outbox").fetchone()
        conn.commit()
        return int(row[0]) if row else 0

    def analyze(self) -> None:
        self._statistics.request()

    def close(self) -> None:
        self._statistics.close()
        if self._conn is not None:
            self._conn.close()
