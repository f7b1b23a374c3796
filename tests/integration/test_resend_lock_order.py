"""A publisher resending rows and a merge writing them take their locks in one order.

The publisher holds the rows it resends (FOR SHARE) until the broker has them; a merge
locks residents, then households, then alerts (FOR UPDATE). The resend used to lock in
alphabetical order, alerts first, and a merge holding a household while it went for the
alert the resend held deadlocked with it (seen as a retry in the two-worker test).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from services.store.merge_store import BatchWrite, RowWrite, open_merge_store
from tests.support.databases import fresh_postgres_store

pytestmark = pytest.mark.integration

HOUSEHOLD, ALERT = ("household", "D-1"), ("alert", "a" * 32)


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    yield from fresh_postgres_store(tmp_path)


def _rows(url: str) -> None:
    """One household and one alert row, as a merge would have written them."""
    store = open_merge_store(url)
    try:
        with store.transaction() as txn:
            txn.rows("household", ["D-1"])
            txn.rows("alert", ["a" * 32])
            txn.write(
                BatchWrite(
                    [
                        RowWrite(view, key, "C001", True, {}, {}, {}, new=True)
                        for view, key in (HOUSEHOLD, ALERT)
                    ]
                )
            )
    finally:
        store.close()


def _waiting_on_a_lock(url: str) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar()
            return bool(found)
    finally:
        engine.dispose()


def test_a_merge_holding_a_household_gets_the_alert_a_resend_of_both_wants(
    postgres_url: str,
) -> None:
    _rows(postgres_url)
    conninfo = sa.engine.make_url(postgres_url).set(drivername="postgresql")
    merge = psycopg.connect(conninfo.render_as_string(False))
    publisher = open_merge_store(postgres_url)
    resent: list[object] = []

    def resend() -> None:
        with publisher.current([ALERT, HOUSEHOLD]) as rows:
            resent.append(sorted(rows))

    try:
        merge.execute("SET lock_timeout = '10s'")
        merge.execute("SELECT 1 FROM view_row WHERE view = 'household' FOR UPDATE")
        resending = threading.Thread(target=resend)
        resending.start()
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock(postgres_url):  # the resend is blocked on the household
            assert time.monotonic() < deadline, "the resend never waited for the household"
            time.sleep(0.02)
        # Holding the household, the merge goes for the alert: free unless the resend took
        # it first (then PostgreSQL finds a deadlock after a second and kills one of them).
        merge.execute("SELECT 1 FROM view_row WHERE view = 'alert' FOR UPDATE")
        merge.commit()
        resending.join(10)
        assert resent == [[ALERT, HOUSEHOLD]]
    finally:
        merge.close()
        publisher.close()
