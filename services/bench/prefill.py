"""A view store filled quickly with realistic resident_profile rows, by bulk insert.

Only resident rows: the households and community counts they would contribute to are left
out, which is what the store-size figure is about (key lookups and writes in a big table).

Each row is what the merge worker stores for one resident's registration (the same
fields, provenance and JSON, see ``services.merge.processor``), so a key lookup,
an update and the table's size behave as after a real load, at a fraction of its cost.
PostgreSQL takes the rows through ``COPY`` and then grows the table to its size with
copies of them under other pseudonyms (SHA-256 of the key and a copy number, 64 hex
digits like a person_key), made by the server: building a row in Python costs about
100 µs, so a million would take minutes. Other stores get the rows by ``executemany``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from services.bench.data import START, placement, registered_values
from services.merge.feeds import to_millis
from services.merge.merge import Provenance, Update, apply, empty_row
from services.merge.records import resident_record
from services.merge.rules import RESIDENT_PROFILE
from services.merge.state import state_json
from services.store.database import create_engine
from services.store.models import ViewRow

DEPARTMENT = "public-security"  # the owner of every field a registration writes
BATCH = 10_000
START_MS = to_millis(START)
COLUMNS = ("view", "key", "community_code", "visible", "data", "provenance", "state")


def profile_row(index: int, id_number: str, key: str) -> dict[str, Any]:
    """The stored row of resident ``index`` (``data.resident_id`` ``id_number``, person_key
    ``key``) after its registration: merged and rendered by the worker's own functions."""
    values: dict[str, Any] = {"registered": True, **registered_values(index, id_number)}
    event_id = f"{DEPARTMENT}:{placement(index).serial}"
    at = START_MS + 1000 * index  # as registry_export times it
    source = Provenance(DEPARTMENT, event_id, at)
    update = Update(RESIDENT_PROFILE.name, key, source, values)
    row = apply(empty_row(key), update, RESIDENT_PROFILE.ownership).row
    shown = resident_record(row)
    assert shown is not None, "a registered resident is shown"
    return {
        "view": RESIDENT_PROFILE.name,
        "key": key,
        "community_code": values["community_code"],
        "visible": True,
        "data": shown[0],
        "provenance": shown[1],
        "state": state_json(RESIDENT_PROFILE.name, row, shown[0], shown[1]),
    }


def fill(database_url: str, rows: Iterable[dict[str, Any]], total: int) -> int:
    """Insert ``rows`` (``profile_row``'s shape) into the store's empty view table, then
    copies of them up to ``total`` rows on PostgreSQL, and refresh its statistics.

    Returns how many rows the table holds. The store's tables must exist.
    """
    engine = create_engine(database_url)
    try:
        if engine.dialect.name != "postgresql":
            return _executemany(engine, rows)
        count = _copy(engine, rows)
        with engine.connect() as conn:
            autocommit = conn.execution_options(isolation_level="AUTOCOMMIT")
            if total > count:
                copies = -(-(total - count) // count)  # rounded up
                autocommit.execute(REPLICATE, {"copies": copies, "wanted": total - count})
                count = total
            autocommit.execute(sa.text("ANALYZE view_row"))
        return count
    finally:
        engine.dispose()


# Every row's copies 1..copies under the key sha256("<key>:<copy>"), until ``wanted``.
REPLICATE = sa.text(
    """
    INSERT INTO view_row (view, key, community_code, visible, data, provenance, state)
    SELECT view, encode(sha256(convert_to(key || ':' || copy, 'UTF8')), 'hex'),
           community_code, visible, data, provenance, state
    FROM view_row CROSS JOIN generate_series(1, :copies) AS copy
    LIMIT :wanted
    """
)


def _copy(engine: sa.Engine, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # JSON text as SQLAlchemy's JSON type writes it (json.dumps with its defaults).
        with cursor.copy(f"COPY view_row ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    (
                        row["view"],
                        row["key"],
                        row["community_code"],
                        row["visible"],
                        json.dumps(row["data"]),
                        json.dumps(row["provenance"]),
                        json.dumps(row["state"]),
                    )
                )
                count += 1
        raw.commit()
    finally:
        raw.close()
    return count


def _executemany(engine: sa.Engine, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    iterator = iter(rows)
    with engine.begin() as conn:
        while batch := list(itertools.islice(iterator, BATCH)):
            conn.execute(sa.insert(ViewRow), batch)
            count += len(batch)
    return count
