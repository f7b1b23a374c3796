"""The view store's database: its engine (SQLite by default, PostgreSQL) and its schema.

The API, the CLI and the embedded registry write through ``create_engine``'s engine; the
merge worker writes through connections of its own (``merge_store.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from schemas.catalog import Catalog
from schemas.sql_stores import create_engine, migrate
from services.store import access_models  # noqa: F401 - registers its tables on Base
from services.store.migrate import HISTORY, upgrade
from services.store.registry_store import SqlRegistry

__all__ = ["create_engine", "create_schema", "disposing", "ping"]


@contextmanager
def disposing(engine: sa.Engine) -> Iterator[sa.Engine]:
    """``engine`` for a ``with`` block, disposed at its end: a short-lived engine (one CLI
    command) closes its pooled connections instead of leaving them to the garbage collector."""
    try:
        yield engine
    finally:
        engine.dispose()


def create_schema(engine: sa.Engine) -> None:
    """Migrate the view store and the embedded registry to the newest schema (Alembic), then
    register the catalog in the embedded registry (idempotent)."""
    migrate(engine, HISTORY, upgrade)
    _register_catalog(engine)


def _register_catalog(engine: sa.Engine) -> None:
    """Register every contract in catalog order, so that a fresh database gives each schema
    the same id as any other fresh database: records stay readable by any hub of the same
    catalog sharing the broker (a wiped view store, a test's second hub)."""
    registry = SqlRegistry(engine)
    for contract in Catalog.load():
        registry.register(contract.value_subject, contract.schema_text)


def ping(engine: sa.Engine) -> None:
    """Raise if the database cannot run a trivial query."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
