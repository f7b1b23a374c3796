"""The merge store on SQLite: one writer at a time (BEGIN IMMEDIATE), one executemany per table.

SQLite lets one transaction write at a time, so a merge transaction takes the write lock
when it begins: another worker on the same file waits for it (``busy_timeout``), and the
rows a batch read cannot change under it. Versions come from the one-row ``merge_clock``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from schemas.sql_stores import file_identity
from services.store.merge_store import (
    BatchWrite,
    Committed,
    ConcurrentWriteError,
    Json,
    MergeStore,
    MergeTransaction,
    PendingEntry,
    StoredView,
    StoreGoneError,
    ViewKey,
    chunks,
)

_COLUMNS = "key, community_code, visible, data, provenance, state"
_CHUNK = 500  # stays under SQLite's bound-parameter limit


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def stored_view(row: Sequence[Any]) -> StoredView:
    """A view row as SQLite returns it (key, community, visible, JSON texts), as the merge's."""
    key, community, visible, data, provenance, state = row
    return StoredView(
        key,
        community,
        bool(visible),
        orjson.loads(data),
        orjson.loads(provenance),
        orjson.loads(state),
    )


def _stamp(moment: datetime) -> str:
    # Exactly the text SQLAlchemy's DateTime writes on SQLite: its queries compare as text.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class SqliteTransaction(MergeTransaction):
    """The merge's reads and writes on an open SQLite transaction (also the rebuild's switch)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def rows(self, view: str, keys: Collection[str]) -> dict[str, StoredView]:
        found: dict[str, StoredView] = {}
        for part in chunks(sorted(keys), _CHUNK):
            marks = ",".join("?" * len(part))
            cursor = self._conn.execute(
                f"SELECT {_COLUMNS} FROM view_row WHERE view = ? AND key IN ({marks})",
                (view, *part),
            )
            found.update((r[0], stored_view(r)) for r in cursor)
        return found

    peek = rows  # the write lock is the transaction's from its start

    def household_keys(self, community: str) -> list[str]:
        cursor = self._conn.execute(
            "SELECT key FROM view_row WHERE view = 'household' AND community_code = ?",
            (community,),
        )
        return [r[0] for r in cursor]

    def freshness(self, wanted: Mapping[str, Collection[str]]) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for community, departments in wanted.items():
            for department in sorted(departments):
                row = self._conn.execute(
                    "SELECT max(CAST(json_extract(state, ?) AS INTEGER)) FROM view_row"
                    " WHERE view IN ('resident_profile', 'household') AND community_code = ?",
                    (f'$.values."fresh/{department}"', community),
                ).fetchone()
                if row is not None and row[0] is not None:
                    found.setdefault(community, {})[department] = int(row[0])
        return found

    def lock_communities(self, communities: Collection[str]) -> list[str]:
        return sorted(communities)  # the write lock already keeps every other writer out

    def take_deltas(self, communities: Collection[str]) -> list[tuple[str, Json]]:
        found: list[tuple[int, str, Json]] = []
        for part in chunks(sorted(communities), _CHUNK):
            marks = ",".join("?" * len(part))
            cursor = self._conn.execute(
                f"DELETE FROM community_delta WHERE community_code IN ({marks})"
                " RETURNING id, community_code, delta",
                tuple(part),
            )
            found += [(i, c, orjson.loads(d)) for i, c, d in cursor]
        return [(community, delta) for _, community, delta in sorted(found)]

    def exclusive(self) -> None:
        pass  # BEGIN IMMEDIATE: no merge runs beside this transaction anyway

    def write(self, batch: BatchWrite) -> Committed:
        conn = self._conn
        row = conn.execute("UPDATE merge_clock SET value = value + 1 RETURNING value").fetchone()
        version = int(row[0])
        rows = sorted(batch.rows, key=lambda r: (r.view, r.key))
        conn.executemany(
            "INSERT INTO view_row (view, key, community_code, visible, data, provenance, state,"
            " version) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (view, key) DO UPDATE SET"
            " community_code = excluded.community_code, visible = excluded.visible,"
            " data = excluded.data, provenance = excluded.provenance, state = excluded.state,"
            " version = excluded.version",
            [
                (
                    r.view,
                    r.key,
                    r.community_code,
                    r.visible,
                    _dumps(r.data),
                    _dumps(r.provenance),
                    _dumps(r.state),
                    version,
                )
                for r in rows
            ],
        )
        now = _stamp(datetime.now(UTC))
        ids = [
            int(
                conn.execute(
                    "INSERT INTO outbox (view, key, version, created_at) VALUES (?, ?, ?, ?)"
                    " RETURNING id",
                    (view, key, version, now),
                ).fetchone()[0]
            )
            for view, key in batch.outbox
        ]
        conn.executemany(
            "INSERT INTO community_delta (community_code, delta, created_at) VALUES (?, ?, ?)",
            [(c, _dumps(d), now) for c, d in batch.deltas],
        )
        conn.executemany(
            "INSERT INTO merge_conflict (view, key, field, event_id, owner, department,"
            " event_time_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                (c.view, c.key, c.field, c.event_id, c.owner, c.department, c.event_time_ms)
                for c in batch.conflicts
            ],
        )
        conn.executemany(
            "INSERT INTO situation_snapshot (community_code, taken_at, data) VALUES (?, ?, ?)"
            " ON CONFLICT (community_code, taken_at) DO UPDATE SET data = excluded.data",
            [(c, _stamp(t), _dumps(d)) for c, t, d in batch.snapshots],
        )
        return Committed(version, ids)


class SqliteMergeStore(MergeStore):
    """The merge store on one sqlite3 connection (not shared between threads)."""

    def __init__(self, path: str) -> None:
        self._path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        self._file = file_identity(self._path)
        return conn

    def _current(self) -> sqlite3.Connection:
        """The connection, reopened if the store's file was replaced (a rebuild after the
        file was lost): writing on into a deleted file would lose every change."""
        if self._path == ":memory:":
            return self._conn
        found = file_identity(self._path)
        if found is None:
            raise StoreGoneError(
                f"the view store {self._path} is gone; waiting for it to come back "
                "(`datong views rebuild --switch` builds it again from the topics)"
            )
        if found != self._file:
            self._conn.close()
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        conn = self._current()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @contextmanager
    def transaction(self, *, merge: bool = True) -> Iterator[MergeTransaction]:
        try:
            with self._immediate() as conn:
                yield SqliteTransaction(conn)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise ConcurrentWriteError(
                    "busy", f"the SQLite store stayed locked: {exc}"
                ) from exc
            raise

    def pending_communities(self) -> list[str]:
        cursor = self._current().execute("SELECT DISTINCT community_code FROM community_delta")
        return sorted(r[0] for r in cursor)

    def communities(self) -> list[str]:
        cursor = self._current().execute(
            "SELECT key FROM view_row WHERE view = 'community_situation'"
        )
        return sorted(r[0] for r in cursor)

    def finish(self, committed: Committed, published: Sequence[ViewKey]) -> list[ViewKey]:
        superseded: list[ViewKey] = []
        with self._immediate() as conn:
            for part in chunks(committed.outbox_ids, _CHUNK):
                conn.execute(
                    f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(part))})", tuple(part)
                )
            for view, key in published:
                row = conn.execute(
                    "SELECT version FROM view_row WHERE view = ? AND key = ?", (view, key)
                ).fetchone()
                if row is not None and row[0] > committed.version:
                    superseded.append((view, key))
        return superseded

    @contextmanager
    def current(self, keys: Sequence[ViewKey]) -> Iterator[dict[ViewKey, StoredView]]:
        with self._immediate() as conn:
            found = {}
            for view, key in keys:
                row = conn.execute(
                    f"SELECT {_COLUMNS} FROM view_row WHERE view = ? AND key = ?", (view, key)
                ).fetchone()
                if row is not None:
                    found[(view, key)] = stored_view(row)
            yield found

    def leftovers(self, older_than_s: float, limit: int) -> list[PendingEntry]:
        cutoff = _stamp(datetime.now(UTC) - timedelta(seconds=older_than_s))
        cursor = self._current().execute(
            "SELECT id, version, view, key FROM outbox WHERE created_at < ? ORDER BY id LIMIT ?",
            (cutoff, limit),
        )
        return [PendingEntry(i, v, (view, key)) for i, v, view, key in cursor]

    def discard(self, ids: Sequence[int]) -> None:
        with self._immediate() as conn:
            for part in chunks(list(ids), _CHUNK):
                conn.execute(
                    f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(part))})", tuple(part)
                )

    def outbox_size(self) -> int:
        row = self._current().execute("SELECT count(*) FROM outbox").fetchone()
        return int(row[0]) if row else 0

    def analyze(self) -> None:
        pass  # SQLite plans the key lookups by the primary key without statistics

    def close(self) -> None:
        self._conn.close()
