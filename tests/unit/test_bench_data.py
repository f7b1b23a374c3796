"""The bench's generated data looks like the real thing: what the connector and the worker make."""

from __future__ import annotations

import csv
import io
import random
import secrets
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy
from fastavro.validation import validate

from connectors.dates import CHINA
from connectors.identity import person_key
from connectors.mappings.household_register import HouseholdRegisterMapping
from schemas.catalog import Catalog
from schemas.serde import Serde
from services.api.json_records import json_record
from services.bench import connector, prefill
from services.bench.data import HEADER, START, registration, resident_id, touching_export
from services.merge import feeds, rules
from services.merge.merge import RowState, apply, empty_row
from services.merge.records import avro_record, resident_record
from services.merge.state import row_of
from tests.support.stores import embedded_registry

HMAC_KEY = secrets.token_bytes(32)
REGISTERED = "gov.public_security.ResidentRegistered"
SUBJECTS = feeds.subject_views(Catalog.load().view_key_fields())


@pytest.fixture(scope="module")
def serde() -> Iterator[Serde]:
    engine = sqlalchemy.create_engine("sqlite://")
    yield Serde(Catalog.load(), embedded_registry(engine))
    engine.dispose()


def merged_registration(index: int) -> RowState:
    """What the worker merges from resident ``index``'s registration row, the real way."""
    cells = registration(index, random.Random(index), START)
    event = HouseholdRegisterMapping(HMAC_KEY)(dict(zip(HEADER, cells, strict=True)))
    row = None
    made = feeds.updates_for(REGISTERED, "public-security", "person_key", event.record, SUBJECTS)
    for update in made:
        row = apply(row or empty_row(update.key), update, rules.RESIDENT_PROFILE.ownership).row
    assert row is not None
    return row


def prefilled(index: int) -> dict[str, Any]:
    ((_, id_number, key),) = connector.residents(HMAC_KEY, [index])
    return prefill.profile_row(index, id_number, key)


def test_a_prefilled_row_has_the_fields_types_and_provenance_the_worker_stores() -> None:
    view_name = rules.RESIDENT_PROFILE.name
    worker = merged_registration(1234)
    shown = resident_record(worker)
    assert shown is not None
    data, provenance = shown
    row = prefilled(1234)

    assert row["key"] == worker.key
    assert row["visible"] and row["community_code"] == worker.values["community_code"]
    assert {k: type(v) for k, v in row["data"].items()} == {k: type(v) for k, v in data.items()}
    for field in ("gender", "birth_date", "community_code", "dwelling_id", "household_no"):
        assert row["data"][field] == data[field], field
    assert row["provenance"].keys() == provenance.keys()
    # The state keeps what the record does not show: the hidden fields (the worker adds its
    # freshness too); the merge state put back together is every field the worker wrote.
    named = {k for k in worker.values if "/" not in k}
    assert set(row["state"]["values"]) == {"registered", "last_community"}
    merged = row_of(view_name, row["key"], row["state"], row["data"], row["provenance"])
    assert set(merged.values) == named
    department, event_id, at = row["provenance"]["address"]
    written = worker.provenance["address"]
    assert (department, event_id) == (written.department, written.event_id)
    assert at == written.event_time_ms + 1234 * 1000  # registry_export's time for the row


def test_a_prefilled_row_renders_and_fits_the_view_contract() -> None:
    row = prefilled(77)
    view = rules.RESIDENT_PROFILE.name
    contract = Catalog.load().view(view)
    record = json_record(contract.key_field, row["key"], row["data"], row["provenance"])
    assert "registered" not in record and record["person_key"] == row["key"]
    avro = avro_record(contract, row["key"], row["data"], row["provenance"])
    assert validate(avro, contract.parsed)


def test_residents_are_keyed_as_the_connector_keys_them() -> None:
    keys = [key for _, _, key in connector.residents(HMAC_KEY, range(1, 4))]
    assert keys == [person_key(resident_id(i), HMAC_KEY) for i in range(1, 4)]


def test_the_touching_batch_moves_the_given_residents_and_registers_as_many_new_ones() -> None:
    moved = [5, 9, 11]
    export = touching_export(moved, 1_000_000)
    rows = list(csv.DictReader(io.StringIO(export.csv.decode("utf-8"))))

    moves = [r for r in rows if r["业务类型"] == "迁移"]
    registrations = [r for r in rows if r["业务类型"] == "登记"]
    assert sorted(r["公民身份号码"] for r in moves) == sorted(resident_id(i) for i in moved)
    assert sorted(r["公民身份号码"] for r in registrations) == sorted(
        resident_id(i) for i in range(1_000_000, 1_000_003)
    )
    assert len({r["业务流水号"] for r in rows}) == len(rows) == export.rows == 6
    # Later than any prefilled or exported registration, so every one applies.
    latest_registration = START.timestamp() + 1_000_003
    for r in rows:
        when = datetime.strptime(r["办理时间"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
        assert when.timestamp() > latest_registration


def test_live_registrations_are_new_residents_stamped_now(serde: Serde) -> None:
    live = connector.LiveRegistrations(serde, HMAC_KEY, seed=7)
    first, second = live.record(500_001), live.record(500_002)

    assert first.key.decode() == person_key(resident_id(500_001), HMAC_KEY)
    assert first.key != second.key
    contract = Catalog.load().by_topic(first.topic)
    decoded = serde.decode(contract, first.value)
    assert decoded["person_key"] == first.key.decode()
    assert decoded["event_id"] != serde.decode(contract, second.value)["event_id"]
    assert decoded["birth_date"].isoformat().replace("-", "") == resident_id(500_001)[6:14]
    assert abs(decoded["event_time"].timestamp() - datetime.now(CHINA).timestamp()) < 60
