"""View changes as records of the compacted ``view.*`` topics: Avro value, key, headers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.catalog import Catalog
from schemas.headers import COMMUNITY_HEADER, Headers, cloudevent_headers
from schemas.serde import Serde
from services.merge import records
from services.merge.rows import Change
from services.store.merge_store import StoredView


@dataclass(frozen=True, slots=True)
class ViewRecord:
    """One record for a view topic; a None value is a tombstone."""

    topic: str
    key: bytes
    value: bytes | None
    headers: Headers


class ViewEncoder:
    """Encodes view changes with the view contracts, and rows as they stand into changes."""

    def __init__(self, serde: Serde, clock: Callable[[], float] = time.time) -> None:
        self._serde = serde
        self._catalog: Catalog = serde.catalog
        self._clock = clock

    def record(self, change: Change) -> ViewRecord:
        """The view topic's record of a change: ``ce_id`` names the view, key and the
        newest event time behind the record, so a resent record has the same id."""
        contract = self._catalog.view(change.view)
        if change.record is None:
            value, newest = None, int(self._clock() * 1000)
        else:
            data, provenance = change.record
            value = self._serde.encode(
                contract, records.avro_record(contract, change.key, data, provenance)
            )
            newest = max((int(p[2]) for p in provenance.values()), default=0)
        headers = cloudevent_headers(
            f"{change.view}:{change.key}:{newest}",
            "datong/merge",
            contract.full_name,
            datetime.fromtimestamp(newest / 1000, UTC),
        )
        if change.community:
            headers.append((COMMUNITY_HEADER, change.community.encode()))
        return ViewRecord(contract.topic, change.key.encode(), value, headers)

    @staticmethod
    def change_of(view: str, stored: StoredView) -> Change:
        """The change that brings a subscriber to a stored row as it stands now."""
        shown = (stored.data, stored.provenance) if stored.visible and stored.data else None
        return Change(view, stored.key, shown, stored.community_code)
