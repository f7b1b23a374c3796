"""The merge store on PostgreSQL: row locks under READ COMMITTED, one round trip of writes.

Why row locks and not SERIALIZABLE: workers own partitions of persons, dwellings and
communities, but a resident's batch also writes the household it lives in, which another
worker's batch may be writing. Under SERIALIZABLE one of the two aborts at commit and the
whole batch is merged again, so adding workers adds retries. Here each batch locks the
rows it read (``SELECT … FOR UPDATE``, in key order, view by view in the order the merge
reads them), so a second worker waits a moment for the first instead of failing, and the
order rules out deadlocks between merges. A row neither worker found is created by one;
the other's insert then finds it and that batch alone is merged again (ConcurrentWriteError).

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
    RowWrite,
    StoredView,
    ViewKey,
)

# Any constants work: they only have to be the same in every datong process.
_RENOVATION_LOCK = 0x6461746F6E6701  # merges share it; a fold changing projects takes it alone
_COMMUNITY_LOCKS = 0x64617401  # namespace of the per-community fold locks (two-key form)

# A worker frozen mid-transaction must not hold other workers' rows for long: its session is
# ended by the server, its batch is merged again by whoever owns the partition now.
_SESSION = (
    "SET lock_timeout = '30s'; SET idle_in_transaction_session_timeout = '60s';"
    " SET statement_timeout = '120s'"
)

_COLUMNS = "key, community_code, visible, data, provenance, state"

# Each table's rows travel as one JSON array, unpacked by the server: handing psycopg arrays
# of thousands of strings costs more (it escapes each element in Python) than the merge.
_WRITE = """
WITH v AS (SELECT nextval('view_version') AS version),
upd AS (
    UPDATE view_row AS r
    SET community_code = u.community_code, visible = u.visible, data = u.data,
        provenance = u.provenance, state = u.state, version = v.version
    FROM jsonb_to_recordset(%(updated)s::jsonb)
         AS u(view text, key text, community_code text, visible bool, data jsonb,
              provenance jsonb, state jsonb), v
    WHERE r.view = u.view AND r.key = u.key
    RETURNING 1
),
ins AS (
    INSERT INTO view_row (view, key, community_code, visible, data, provenance, state, version)
    SELECT n.view, n.key, n.community_code, n.visible, n.data, n.provenance, n.state, v.version
    FROM jsonb_to_recordset(%(created)s::jsonb)
         AS n(view text, key text, community_code text, visible bool, data jsonb,
              provenance jsonb, state jsonb), v
    ORDER BY n.view, n.key
    ON CONFLICT (view, key) DO NOTHING
    RETURNING 1
),
ob AS (
    INSERT INTO outbox (view, key, version, created_at)
    SELECT o.e ->> 0, o.e ->> 1, v.version, %(now)s
    FROM jsonb_array_elements(%(outbox)s::jsonb) WITH ORDINALITY AS o(e, n), v
    ORDER BY o.n
    RETURNING id
),
cd AS (
    INSERT INTO community_delta (community_code, delta, created_at)
    SELECT d.community_code, d.delta, %(now)s
    FROM jsonb_to_recordset(%(deltas)s::jsonb) AS d(community_code text, delta jsonb)
),
cf AS (
    INSERT INTO merge_conflict (view, key, field, event_id, owner, department, event_time_ms)
    SELECT c.view, c.key, c.field, c.event_id, c.owner, c.department, c.event_time_ms
    FROM jsonb_to_recordset(%(conflicts)s::jsonb)
         AS c(view text, key text, field text, event_id text, owner text, department text,
              event_time_ms bigint)
    ON CONFLICT DO NOTHING
),
gone AS (
    DELETE FROM view_row AS r
    USING jsonb_array_elements(%(unwritten)s::jsonb) AS u(e)
    WHERE r.view = u.e ->> 0 AND r.key = u.e ->> 1 AND r.version = -1
),
sn AS (
    INSERT INTO situation_snapshot (community_code, taken_at, data)
    SELECT s.community_code, s.taken_at, s.data
    FROM jsonb_to_recordset(%(snapshots)s::jsonb)
         AS s(community_code text, taken_at timestamptz, data jsonb)
    ON CONFLICT (community_code, taken_at) DO UPDATE SET data = EXCLUDED.data
)
SELECT (SELECT version FROM v), (SELECT count(*) FROM ins),
       (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM ob)
"""


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# A row no batch has written yet is created empty ("placeholder", version -1) before it is
# locked, so that two batches needing the same new row take turns on it like on any other
# row instead of both creating it; one left unwritten is deleted with the batch's writes.
_PLACEHOLDERS = (
    "INSERT INTO view_row (view, key, community_code, visible, data, provenance, state, version)"
    " SELECT %s, k, NULL, false, '{}', '{}', '{}', -1 FROM unnest(%s::text[]) AS k"
    " ORDER BY k ON CONFLICT (view, key) DO NOTHING"
)
_PLACEHOLDER = -1


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
            self._conn.execute(_PLACEHOLDERS, (view, ordered))
            cursor = self._conn.execute(
                f"SELECT {_COLUMNS}, version FROM view_row WHERE view = %s AND key = ANY(%s)"
                " ORDER BY key FOR UPDATE",
                (view, ordered),
            )
            found = cursor.fetchall()
        rows = {}
        for *columns, version in found:
            if version == _PLACEHOLDER:
                self.placeholders.add((view, columns[0]))
            else:
                rows[columns[0]] = StoredView(*columns)
        return rows

    def peek(self, view: str, keys: Collection[str]) -> dict[str, StoredView]:
        if not keys:
            return {}
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM view_row WHERE view = %s AND key = ANY(%s)"
            f" AND version <> {_PLACEHOLDER}",
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
            (sorted(communities), _COMMUNITY_LOCKS + self._locks),
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
        self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_RENOVATION_LOCK + self._locks,))

    def write(self, batch: BatchWrite) -> Committed:
        rows = sorted(batch.rows, key=lambda r: (r.view, r.key))
        held = self.placeholders
        created = [_row_json(r) for r in rows if r.new and (r.view, r.key) not in held]
        unwritten = held - {(r.view, r.key) for r in rows}
        params: dict[str, Any] = {
            "now": datetime.now(UTC),
            "updated": _dumps([_row_json(r) for r in rows if not r.new or (r.view, r.key) in held]),
            "unwritten": _dumps(sorted(unwritten)),
            "created": _dumps(created),
            "outbox": _dumps(batch.outbox),
            "deltas": _dumps([{"community_code": c, "delta": d} for c, d in batch.deltas]),
            "conflicts": _dumps([asdict(c) for c in batch.conflicts]),
            "snapshots": _dumps(
                [
                    {"community_code": c, "taken_at": t.isoformat(), "data": d}
                    for c, t, d in batch.snapshots
                ]
            ),
        }
        found = self._conn.execute(_WRITE, params).fetchone()
        assert found is not None
        version, inserted, ids = found
        if inserted != len(created):
            raise ConcurrentWriteError(
                "new_row", "another worker created a row this batch found absent"
            )
        return Committed(int(version), list(ids))


def _row_json(row: RowWrite) -> Json:
    return {
        "view": row.view,
        "key": row.key,
        "community_code": row.community_code,
        "visible": row.visible,
        "data": row.data,
        "provenance": row.provenance,
        "state": row.state,
    }


class PostgresMergeStore(MergeStore):
    """The merge store on one psycopg connection (not shared between threads).

    ``locks`` shifts the advisory lock keys: a rebuild's store in a schema of its own merges
    beside the live workers without waiting for their locks, nor they for its.
    """

    def __init__(self, conninfo: str, locks: int = 0) -> None:
        self._conninfo = conninfo
        self._locks = locks
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self._conninfo, autocommit=False)
            set_json_loads(orjson.loads, self._conn)
            self._conn.execute(_SESSION)
            self._conn.commit()
        return self._conn

    @contextmanager
    def transaction(self, *, merge: bool = True) -> Iterator[MergeTransaction]:
        conn = self._connection()
        try:
            if merge:
                conn.execute(
                    "SELECT pg_advisory_xact_lock_shared(%s)", (_RENOVATION_LOCK + self._locks,)
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
                f"SELECT r.view, {', '.join('r.' + c for c in _COLUMNS.split(', '))}"
                " FROM view_row r JOIN unnest(%s::text[], %s::text[]) AS p(view, key)"
                " ON r.view = p.view AND r.key = p.key ORDER BY r.view, r.key FOR SHARE OF r",
                ([v for v, _ in keys], [k for _, k in keys]),
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
        conn = self._connection()
        conn.commit()
        conn.autocommit = True
        try:
            conn.execute("ANALYZE view_row")
        finally:
            conn.autocommit = False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
