"""The SQL the PostgreSQL merge store sends: its session limits, its lock keys, the placeholder
rows it locks new keys with, and the one statement that writes a batch.

Kept apart from ``postgres_merge.py`` so that the store's logic reads without the SQL text;
the reasons for the locks and the single round trip are given there. ``row_json`` gives a
row the shape ``WRITE_BATCH`` unpacks.
"""

from __future__ import annotations

from typing import Any

import orjson

from services.store.merge_store import Json, RowWrite

# Any constants work: they only have to be the same in every datong process.
RENOVATION_LOCK = 0x6461746F6E6701  # merges share it; a fold changing projects takes it alone
COMMUNITY_LOCKS = 0x64617401  # namespace of the per-community fold locks (two-key form)

# A worker frozen mid-transaction must not hold other workers' rows for long: its session is
# ended by the server, its batch is merged again by whoever owns the partition now.
SESSION = (
    "SET lock_timeout = '30s'; SET idle_in_transaction_session_timeout = '60s';"
    " SET statement_timeout = '120s'"
)

COLUMNS = "key, community_code, visible, data, provenance, state"

# The order every transaction takes row locks in, view by view (by key within a view): a
# fold locks its communities before their households, a merge its residents, then their
# households, then their alerts; a publisher holding rows while it resends them takes them
# in the same order. In alphabetical order (alert first) a resend and a merge deadlocked.
LOCK_ORDER = ("community_situation", "resident_profile", "household", "alert")

# Each table's rows travel as one JSON array, unpacked by the server: handing psycopg arrays
# of thousands of strings costs more (it escapes each element in Python) than the merge.
WRITE_BATCH = """
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


# A row no batch has written yet is created empty ("placeholder", version -1) before it is
# locked, so that two batches needing the same new row take turns on it like on any other
# row instead of both creating it; one left unwritten is deleted with the batch's writes.
CREATE_PLACEHOLDERS = (
    "INSERT INTO view_row (view, key, community_code, visible, data, provenance, state, version)"
    " SELECT %s, k, NULL, false, '{}', '{}', '{}', -1 FROM unnest(%s::text[]) AS k"
    " ORDER BY k ON CONFLICT (view, key) DO NOTHING"
)
PLACEHOLDER_VERSION = -1


def json_text(value: Any) -> str:
    """A statement's JSON parameter, as text the server parses."""
    return orjson.dumps(value).decode()


def row_json(row: RowWrite) -> Json:
    """A row as ``WRITE_BATCH`` reads it from its JSON arrays (``jsonb_to_recordset``)."""
    return {
        "view": row.view,
        "key": row.key,
        "community_code": row.community_code,
        "visible": row.visible,
        "data": row.data,
        "provenance": row.provenance,
        "state": row.state,
    }
