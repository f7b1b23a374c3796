"""The merge's port to the view store: rows under lock, set-based writes, outbox, deltas.

The merge worker's hot path talks to the database through this port only, in a few round
trips per batch: lock and read the batch's rows view by view, then write everything the
batch changed in one statement per table (PostgreSQL: one round trip for all of them),
then commit. Plain data in and out; the merge itself lives in ``services/merge``.

Two adapters implement it, chosen by the URL: ``postgres_merge.py`` (psycopg, row locks
under READ COMMITTED, so concurrent workers wait for each other's rows instead of failing
and retrying) and ``sqlite_merge.py`` (one writer at a time, BEGIN IMMEDIATE).
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from schemas.registry.errors import RegistryUnreachableError
from services.errors import DatongError

Json = dict[str, Any]
ViewKey = tuple[str, str]

# What a failed view store write raises, whichever adapter: the batch is merged again.
# The embedded registry lives in the same database, so it being unreachable is one more.
STORE_ERRORS = (psycopg.Error, sqlite3.Error, SQLAlchemyError, OSError, RegistryUnreachableError)


class ConcurrentWriteError(DatongError):
    """A concurrent writer got in the way (a deadlock, the same new row created twice):
    the batch is rolled back and merged again from the rows as they now stand."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{detail}; merging the batch again")
        self.reason = reason


class StoreGoneError(DatongError, OSError):
    """The view store's file was removed (SQLite): nothing is written until it is back."""


@dataclass(frozen=True, slots=True)
class StoredView:
    """One stored row as the store holds it."""

    key: str
    community_code: str | None
    visible: bool
    data: Json
    provenance: Json
    state: Json


@dataclass(frozen=True, slots=True)
class RowWrite:
    """A row to write; ``new`` when the batch found no row at the key."""

    view: str
    key: str
    community_code: str | None
    visible: bool
    data: Json
    provenance: Json
    state: Json
    new: bool


@dataclass(frozen=True, slots=True)
class ConflictWrite:
    """A refused write, kept for the departments to reconcile."""

    view: str
    key: str
    field: str
    event_id: str
    owner: str
    department: str
    event_time_ms: int


@dataclass
class BatchWrite:
    """Everything one transaction writes."""

    rows: list[RowWrite] = field(default_factory=list)
    # The rows whose view records changed, in order: marks, so that the changes of a batch
    # that committed but never reached the broker are resent (their rows as they stand).
    outbox: list[ViewKey] = field(default_factory=list)
    deltas: list[tuple[str, Json]] = field(default_factory=list)
    conflicts: list[ConflictWrite] = field(default_factory=list)
    snapshots: list[tuple[str, datetime, Json]] = field(default_factory=list)


@dataclass(frozen=True)
class Committed:
    """A committed transaction's version, and the outbox marks it left (their ids)."""

    version: int
    outbox_ids: list[int]


@dataclass(frozen=True)
class PendingEntry:
    """An outbox mark left behind (a worker stopped between its commit and the broker)."""

    id: int
    version: int
    view_key: ViewKey


class MergeTransaction(ABC):
    """One open transaction of the merge or the community stage."""

    @abstractmethod
    def rows(self, view: str, keys: Collection[str]) -> dict[str, StoredView]:
        """Rows of ``view`` among ``keys``, locked against other writers until commit."""

    @abstractmethod
    def peek(self, view: str, keys: Collection[str]) -> dict[str, StoredView]:
        """Rows of ``view`` among ``keys`` as committed, without locking them."""

    @abstractmethod
    def household_keys(self, community: str) -> list[str]:
        """Keys of the household rows stored in a community."""

    @abstractmethod
    def freshness(self, wanted: Mapping[str, Collection[str]]) -> dict[str, dict[str, int]]:
        """For each community of ``wanted``, per department it names, the newest event time
        over its resident and household rows (their ``fresh/<department>`` entries)."""

    @abstractmethod
    def lock_communities(self, communities: Collection[str]) -> list[str]:
        """Of ``communities``, those this transaction may fold (no other fold has them)."""

    @abstractmethod
    def take_deltas(self, communities: Collection[str]) -> list[tuple[str, Json]]:
        """Remove and return the pending deltas of ``communities``, oldest first."""

    @abstractmethod
    def exclusive(self) -> None:
        """Wait until no merge transaction runs, and keep them out until commit: for a
        fold that changes the renovation projects households are rendered with."""

    @abstractmethod
    def write(self, batch: BatchWrite) -> Committed:
        """Write ``batch`` (not yet committed); ConcurrentWriteError if another writer made a row
        this batch believed new."""


class MergeStore(ABC):
    """A connection to the view store for the merge worker (one per thread)."""

    @abstractmethod
    def transaction(self, *, merge: bool = True) -> AbstractContextManager[MergeTransaction]:
        """A transaction that commits when the block ends and rolls back on an exception.

        ``merge`` transactions render households, so they run beside each other but never
        beside a fold that changes renovation projects (``MergeTransaction.exclusive``).
        """

    @abstractmethod
    def pending_communities(self) -> list[str]:
        """Communities with deltas not folded yet."""

    @abstractmethod
    def communities(self) -> list[str]:
        """Every community with a community_situation row (to render again as time passes)."""

    @abstractmethod
    def finish(self, committed: Committed, published: Sequence[ViewKey]) -> list[ViewKey]:
        """After the broker acknowledged ``committed``'s changes: delete its outbox rows and
        return the rows among ``published`` that a later batch has written since."""

    @abstractmethod
    def current(self, keys: Sequence[ViewKey]) -> AbstractContextManager[dict[ViewKey, StoredView]]:
        """The rows at ``keys`` as they stand, locked against writers while the block runs
        (absent rows are left out): for resending a change that another was sent after."""

    @abstractmethod
    def leftovers(self, older_than_s: float, limit: int) -> list[PendingEntry]:
        """Outbox marks older than ``older_than_s`` seconds, oldest first."""

    @abstractmethod
    def discard(self, ids: Sequence[int]) -> None:
        """Delete outbox marks whose rows were sent and acknowledged."""

    @abstractmethod
    def outbox_size(self) -> int:
        """How many view changes are committed and not yet acknowledged."""

    @abstractmethod
    def analyze(self) -> None:
        """Have the planner's statistics of the view rows refreshed soon, without waiting
        (PostgreSQL; else nothing)."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""


def open_merge_store(url: str, *, locks: int = 0) -> MergeStore:
    """The merge store adapter for a SQLAlchemy database URL (``locks``: its advisory lock
    keys' shift on PostgreSQL, for a store in a schema of its own)."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        from services.store.sqlite_merge import SqliteMergeStore  # noqa: PLC0415 - one driver

        return SqliteMergeStore(parsed.database or ":memory:")
    from services.store.postgres_merge import PostgresMergeStore  # noqa: PLC0415 - one driver

    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresMergeStore(conninfo, locks)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size`` (bound-parameter limits)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
