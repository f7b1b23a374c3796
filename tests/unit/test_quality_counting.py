"""What a consumed record adds to the feed tallies: events, dead letters and notices told
apart by topic; what came from outside counted, never stored as it came."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from schemas.catalog import Catalog, Contract
from schemas.errors import DecodeError
from schemas.headers import DEAD_LETTER_PREFIX, PARKED_PREFIX
from services.quality.counting import Counted, Counter, Seen, optional_fields

CATALOG = Catalog.load()
ARRIVED = datetime(2024, 6, 4, 10, 0, tzinfo=UTC)
ARRIVED_MS = int(ARRIVED.timestamp() * 1000)
TOPIC = "src.health.health-status-changed"


def decode(contract: Contract, payload: bytes) -> dict[str, Any]:
    """Stands in for the Avro decoding: the payload names the record's fields."""
    if payload == b"garbage":
        raise DecodeError(f"{contract.topic}: not Confluent-framed Avro (bad magic byte)")
    return {
        "event_time": datetime(2024, 6, 4, 9, 0, tzinfo=UTC),
        "reason": payload.decode() or None,
    }


def count(*seen: Seen) -> Counted:
    counted = Counted()
    counter = Counter(CATALOG, decode)
    for record in seen:
        counter.add(record, counted)
    return counted


def test_optional_fields_are_the_nullable_ones_of_the_contract() -> None:
    assert optional_fields(CATALOG.by_topic(TOPIC)) == ("reason",)


def test_an_event_counts_as_published_with_its_lag_and_optional_fields() -> None:
    counted = count(Seen(TOPIC, ARRIVED_MS, b"", {}), Seen(TOPIC, ARRIVED_MS, b"fever", {}))
    tally = counted.tallies[("health", date(2024, 6, 4))]
    assert tally.published == 2
    assert tally.completeness["health-status-changed"].present == {"reason": 1}
    assert counted.lags_s == [("health", 3600.0), ("health", 3600.0)]
    assert counted.outcomes == {("health", "published"): 2}


def test_dead_letters_count_by_their_reason_code_and_a_strange_code_as_unknown() -> None:
    codes = [b"bad_date", b"bad_date", b"<script>", "身份证".encode(), b"x" * 200]
    counted = count(
        *(
            Seen("dlq.health", ARRIVED_MS, b"sealed", {DEAD_LETTER_PREFIX + "code": c})
            for c in codes
        )
    )
    tally = counted.tallies[("health", date(2024, 6, 4))]
    assert tally.rejected == {"bad_date": 2, "unknown": 3}


def test_notices_count_parked_and_resolved_and_leave_anything_else_out() -> None:
    outcomes = [b"parked", b"parked", b"resolved", b"lost", None]
    counted = count(
        *(
            Seen("parked.commerce", ARRIVED_MS, b"", {PARKED_PREFIX + "outcome": o} if o else {})
            for o in outcomes
        )
    )
    tally = counted.tallies[("commerce", date(2024, 6, 4))]
    assert (tally.parked, tally.resolved) == (2, 1)
    assert counted.outcomes == {("commerce", "parked"): 2, ("commerce", "resolved"): 1}


def test_a_topic_of_no_department_and_an_undecodable_event_are_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counted = count(
        Seen("dlq.nobody", ARRIVED_MS, b"", {DEAD_LETTER_PREFIX + "code": b"bad_date"}),
        Seen(TOPIC, ARRIVED_MS, b"garbage", {}),
        Seen(TOPIC, ARRIVED_MS, None, {}),
    )
    assert counted.tallies == {}
    assert "left out of the scorecard" in caplog.text
