"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from services.errors import ConfigError
from services.store import migrate
from services.store.database import create_engine, create_schema
from services.store.models import Base


def test_migrating_a_fresh_database_gives_the_models_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    create_schema(engine)
    with engine.connect() as conn:
        assert migrate.HISTORY.current(conn) == migrate.HISTORY.head()
        context = MigrationContext.configure(conn)
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_migrating_twice_changes_nothing(database_url: str) -> None:
    engine = create_engine(database_url)
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO merge_conflict VALUES ('v','k','f','e','o','d',1)"))
    create_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM merge_conflict")).scalar() == 1
    engine.dispose()


def test_a_store_from_before_migrations_is_refused_with_what_to_do(database_url: str) -> None:
    engine = create_engine(database_url)
    Base.metadata.create_all(engine)
    with pytest.raises(ConfigError, match="predates schema migrations"):
        create_schema(engine)
    engine.dispose()
