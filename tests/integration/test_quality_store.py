"""The quality tallies in the view store, on SQLite and PostgreSQL: a batch is added with its
offsets in one transaction, and a batch counted before (a crash, another consumer) is
refused whole, so every row is counted once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from services.quality.stored import Span, add_batch, department_days, stored_offsets
from services.quality.tally import DayTally, Tallies
from services.store.database import create_engine, create_schema

pytestmark = pytest.mark.integration
DAY = date(2024, 6, 4)


def rejected(code: str, times: int) -> Tallies:
    tally = DayTally()
    for _ in range(times):
        tally.dead_letter(code)
    return {("health", DAY): tally}


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_batches_add_up_and_a_batch_counted_before_is_refused(database_url: str) -> None:
    engine = create_engine(database_url)
    create_schema(engine)
    try:
        first = {("dlq.health", 0): Span(None, 3)}
        assert add_batch(engine, rejected("bad_date", 3), first)
        # The same first batch again (a crash before the consumer learnt it was committed).
        assert not add_batch(engine, rejected("bad_date", 3), first)
        assert add_batch(engine, rejected("formula", 2), {("dlq.health", 0): Span(3, 5)})
        # A consumer still standing at offset 3 (its partition was handed on meanwhile).
        assert not add_batch(engine, rejected("formula", 2), {("dlq.health", 0): Span(3, 5)})
        assert stored_offsets(engine, ["dlq.health"]) == {("dlq.health", 0): 5}
        with Session(engine) as session:
            days = department_days(session, "health", DAY)
        assert days[DAY].rejected == {"bad_date": 3, "formula": 2}
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_refused_batch_writes_none_of_its_partitions(database_url: str) -> None:
    engine = create_engine(database_url)
    create_schema(engine)
    try:
        assert add_batch(engine, rejected("bad_date", 1), {("dlq.health", 0): Span(None, 1)})
        both = {("dlq.grid", 0): Span(None, 4), ("dlq.health", 0): Span(0, 2)}  # health is at 1
        assert not add_batch(engine, rejected("bad_date", 9), both)
        assert stored_offsets(engine, ["dlq.grid", "dlq.health"]) == {("dlq.health", 0): 1}
        with Session(engine) as session:
            assert department_days(session, "health", DAY)[DAY].rejected == {"bad_date": 1}
    finally:
        engine.dispose()
