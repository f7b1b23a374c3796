"""The API's one-statement reads run outside a transaction, and leave the pool as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from services.store.database import autocommit
from tests.support.databases import fresh_database

pytestmark = pytest.mark.integration


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    yield from fresh_database("postgresql", tmp_path)


def transaction_status(conn: sa.Connection) -> psycopg.pq.TransactionStatus:
    dbapi = conn.connection.dbapi_connection
    assert isinstance(dbapi, psycopg.Connection)
    return dbapi.info.transaction_status


def test_a_read_in_autocommit_opens_no_transaction(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        with autocommit(engine) as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
            # No BEGIN was sent, so no ROLLBACK is owed at check-in: one round trip.
            assert transaction_status(conn) == psycopg.pq.TransactionStatus.IDLE
        with engine.connect() as conn:  # the same pooled connection, transactional again
            conn.execute(sa.text("SELECT 1"))
            assert transaction_status(conn) == psycopg.pq.TransactionStatus.INTRANS
    finally:
        engine.dispose()
