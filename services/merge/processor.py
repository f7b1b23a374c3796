"""A batch of source messages -> merged rows, conflicts, deltas and outbox, in one transaction;
and the community stage's fold, in one of its own.

Synchronous on purpose: the worker runs both in one thread of their own, so that a slow
database never blocks the consumer's heartbeats, and decodes the next batch meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from schemas.catalog import Catalog
from schemas.errors import SchemaError
from schemas.registry.errors import RegistryUnreachableError
from schemas.serde import Serde
from services.merge import feeds, records
from services.merge.batch import merge_batch
from services.merge.community import CommunityDelta, fold
from services.merge.epidemic import HOUR_MS, EpidemicWindow
from services.merge.marks import Marks
from services.merge.merge import Update
from services.merge.rows import Change, Projects, StoredRow, Written
from services.merge.rules import COMMUNITY_SITUATION
from services.merge.state import row_of, state_json
from services.merge.tally import Tally
from services.metrics import MergeMetrics
from services.store.merge_store import (
    BatchWrite,
    Committed,
    ConflictWrite,
    MergeStore,
    MergeTransaction,
    RowWrite,
    StoredView,
)


@dataclass(frozen=True)
class Message:
    """A source record as consumed."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    # The record's Kafka timestamp (epoch ms): when the connector published it.
    timestamp_ms: int | None = None


@dataclass
class Decoded:
    """A batch's messages decoded into view updates; ``origin`` maps an update to its message."""

    messages: list[Message]
    updates: list[Update] = field(default_factory=list)
    origin: dict[int, int] = field(default_factory=dict)
    rejects: list[tuple[Message, str]] = field(default_factory=list)

    def extend(self, other: Decoded) -> None:
        """Append another decoded batch (merged in the same transaction)."""
        shift = len(self.messages)
        self.messages += other.messages
        self.updates += other.updates
        self.origin.update((update, index + shift) for update, index in other.origin.items())
        self.rejects += other.rejects


@dataclass
class Outcome:
    """What a committed transaction did, and the view changes to publish, in order."""

    committed: Committed
    changes: list[Change]
    new_rows: int = 0


class MergeProcessor:
    """Applies batches of source messages to the view store through a merge store port."""

    def __init__(
        self,
        store: MergeStore,
        serde: Serde,
        metrics: MergeMetrics,
        alert_key: bytes,
        *,
        clock: Callable[[], float] = time.time,
        marks: Marks | None = None,
        test_window_h: int | None = None,
    ) -> None:
        self._store = store
        self._window_h = test_window_h  # DATONG_EPIDEMIC_TEST_WINDOW_HOURS
        self._rendered_hour: int | None = None  # when refresh last rendered every community
        self._alert_key = alert_key
        self._marks = marks  # test-only (DATONG_TEST_MARKS): None in production
        self.serde = serde
        self._serde = serde
        self._catalog: Catalog = serde.catalog
        self._subjects = feeds.subject_views(self._catalog.view_key_fields())
        self._metrics = metrics
        self._clock = clock
        self._rows_written = 0
        self._analyze_at = 1000

    def prepare(self) -> None:
        """Register every schema the processor reads or writes, before the first batch."""
        for contract in self._catalog:
            self._serde.schema_id(contract)

    def topics(self) -> list[str]:
        """Every source topic: each event at least refreshes its department's freshness."""
        return sorted(c.topic for c in self._catalog.sources())

    def decode(self, messages: Sequence[Message]) -> Decoded:
        """Decode messages into view updates; an undecodable one is a reject, not an error.

        RegistryUnreachableError when a writer's schema cannot be read now: nothing is
        rejected for a registry (or its database) being down.
        """
        decoded = Decoded(list(messages))
        for index, message in enumerate(messages):
            try:
                contract = self._catalog.by_topic(message.topic)
                if message.value is None:
                    raise SchemaError("a source topic cannot carry a tombstone (empty value)")
                record = self._serde.decode(contract, message.value)
                if record.get("department") != contract.department:
                    raise SchemaError(
                        f"field 'department' says {record.get('department')!r} but "
                        f"{message.topic} belongs to {contract.department}"
                    )
                made = feeds.updates_for(
                    contract.full_name,
                    str(contract.department),
                    contract.key_field,
                    record,
                    self._subjects,
                )
                decoded.origin.update((id(update), index) for update in made)
                decoded.updates += made
            except RegistryUnreachableError:
                raise  # the event may be fine: decode it again once the registry answers
            except SchemaError as exc:
                decoded.rejects.append((message, str(exc)))
        return decoded

    def merge(self, decoded: Decoded) -> Outcome:
        """Merge a decoded batch and commit; a replayed batch commits no change."""
        with self._store.transaction() as txn:
            result = merge_batch(decoded.updates, _Reader(txn), self._alert_key)
            write = self._write(result.written)
            write.deltas = [(c, d.to_json()) for c, d in sorted(result.deltas.items())]
            write.conflicts = [
                ConflictWrite(
                    c.view,
                    c.key,
                    c.field,
                    c.source.event_id,
                    c.owner,
                    c.source.department,
                    c.source.event_time_ms,
                )
                for c in result.conflicts
            ]
            committed = txn.write(write)
            if self._marks is not None:
                self._marks.reached("inside")
        if self._marks is not None:
            self._marks.reached("committed")
        published = [m.timestamp_ms for m in decoded.messages]
        Tally(self._metrics, decoded.origin, published).count(result.applied, self._clock())
        self._grown(result.written.new_rows)
        return Outcome(committed, result.changes, result.written.new_rows)

    def fold(self, communities: Collection[str], *, render_all: bool = False) -> Outcome | None:
        """Fold the pending deltas of ``communities`` no other worker is folding right now
        (with ``render_all``, render each of them again even without a delta)."""
        with self._store.transaction(merge=False) as txn:
            locked = txn.lock_communities(communities)
            deltas: dict[str, CommunityDelta] = {c: CommunityDelta() for c in locked if render_all}
            for community, stored in txn.take_deltas(locked):
                delta = CommunityDelta.from_json(community, stored)
                deltas.setdefault(community, CommunityDelta()).absorb(delta)
            if not deltas:
                return None
            if any(d.updates for d in deltas.values()):
                # Renovation projects may change, and households are rendered with them:
                # no merge may render one meanwhile.
                txn.exclusive()
            folded = fold(deltas, _Reader(txn), self._window())
            write = self._write(folded.written)
            hour = datetime.fromtimestamp(self._clock(), UTC).replace(
                minute=0, second=0, microsecond=0
            )
            write.snapshots = [
                (s.row.key, hour, s.record)
                for s in folded.written.rows.get(COMMUNITY_SITUATION.name, [])
                if s.record is not None
            ]
            committed = txn.write(write)
        Tally(self._metrics, {}).count_community(folded.applied, folded.unchanged, self._clock())
        return Outcome(committed, folded.written.changes, folded.written.new_rows)

    def pending_communities(self) -> list[str]:
        """Communities with deltas waiting to be folded."""
        return self._store.pending_communities()

    def refresh_due(self) -> bool:
        """Whether every community is to be rendered again: once when the worker starts (the
        window may have been set or unset), then each hour while a window is set, since the
        count without a recent negative test changes on the hour (``merge/epidemic.py``)."""
        if self._rendered_hour is None:
            return True
        return self._window_h is not None and self._hour() != self._rendered_hour

    def refresh(self) -> Outcome | None:
        """Render every community again at the clock's time, writing those that changed."""
        hour = self._hour()
        communities = self._store.communities()
        outcome = self.fold(communities, render_all=True) if communities else None
        self._rendered_hour = hour
        return outcome

    def _hour(self) -> int:
        return int(self._clock() * 1000) // HOUR_MS

    def _window(self) -> EpidemicWindow | None:
        if self._window_h is None:
            return None
        return EpidemicWindow(self._window_h, int(self._clock() * 1000))

    def _write(self, written: Written) -> BatchWrite:
        rows: dict[tuple[str, str], RowWrite] = {}
        for view, stored_rows in written.rows.items():
            for s in stored_rows:
                data = s.record or {}
                provenance = dict(s.provenance)
                rows[(view, s.row.key)] = RowWrite(
                    view,
                    s.row.key,
                    s.community_code,
                    s.visible,
                    data,
                    provenance,
                    state_json(view, s.row, s.record, provenance),
                    (view, s.row.key) in written.created,
                )
        return BatchWrite(list(rows.values()), [(c.view, c.key) for c in written.changes])

    def _grown(self, new_rows: int) -> None:
        """Have PostgreSQL's statistics refreshed each time the view store has doubled, beside
        the merge rather than in its thread (``services/store/statistics.py`` says why)."""
        self._rows_written += new_rows
        if self._rows_written >= self._analyze_at:
            self._store.analyze()
            self._analyze_at = self._rows_written * 2


def stored_row(view: str, stored: StoredView) -> StoredRow:
    """The merge's form of a stored row: its full merge state beside its record."""
    record = stored.data if stored.data or stored.visible else None
    row = row_of(view, stored.key, stored.state, record, stored.provenance)
    return StoredRow(row, record, stored.provenance, stored.community_code, stored.visible)


class _Reader:
    """Reads rows through an open merge transaction (locked), for the batch and the fold."""

    def __init__(self, txn: MergeTransaction) -> None:
        self._txn = txn

    def rows(self, view: str, keys: Collection[str]) -> dict[str, StoredRow]:
        return {k: stored_row(view, s) for k, s in self._txn.rows(view, keys).items()}

    def projects(self, communities: Collection[str]) -> dict[str, Projects]:
        found = self._txn.peek(COMMUNITY_SITUATION.name, communities)
        projects = {
            c: records.renovation_projects(stored_row(COMMUNITY_SITUATION.name, s).row)
            for c, s in found.items()
        }
        return {c: p for c, p in projects.items() if p}

    def household_keys(self, community: str) -> list[str]:
        return self._txn.household_keys(community)

    def freshness(self, wanted: Mapping[str, Collection[str]]) -> dict[str, dict[str, int]]:
        return self._txn.freshness(wanted)
