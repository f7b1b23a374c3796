"""What one consumed record adds to the feed tallies: a source event, a dead letter or a
parked notice, told apart by its topic. Pure but for the Avro decoding it is handed.

Everything read here came over Kafka from outside the hub: a reason code or an outcome
that is not a short word is counted as ``unknown`` rather than stored as it came.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.catalog import Catalog, Contract
from schemas.errors import SchemaError
from schemas.headers import DEAD_LETTER_PREFIX, PARKED_PREFIX
from schemas.registry.errors import RegistryUnreachableError
from services.quality.tally import Tallies, tally_for

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
_WORD = re.compile(r"[a-z][a-z0-9_]{0,47}")
DLQ_PREFIX = "dlq."
PARKED_TOPIC_PREFIX = "parked."


@dataclass(frozen=True)
class Seen:
    """A consumed record, as much of it as the tallies need."""

    topic: str
    timestamp_ms: int
    value: bytes | None
    headers: Mapping[str, bytes]


@dataclass
class Counted:
    """A batch's tallies, and what its metrics are told once the batch is committed."""

    tallies: Tallies = field(default_factory=dict)
    lags_s: list[tuple[str, float]] = field(default_factory=list)  # (department, lag)
    outcomes: dict[tuple[str, str], int] = field(default_factory=dict)  # (department, outcome)

    def outcome(self, department: str, outcome: str) -> None:
        """Count one row's outcome for the metrics."""
        key = (department, outcome)
        self.outcomes[key] = self.outcomes.get(key, 0) + 1


def optional_fields(contract: Contract) -> tuple[str, ...]:
    """The contract's fields that may be null: the ones completeness is measured on."""
    return tuple(
        f["name"]
        for f in contract.schema["fields"]
        if isinstance(f["type"], list) and "null" in f["type"]
    )


def _word(raw: bytes | None) -> str:
    text = (raw or b"").decode("utf-8", "replace")
    return text if _WORD.fullmatch(text) else UNKNOWN


def _millis(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value)


class Counter:
    """Adds consumed records to a batch's tallies."""

    def __init__(
        self, catalog: Catalog, decode: Callable[[Contract, bytes], dict[str, Any]]
    ) -> None:
        self._catalog = catalog
        self._decode = decode
        self._departments = set(catalog.departments())
        self._optional = {c.topic: optional_fields(c) for c in catalog.sources()}

    def add(self, seen: Seen, counted: Counted) -> None:
        """Count ``seen`` into ``counted``; an unreadable record is logged and left out."""
        if seen.topic.startswith(DLQ_PREFIX):
            department = seen.topic.removeprefix(DLQ_PREFIX)
            code = _word(seen.headers.get(DEAD_LETTER_PREFIX + "code"))
            if department in self._departments:
                tally_for(counted.tallies, department, seen.timestamp_ms).dead_letter(code)
                counted.outcome(department, "rejected")
        elif seen.topic.startswith(PARKED_TOPIC_PREFIX):
            department = seen.topic.removeprefix(PARKED_TOPIC_PREFIX)
            outcome = _word(seen.headers.get(PARKED_PREFIX + "outcome"))
            if department in self._departments:
                try:
                    tally_for(counted.tallies, department, seen.timestamp_ms).notice(outcome)
                except ValueError as exc:
                    log.warning("%s: a notice left out of the scorecard: %s", seen.topic, exc)
                    return
                counted.outcome(department, outcome)
        else:
            self._event(seen, counted)

    def _event(self, seen: Seen, counted: Counted) -> None:
        try:
            contract = self._catalog.by_topic(seen.topic)
            if seen.value is None:
                raise SchemaError("a source topic cannot carry a tombstone")
            record = self._decode(contract, seen.value)
            event_time_ms = _millis(record["event_time"])
        except RegistryUnreachableError:
            # Not a bad event: the consumer ends, and its successor counts again from the
            # stored offsets, as after any database failure (services/quality_worker.py).
            raise
        except (SchemaError, KeyError, TypeError, ValueError) as exc:
            # The merge counts it as rejected too (datong_merge_events_total).
            log.warning("%s: an event left out of the scorecard: %s", seen.topic, exc)
            return
        department, event = str(contract.department), str(contract.event)
        tally = tally_for(counted.tallies, department, seen.timestamp_ms)
        tally.event(event, event_time_ms, seen.timestamp_ms, self._optional[seen.topic], record)
        counted.lags_s.append((department, (seen.timestamp_ms - event_time_ms) / 1000))
        counted.outcome(department, "published")
