"""Stores for tests that need a store's tables but not its migrations.

The tables are created directly from the models (``create_all``, which only tests may
call); that the migrations build exactly these tables is tested on its own, on SQLite and
PostgreSQL (``integration/test_migrations.py``, ``integration/test_connector_state.py``).
"""

from __future__ import annotations

import sqlalchemy as sa

from connectors.state.tables import metadata as state_metadata
from services.store.models import Base
from services.store.registry_store import SqlRegistry
from services.store.registry_tables import config_table, schema_table, version_table


def embedded_registry(engine: sa.Engine) -> SqlRegistry:
    """The embedded registry's store over ``engine``, its tables created if missing."""
    Base.metadata.create_all(engine, tables=[schema_table, version_table, config_table])
    return SqlRegistry(engine)


def connector_state(engine: sa.Engine) -> sa.Engine:
    """``engine`` with the connectors' state tables (gazetteer, resolution queue) created."""
    state_metadata.create_all(engine)
    return engine
