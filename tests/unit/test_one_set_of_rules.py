"""The HTTP intake and the file mappings read the same words and time forms, and say which.

The same value goes through the shipped health mapping (a row of the test-result export)
and through the intake's JSON contract (the same event over HTTP); both give the value
written beside it, or both refuse it with a message naming what they take.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.base import Event
from connectors.errors import RecordError
from connectors.gazetteer import Gazetteer
from connectors.mappings import MAPPINGS
from connectors.mappings.mapper import DepartmentMapper
from connectors.sources.json_contract import JsonContract
from schemas.catalog import Catalog
from tests.support.factories import resident_id
from tests.support.stores import connector_state

KEY = b"k" * 32
PERSON = resident_id(8, date(1975, 4, 3))
CATALOG = Catalog.load()
REPORTED = datetime(2024, 6, 4, 2, 0, tzinfo=UTC)  # 10:00 China time
TIMES = [
    "2024-06-04 10:00",
    "2024-06-04 10:00:00",
    "2024-06-04T10:00:00",
    "2024-06-04T10:00:00+08:00",
    "2024-06-04T02:00:00Z",
    "2024-06-04 04:00:00+02:00",
    "2024/6/4 10:00",
    "2024.6.4 10:00",
    "2024年6月4日 10时00分",
    "20240604 10:00",
    "1717466400000",  # epoch milliseconds of 2024-06-04T02:00:00Z
]
RESULTS = [
    ("阳性", "POSITIVE"),
    ("阴性", "NEGATIVE"),
    ("待复核", "INCONCLUSIVE"),
    ("POSITIVE", "POSITIVE"),
    ("ＮＥＧＡＴＩＶＥ", "NEGATIVE"),
]


@pytest.fixture(scope="module")
def health() -> Iterator[DepartmentMapper]:
    engine = connector_state(sa.create_engine("sqlite://"))
    yield MAPPINGS["health"](KEY, Gazetteer(engine))
    engine.dispose()


def by_file(health: DepartmentMapper, **cells: str) -> dict[str, Any]:
    row = {
        "样本编号": "S-1",
        "证件号码": PERSON,
        "检测结果": "阴性",
        "报告时间": "2024-06-04 10:00",
    }
    return health({**row, **cells}).record


def by_http(**fields: Any) -> dict[str, Any]:
    body = {
        "event_id": "S-1",
        "id_number": PERSON,
        "test_id": "S-1",
        "result": "NEGATIVE",
        "test_type": "PCR",
        "event_time": "2024-06-04 10:00",
        **fields,
    }
    event = JsonContract(CATALOG.event("health", "test-result-reported"), KEY).to_event(body)
    if not isinstance(event, Event):
        raise event[0]
    return event.record


@pytest.mark.parametrize("text", TIMES)
def test_a_time_form_reads_the_same_in_a_file_and_over_http(
    health: DepartmentMapper, text: str
) -> None:
    assert by_file(health, 报告时间=text)["event_time"] == REPORTED
    assert by_http(event_time=text)["event_time"] == REPORTED


def test_over_http_a_time_may_be_epoch_milliseconds_as_the_contract_s_long() -> None:
    assert by_http(event_time=1717466400000)["event_time"] == REPORTED
    with pytest.raises(RecordError, match="out of range"):
        by_http(event_time=-1)


@pytest.mark.parametrize("text", ["昨天", "2024-06-04 25:00", "6/4/2024", "1717466400"])
def test_a_time_neither_path_reads_is_refused_by_both_naming_every_form(
    health: DepartmentMapper, text: str
) -> None:
    reads: list[Callable[[], dict[str, Any]]] = [
        lambda: by_file(health, 报告时间=text),
        lambda: by_http(event_time=text),
    ]
    for read in reads:
        with pytest.raises(RecordError) as refused:
            read()
        assert refused.value.code == "bad_date"
        if "does not exist" not in refused.value.reason:
            for form in ("2024-03-05 10:00", "+08:00", "2024年3月5日", "epoch milliseconds"):
                assert form in refused.value.reason


@pytest.mark.parametrize(("word", "symbol"), RESULTS)
def test_a_result_word_or_symbol_means_the_same_in_a_file_and_over_http(
    health: DepartmentMapper, word: str, symbol: str
) -> None:
    assert by_file(health, 检测结果=word)["result"] == symbol
    assert by_http(result=word)["result"] == symbol


def test_a_word_of_neither_is_refused_by_both_listing_the_symbols_and_the_words(
    health: DepartmentMapper,
) -> None:
    reads: list[Callable[[], dict[str, Any]]] = [
        lambda: by_file(health, 检测结果="弱阳"),
        lambda: by_http(result="弱阳"),
    ]
    for read in reads:
        with pytest.raises(RecordError) as refused:
            read()
        assert refused.value.code == "bad_enum"
        assert "POSITIVE" in refused.value.reason and "阳性" in refused.value.reason


def test_a_name_the_event_does_not_carry_is_dropped_on_both_paths(
    health: DepartmentMapper,
) -> None:
    by_row = by_file(health, 姓名="王义")
    by_body = by_http(name="王义", phone="13812345678")
    for record in (by_row, by_body):
        assert "王义" not in repr(record) and "name_masked" not in record


def test_over_http_a_boolean_takes_the_yes_and_no_words_of_the_files() -> None:
    contract = JsonContract(CATALOG.event("civil-affairs", "care-need-assessed"), KEY)
    fields = {f["name"] for f in contract.contract.schema["fields"]}
    assert {"elderly_living_alone", "subsistence_allowance"} <= fields
    body: dict[str, Any] = {"event_id": "C-1", "event_time": "2024-06-04", "id_number": PERSON}
    refused = contract.to_event({**body, "elderly_living_alone": "也许"})
    assert isinstance(refused, list)
    reasons = {e.field: e.reason for e in refused}
    assert "是/否" in reasons["elderly_living_alone"]
    for word, answer in (("是", True), ("否", False), (True, True)):
        result = contract.to_event({**body, "elderly_living_alone": word})
        if isinstance(result, Event):
            assert result.record["elderly_living_alone"] is answer
        else:
            assert "elderly_living_alone" not in {e.field for e in result}
