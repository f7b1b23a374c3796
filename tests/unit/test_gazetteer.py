"""The gazetteer (free-text address -> dwelling_id) and the resolution queue, on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.base import Event, SourceRecord
from connectors.errors import PublishError, RecordError
from connectors.gazetteer import (
    AddressUnresolved,
    Candidate,
    Gazetteer,
    chinese_int,
    normalize_text,
    parse_address,
)
from connectors.mappings import MAPPINGS
from connectors.resolution import ResolutionQueue, resolve_queue
from connectors.state.tables import queue_table
from tests.support.factories import resident_id
from tests.support.stores import connector_state

KEY = b"k" * 32
SEAL_KEY = b"s" * 32
FIELD = "收货地址"
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def dwelling(
    dwelling_id: str,
    *,
    community: str = "110105012003",
    community_name: str = "幸福里社区",
    building: str = "3号楼",
    unit: str | None = "2单元",
    room: str = "502",
    at: datetime = T0,
) -> dict[str, Any]:
    """A DwellingRegistered record as the housing mapping produces it."""
    full = f"北京市朝阳区三里屯街道{community_name}{building}{unit or ''}{room}室"
    return {
        "event_time": at,
        "dwelling_id": dwelling_id,
        "community_code": community,
        "building": building,
        "unit": unit,
        "room_number": room,
        "address": {
            "province": "北京市",
            "city": "北京市",
            "district": "朝阳区",
            "street": "三里屯街道",
            "community": community_name,
            "full_text": full,
        },
    }


GUANGMING_7_1_101 = dwelling(
    "FW-GML-7-1-101",
    community="110105012006",
    community_name="光明里社区",
    building="7号楼",
    unit="1单元",
    room="101",
)


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    engine = connector_state(sa.create_engine("sqlite://"))
    yield engine
    engine.dispose()


@pytest.fixture
def gazetteer(engine: sa.Engine) -> Gazetteer:
    gazetteer = Gazetteer(engine)
    gazetteer.add(dwelling("FW-XFL-3-2-502"))
    gazetteer.add(dwelling("FW-XFL-3-2-501", room="501"))
    gazetteer.add(dwelling("FW-XFL-A-1-1101", building="A座", unit="1单元", room="1101"))
    gazetteer.add(dwelling("FW-TG-3-2-502", community="110105012004", community_name="团结湖社区"))
    return gazetteer


def unresolved(gazetteer: Gazetteer, text: str, community: str | None = None) -> AddressUnresolved:
    with pytest.raises(AddressUnresolved) as caught:
        gazetteer.resolve(text, FIELD, community)
    assert (caught.value.field, caught.value.code) == (FIELD, "unresolved_address")
    return caught.value


# --- normalization -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "北京市朝阳区三里屯街道幸福里社区3号楼2单元502室",
        "幸福里3栋2单元502",
        "幸福里小区３号楼二单元５０２号",
        "幸福里 3-2-502",
        "幸福里3#2单元502",
        "幸福里3幢2单元0502",
        "幸福里三号楼2单元5层502",
        "幸福里3号楼2-502室",
    ],
)
def test_written_forms_of_one_address_reduce_to_the_same_parts(text: str) -> None:
    parsed = parse_address(text)
    assert parsed is not None
    assert (parsed.building, parsed.unit, parsed.room) == ("3", "2", "502")
    assert "幸福里" in parsed.place


def test_a_building_without_units_keeps_room_and_building() -> None:
    parsed = parse_address("幸福里A座1101")
    assert parsed is not None
    assert (parsed.building, parsed.unit, parsed.room) == ("A", "", "1101")


@pytest.mark.parametrize("text", ["幸福里小区东门", "幸福里3号楼", ""])
def test_an_address_without_building_and_room_does_not_parse(text: str) -> None:
    assert parse_address(text) is None


def test_normalize_text_folds_full_width_and_chinese_numerals_before_markers() -> None:
    assert normalize_text("三里屯 幸福里（二期）十二号楼") == "三里屯幸福里2期12号楼"


@pytest.mark.parametrize(
    ("text", "number"), [("十二", 12), ("二十", 20), ("一百零五", 105), ("两", 2), ("7", 7)]
)
def test_chinese_int_reads_numerals(text: str, number: int) -> None:
    assert chinese_int(text) == number


# --- resolution ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "北京市朝阳区三里屯街道幸福里社区3号楼2单元502室",
        "朝阳区幸福里小区3号楼2单元502",
        "幸福里３栋二单元５０２",
        "幸福里 3-2-502",
    ],
)
def test_a_known_address_resolves_to_its_dwelling_and_community(
    gazetteer: Gazetteer, text: str
) -> None:
    assert gazetteer.resolve(text, FIELD) == Candidate("FW-XFL-3-2-502", "110105012003")


def test_the_same_room_in_another_community_is_told_apart_by_name(gazetteer: Gazetteer) -> None:
    assert gazetteer.resolve("团结湖3号楼2单元502", FIELD).dwelling_id == "FW-TG-3-2-502"


def test_the_longest_matching_name_wins(gazetteer: Gazetteer) -> None:
    gazetteer.add(
        dwelling("FW-XFL2-3-2-502", community="110105012005", community_name="幸福里2区社区")
    )
    assert gazetteer.resolve("幸福里2区3号楼2单元502", FIELD).dwelling_id == "FW-XFL2-3-2-502"
    assert gazetteer.resolve("幸福里3号楼2单元502", FIELD).dwelling_id == "FW-XFL-3-2-502"


def test_an_address_without_a_place_lists_the_candidates(gazetteer: Gazetteer) -> None:
    error = unresolved(gazetteer, "3号楼2单元502")
    assert {c.dwelling_id for c in error.candidates} == {"FW-XFL-3-2-502", "FW-TG-3-2-502"}


def test_the_record_s_community_resolves_an_address_without_a_place(gazetteer: Gazetteer) -> None:
    resolved = gazetteer.resolve("3号楼2单元502", FIELD, community_code="110105012004")
    assert resolved.dwelling_id == "FW-TG-3-2-502"


def test_an_unknown_estate_is_unresolved_with_the_rooms_that_would_fit(
    gazetteer: Gazetteer,
) -> None:
    error = unresolved(gazetteer, "光明里3号楼2单元502")
    assert "names no community" in error.reason
    assert len(error.candidates) == 2


def test_a_room_nobody_registered_is_unresolved_without_candidates(gazetteer: Gazetteer) -> None:
    error = unresolved(gazetteer, "幸福里3号楼2单元999")
    assert (error.reason, error.candidates) == ("matches no dwelling in the housing registry", ())


def test_two_dwellings_answering_the_same_address_are_both_candidates(
    gazetteer: Gazetteer,
) -> None:
    gazetteer.add(dwelling("FW-XFL-3-2-502-DUP"))
    error = unresolved(gazetteer, "幸福里3号楼2单元502")
    assert error.reason == "matches 2 dwellings"
    assert {c.dwelling_id for c in error.candidates} == {"FW-XFL-3-2-502", "FW-XFL-3-2-502-DUP"}


def test_a_place_without_building_is_unresolved(gazetteer: Gazetteer) -> None:
    error = unresolved(gazetteer, "幸福里小区东门")
    assert error.candidates == ()


def test_a_correction_replaces_the_dwelling_and_an_older_record_does_not(
    gazetteer: Gazetteer,
) -> None:
    later = datetime(2024, 5, 1, tzinfo=UTC)
    gazetteer.add(dwelling("FW-XFL-3-2-502", room="602", at=later))
    gazetteer.add(dwelling("FW-XFL-3-2-502", room="502", at=T0))
    assert gazetteer.resolve("幸福里3号楼2单元602", FIELD).dwelling_id == "FW-XFL-3-2-502"
    candidates = unresolved(gazetteer, "幸福里3号楼2单元502").candidates
    assert "FW-XFL-3-2-502" not in {c.dwelling_id for c in candidates}


# --- the resolution queue ------------------------------------------------------------------

ORDER_HEADER = ["订单编号", "订单状态", "收货地址", "收货人", "联系电话", "商品明细", "状态时间"]


def order(address: str, serial: str = "PS0001", status: str = "待配送") -> SourceRecord:
    cells = [serial, status, address, "陈静", "13600002222", "大米5kg", "2024-03-05 10:31"]
    return SourceRecord(
        "配送订单_20240305.csv", int(serial[-4:]), dict(zip(ORDER_HEADER, cells, strict=True))
    )


@dataclass
class RecordingSink:
    """Collects what resolve_queue sends; ``fail_flush`` plays a broker that did not ack."""

    published: list[Event] = field(default_factory=list)
    dead: list[tuple[SourceRecord, RecordError]] = field(default_factory=list)
    notices: list[tuple[SourceRecord, str]] = field(default_factory=list)
    fail_flush: bool = False

    def publish(self, event: Event, origin: SourceRecord | None = None) -> str:
        self.published.append(event)
        return event.event

    def dead_letter(
        self, department: str, record: SourceRecord, error: RecordError, sealed: bytes
    ) -> None:
        self.dead.append((record, error))

    def notice(
        self, department: str, record: SourceRecord, outcome: str, error: RecordError
    ) -> None:
        self.notices.append((record, outcome))

    def flush(self) -> None:
        if self.fail_flush:
            raise PublishError("no ack")


def park_through_the_mapping(engine: sa.Engine, gazetteer: Gazetteer, record: SourceRecord) -> None:
    """What the runner does with an unresolved record: park it instead of rejecting it."""
    with pytest.raises(AddressUnresolved) as caught:
        MAPPINGS["commerce"](KEY, gazetteer)(record.fields)
    ResolutionQueue(engine, SEAL_KEY).park("commerce", record, caught.value)


def test_a_parked_record_keeps_source_position_candidates_and_sealed_fields(
    engine: sa.Engine, gazetteer: Gazetteer
) -> None:
    park_through_the_mapping(engine, gazetteer, order("3号楼2单元502"))
    (parked,) = ResolutionQueue(engine, SEAL_KEY).parked()
    assert (parked.department, parked.record.source, parked.record.position) == (
        "commerce",
        "配送订单_20240305.csv",
        "1",
    )
    assert (parked.field, len(parked.candidates)) == (FIELD, 2)
    assert parked.record.fields["收货人"] == "陈静"
    with engine.connect() as connection:
        stored = connection.execute(sa.select(queue_table)).one()
    assert "陈静".encode() not in stored.sealed
    assert b"13600002222" not in stored.sealed


def test_parking_the_same_position_again_keeps_one_entry(
    engine: sa.Engine, gazetteer: Gazetteer
) -> None:
    park_through_the_mapping(engine, gazetteer, order("3号楼2单元502"))
    park_through_the_mapping(engine, gazetteer, order("3号楼2单元502"))
    assert len(ResolutionQueue(engine, SEAL_KEY).parked()) == 1


def test_resolve_queue_publishes_what_resolves_after_the_gazetteer_grew(
    engine: sa.Engine, gazetteer: Gazetteer
) -> None:
    park_through_the_mapping(engine, gazetteer, order("光明里7号楼1单元101", "PS0001"))
    park_through_the_mapping(engine, gazetteer, order("光明里9号楼1单元101", "PS0002"))
    gazetteer.add(GUANGMING_7_1_101)
    sink = RecordingSink()
    mappers = {"commerce": MAPPINGS["commerce"](KEY, gazetteer)}
    stats = resolve_queue(engine, mappers, SEAL_KEY, sink)
    assert (stats.resolved, stats.parked, stats.rejected) == (1, 1, 0)
    assert [e.record["dwelling_id"] for e in sink.published] == ["FW-GML-7-1-101"]
    # The hub's scorecard learns of the resolution from a notice naming its source row.
    assert [(r.position, outcome) for r, outcome in sink.notices] == [("1", "resolved")]
    (left,) = ResolutionQueue(engine, SEAL_KEY).parked()
    assert (left.record.position, left.attempts) == ("2", 1)


def test_a_parked_record_is_kept_when_the_flush_fails(
    engine: sa.Engine, gazetteer: Gazetteer
) -> None:
    park_through_the_mapping(engine, gazetteer, order("光明里7号楼1单元101"))
    gazetteer.add(GUANGMING_7_1_101)
    mappers = {"commerce": MAPPINGS["commerce"](KEY, gazetteer)}
    with pytest.raises(PublishError):
        resolve_queue(engine, mappers, SEAL_KEY, RecordingSink(fail_flush=True))
    assert len(ResolutionQueue(engine, SEAL_KEY).parked()) == 1


def test_a_parked_record_that_fails_otherwise_is_dead_lettered_and_leaves_the_queue(
    engine: sa.Engine, gazetteer: Gazetteer
) -> None:
    record = order("光明里7号楼1单元101")
    park_through_the_mapping(engine, gazetteer, record)
    gazetteer.add(GUANGMING_7_1_101)
    # The department's mapping changed meanwhile: its orders now need a column this one lacks.
    strict = {"commerce": _Refusing()}
    sink = RecordingSink()
    assert resolve_queue(engine, strict, SEAL_KEY, sink).rejected == 1
    assert [(r.position, e.code) for r, e in sink.dead] == [("1", "missing_column")]
    assert ResolutionQueue(engine, SEAL_KEY).parked() == []


def test_departments_without_a_mapper_stay_parked(engine: sa.Engine, gazetteer: Gazetteer) -> None:
    park_through_the_mapping(engine, gazetteer, order("3号楼2单元502"))
    stats = resolve_queue(engine, {}, SEAL_KEY, RecordingSink())
    assert (stats.parked, stats.resolved) == (1, 0)


class _Refusing:
    department = "commerce"

    def __call__(self, fields: Any) -> Event:
        raise RecordError("门店编码", "column is missing from the export", "missing_column")


def test_person_keys_in_resolved_events_do_not_reveal_the_parked_id(engine: sa.Engine) -> None:
    gazetteer = Gazetteer(engine)
    id_number = resident_id(3, date(1950, 1, 1))
    header = [
        "流水号",
        "管控措施",
        "隔离编号",
        "证件号码",
        "隔离方式",
        "隔离地址",
        "隔离开始时间",
        "计划解除时间",
        "操作时间",
    ]
    cells = [
        "GL1",
        "开始隔离",
        "QZ1",
        id_number,
        "居家隔离",
        "幸福里3号楼2单元502",
        "2024-03-05 12:00",
        "2024-03-12 12:00",
        "2024-03-05 11:40",
    ]
    record = SourceRecord("隔离管控台账.csv", 1, dict(zip(header, cells, strict=True)))
    with pytest.raises(AddressUnresolved) as caught:
        MAPPINGS["health"](KEY, gazetteer)(record.fields)
    ResolutionQueue(engine, SEAL_KEY).park("health", record, caught.value)
    gazetteer.add(dwelling("FW-XFL-3-2-502"))
    sink = RecordingSink()
    resolve_queue(engine, {"health": MAPPINGS["health"](KEY, gazetteer)}, SEAL_KEY, sink)
    (event,) = sink.published
    assert event.record["dwelling_id"] == "FW-XFL-3-2-502"
    assert id_number not in repr(event.record)
