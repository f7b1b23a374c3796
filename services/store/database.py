"""The view store's database: its engine (SQLite by default, PostgreSQL) and its schema.

The API, the CLI and the embedded registry write through ``create_engine``'s engine; the
merge worker writes through connections of its own (``merge_store.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa

from schemas.catalog import Catalog
from schemas.sql_stores import create_engine, migrate
from services.store import (  # noqa: F401 - their tables on Base
    access_models,
    emergency_models,
    quality_tables,
    sharing_models,
)
from services.store.migrate import HISTORY, upgrade
from services.store.registry_store import SqlRegistry

__all__ = ["create_engine", "create_schema", "disposing", "once_more_if_dead", "ping"]

_Done = TypeVar("_Done")


def once_more_if_dead(work: Callable[[], _Done]) -> _Done:
    """``work()``, done again once if it found its pooled connection dead.

    For an engine without pre-ping (the API's hot path): after the database restarted, the
    first use of a pooled connection fails and invalidates the pool; the retry gets a new
    connection instead of answering the read with an error.
    """
    try:
        return work()
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return work()


@contextmanager
def autocommit(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A pooled connection for reads of one statement each, outside any transaction: one
    round trip per read, where a transaction adds a BEGIN and the pool's ROLLBACK at
    check-in (the API's hot path; a read of several statements wants one snapshot instead)."""
    with engine.connect() as pooled:
        yield pooled.execution_options(isolation_level="AUTOCOMMIT")


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
