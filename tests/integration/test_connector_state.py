"""The connectors' state store is built by its own Alembic history, apart from the view store."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from connectors.gazetteer import Gazetteer
from connectors.state.store import HISTORY, open_state_store
from connectors.state.tables import metadata
from services.store import migrate
from services.store.database import create_engine, create_schema

DWELLING = {
    "dwelling_id": "FW-XFL-3-2-502",
    "community_code": "110105012003",
    "building": "3号楼",
    "unit": "2单元",
    "room_number": "502",
    "address": {"community": "幸福里社区", "full_text": "幸福里3号楼2单元502室"},
    "event_time": datetime(2024, 3, 5, 2, 0, tzinfo=UTC),
}


def test_migrating_a_fresh_state_store_gives_the_tables_schema(database_url: str) -> None:
    engine = open_state_store(database_url)
    with engine.connect() as conn:
        assert HISTORY.current(conn) == HISTORY.head()
        context = MigrationContext.configure(conn, opts={"version_table": HISTORY.version_table})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_opening_the_state_store_again_keeps_what_it_holds(database_url: str) -> None:
    first = open_state_store(database_url)
    Gazetteer(first).add(DWELLING)
    first.dispose()
    reopened = Gazetteer(open_state_store(database_url))
    found = reopened.resolve("幸福里3栋2单元502", "地址")
    reopened.engine.dispose()
    assert found.dwelling_id == "FW-XFL-3-2-502"


def test_the_state_store_and_the_view_store_keep_their_revisions_apart(
    database_url: str,
) -> None:
    views = create_engine(database_url)
    create_schema(views)
    state = open_state_store(database_url)
    with state.connect() as conn:
        assert HISTORY.current(conn) == HISTORY.head()
        assert migrate.HISTORY.current(conn) == migrate.HISTORY.head()
        tables = set(sa.inspect(conn).get_table_names())
    assert {"gazetteer_dwelling", "address_queue", "view_row"} <= tables
    assert {"alembic_version", HISTORY.version_table} <= tables
    state.dispose()
    views.dispose()
