"""Fresh empty view databases for tests: a SQLite file, or a new PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from services.store.database import create_engine, create_schema
from tests.support.machine import POSTGRES_URL


def fresh_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh empty view database of ``kind`` (a SQLite file, or a new PostgreSQL
    database, dropped when the generator is closed)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'views.db'}"
        return
    name = f"datong_t_{uuid.uuid4().hex[:12]}"
    # Pre-ping: the serial drills restart PostgreSQL, and the drop at teardown comes after.
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fresh_postgres_store(tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL view store, migrated (for what SQLite has no counterpart of:
    planner statistics, row locks between sessions); dropped when the generator is closed."""
    for url in fresh_database("postgresql", tmp_path):
        engine = create_engine(url)
        create_schema(engine)
        engine.dispose()
        yield url
