"""The household-registry export mapped to public-security events by public_security.yaml.

The YAML replaced a hand-written Python mapping; the equivalence tests at the end keep a
frozen copy of that mapping as the oracle and require the same events and the same
rejections (field and code) from the YAML one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy

from connectors import identity
from connectors.base import Event
from connectors.dates import parse_date, parse_datetime, utc
from connectors.errors import RecordError
from connectors.identity import person_key
from connectors.mappings import MAPPINGS
from connectors.mappings import household_register as ps
from connectors.mappings.household_register import HouseholdRegisterMapping
from schemas.catalog import Catalog
from schemas.serde import Serde
from tests.support.factories import (
    REGISTRY_HEADER,
    RegistryRow,
    registry_rows,
    resident_id,
    wrong_check_digit,
)
from tests.support.stores import embedded_registry

HMAC_KEY = b"k" * 32
OTHER_KEY = b"o" * 32
ID_NUMBER = resident_id(7, date(1962, 8, 14))  # sequence 007: odd, male


def fields(row: RegistryRow | None = None, /, **changes: str | None) -> dict[str, str | None]:
    """A registry row as the CSV source yields it, with some cells replaced by column name."""
    row = row or RegistryRow(serial="RB0000001", id_number=ID_NUMBER)
    values: dict[str, str | None] = dict(zip(REGISTRY_HEADER, row.cells(), strict=True))
    values.update(changes)
    return values


def without(column: str) -> dict[str, str | None]:
    values = fields()
    del values[column]
    return values


def map_row(values: dict[str, str | None], key: bytes = HMAC_KEY) -> Event:
    return MAPPINGS[ps.DEPARTMENT](key)(values)


def reject(values: dict[str, str | None]) -> RecordError:
    with pytest.raises(RecordError) as caught:
        map_row(values)
    return caught.value


def output_texts(event: Event) -> list[str]:
    return [event.key, event.event_id, *(str(v) for v in event.record.values())]


@pytest.fixture(scope="module")
def serde() -> Serde:
    return Serde(Catalog.load(), embedded_registry(sqlalchemy.create_engine("sqlite://")))


# --- registration ------------------------------------------------------------------------


def test_a_registration_maps_to_resident_registered() -> None:
    event = map_row(fields())
    assert (event.department, event.event) == ("public-security", "resident-registered")
    assert event.key == person_key(ID_NUMBER, HMAC_KEY)
    assert event.record == {
        "event_id": "public-security:RB0000001",
        "event_time": datetime(2024, 3, 5, 2, 0, tzinfo=UTC),  # 10:00 in Beijing
        "department": "public-security",
        "person_key": person_key(ID_NUMBER, HMAC_KEY),
        "name_masked": "张*",
        "gender": "MALE",
        "birth_date": date(1962, 8, 14),
        "phone_masked": "138****5678",
        "household_no": "H0001",
        "dwelling_id": "D-0001",
        "community_code": "C001",
        "address": "北京市朝阳区幸福里1号楼1单元101",
    }


def test_event_time_is_aware_utc() -> None:
    moment = map_row(fields()).record["event_time"]
    assert moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize("action", ["登记", "户口登记", "出生登记", "迁入", "居住登记"])
def test_every_registration_word_maps_to_resident_registered(action: str) -> None:
    assert map_row(fields(**{ps.ACTION: action})).event == "resident-registered"


def test_birth_date_and_gender_come_from_the_id_when_their_cells_are_empty() -> None:
    event = map_row(fields(**{ps.BIRTH_DATE: "", ps.GENDER: None}))
    assert event.record["birth_date"] == date(1962, 8, 14)
    assert event.record["gender"] == "MALE"


def test_the_birth_date_cell_may_use_any_accepted_date_form() -> None:
    event = map_row(fields(**{ps.BIRTH_DATE: "1962年8月14日"}))
    assert event.record["birth_date"] == date(1962, 8, 14)


def test_a_lower_case_x_in_the_id_gives_the_same_person_key() -> None:
    upper = next(n for n in map(resident_id, range(1000)) if n.endswith("X"))
    row = RegistryRow(serial="RB9", id_number=upper)
    assert map_row(fields(row, **{ps.ID_NUMBER: upper.lower()})).key == map_row(fields(row)).key


def test_an_empty_phone_is_null() -> None:
    assert map_row(fields(**{ps.PHONE: ""})).record["phone_masked"] is None


def test_person_key_depends_on_the_hub_key() -> None:
    assert map_row(fields()).key != map_row(fields(), OTHER_KEY).key


# --- moves and deregistrations -----------------------------------------------------------


def test_a_move_maps_to_resident_moved_with_the_new_place() -> None:
    event = map_row(fields(**{ps.ACTION: "迁移", ps.DWELLING_ID: "D-0099", ps.COMMUNITY: "C002"}))
    assert event.event == "resident-moved"
    assert event.record == {
        "event_id": "public-security:RB0000001",
        "event_time": datetime(2024, 3, 5, 2, 0, tzinfo=UTC),
        "department": "public-security",
        "person_key": person_key(ID_NUMBER, HMAC_KEY),
        "dwelling_id": "D-0099",
        "community_code": "C002",
        "address": "北京市朝阳区幸福里1号楼1单元101",
    }


def test_a_death_deregistration_maps_to_resident_deregistered_with_reason_death() -> None:
    event = map_row(fields(**{ps.ACTION: "死亡注销"}))
    assert event.event == "resident-deregistered"
    assert event.record["reason"] == "DEATH"
    assert "name_masked" not in event.record


@pytest.mark.parametrize(
    ("action", "reason"),
    [("迁出", "MOVED_AWAY"), ("死亡", "DEATH"), ("注销", "OTHER"), ("删除申请", "ERASURE_REQUEST")],
)
def test_each_deregistration_word_gives_its_reason(action: str, reason: str) -> None:
    event = map_row(fields(**{ps.ACTION: action}))
    assert (event.event, event.record["reason"]) == ("resident-deregistered", reason)


def test_a_deregistration_needs_no_name_or_place() -> None:
    values = fields(**{ps.ACTION: "死亡注销", ps.NAME: "", ps.COMMUNITY: ""})
    assert map_row(values).event == "resident-deregistered"


@pytest.mark.parametrize("action", ["登记", "迁移", "死亡注销"])
def test_every_mapped_event_fits_its_contract(serde: Serde, action: str) -> None:
    event = map_row(fields(**{ps.ACTION: action}))
    contract = serde.catalog.event(event.department, event.event)
    serde.check(contract, event.record)
    assert serde.decode(contract, serde.encode(contract, event.record)) == event.record
    assert event.key == event.record[contract.key_field]


# --- rejected rows -----------------------------------------------------------------------


@pytest.mark.parametrize("column", [ps.SERIAL, ps.ACTION, ps.ID_NUMBER, ps.EFFECTIVE])
def test_a_missing_required_column_is_named(column: str) -> None:
    error = reject(without(column))
    assert (error.field, error.code) == (column, "missing_column")


@pytest.mark.parametrize("column", [ps.NAME, ps.COMMUNITY])
def test_an_empty_required_cell_is_named(column: str) -> None:
    error = reject(fields(**{column: " "}))
    assert (error.field, error.code) == (column, "missing_field")


def test_a_cell_missing_because_the_row_is_short_is_named() -> None:
    error = reject(fields(**{ps.EFFECTIVE: None}))
    assert (error.field, error.code) == (ps.EFFECTIVE, "missing_field")


def test_an_empty_id_number_is_named() -> None:
    error = reject(fields(**{ps.ID_NUMBER: ""}))
    assert (error.field, error.code) == (ps.ID_NUMBER, "missing_field")


def test_a_bad_check_digit_is_named_without_the_number() -> None:
    bad = wrong_check_digit(ID_NUMBER)
    error = reject(fields(**{ps.ID_NUMBER: bad}))
    assert (error.field, error.code) == (ps.ID_NUMBER, "invalid_id")
    assert bad not in str(error)
    assert ID_NUMBER[:17] not in str(error)


@pytest.mark.parametrize("effective", ["2024-02-30 10:00:00", "2023-02-29", "2024-13-01"])
def test_an_impossible_effective_date_is_named(effective: str) -> None:
    error = reject(fields(**{ps.EFFECTIVE: effective}))
    assert (error.field, error.code) == (ps.EFFECTIVE, "bad_date")


def test_a_birth_date_that_disagrees_with_the_id_is_named() -> None:
    error = reject(fields(**{ps.BIRTH_DATE: "1962-08-15"}))
    assert (error.field, error.code) == (ps.BIRTH_DATE, "inconsistent")
    assert ID_NUMBER[:17] not in str(error)


def test_an_impossible_birth_date_cell_is_named() -> None:
    error = reject(fields(**{ps.BIRTH_DATE: "1962-02-30"}))
    assert (error.field, error.code) == (ps.BIRTH_DATE, "bad_date")


@pytest.mark.parametrize("action", ["结婚", "", "登 记", "register"])
def test_an_unknown_action_word_is_named(action: str) -> None:
    error = reject(fields(**{ps.ACTION: action}))
    assert error.field == ps.ACTION


def test_an_unknown_gender_word_is_named() -> None:
    error = reject(fields(**{ps.GENDER: "男性x"}))
    assert (error.field, error.code) == (ps.GENDER, "bad_enum")


def test_a_bad_phone_is_named_without_the_phone() -> None:
    error = reject(fields(**{ps.PHONE: "138-abcd-5678"}))
    assert (error.field, error.code) == (ps.PHONE, "invalid_phone")
    assert "138-abcd-5678" not in str(error)


# --- determinism and personal data -------------------------------------------------------


def test_mapping_the_same_row_twice_gives_the_same_event() -> None:
    first, second = map_row(fields()), map_row(fields())
    assert first.event_id == second.event_id
    assert first == second


def test_event_id_is_derived_from_the_serial_number() -> None:
    other = RegistryRow(serial="RB0000002", id_number=ID_NUMBER)
    assert map_row(fields()).event_id != map_row(fields(other)).event_id


@pytest.mark.parametrize("action", ["登记", "迁移", "死亡注销"])
def test_no_output_holds_the_raw_id_number_name_or_phone(action: str) -> None:
    for row in registry_rows(20, seed=11):
        event = map_row(fields(row, **{ps.ACTION: action}))
        for text in output_texts(event):
            assert row.id_number not in text
            assert row.id_number[:17] not in text
            assert row.name not in text
            assert row.phone not in text


def test_registry_mapping_is_the_yaml_mapping() -> None:
    assert HouseholdRegisterMapping(HMAC_KEY)(fields()) == map_row(fields())


def test_the_registry_header_picks_the_registry_export() -> None:
    mapper = MAPPINGS[ps.DEPARTMENT](HMAC_KEY)
    assert mapper.export_for(REGISTRY_HEADER).plan.title == "户籍业务导出"


# --- equivalence with the Python mapping the YAML replaced ---------------------------------

LEGACY_ACTIONS: dict[str, tuple[str, str | None]] = {
    **dict.fromkeys(
        ("登记", "户口登记", "出生登记", "迁入", "居住登记"), ("resident-registered", None)
    ),
    **dict.fromkeys(("迁移", "住址变更", "变更住址"), ("resident-moved", None)),
    "迁出": ("resident-deregistered", "MOVED_AWAY"),
    "死亡注销": ("resident-deregistered", "DEATH"),
    "死亡": ("resident-deregistered", "DEATH"),
    "注销": ("resident-deregistered", "OTHER"),
    "删除申请": ("resident-deregistered", "ERASURE_REQUEST"),
}
LEGACY_GENDERS = {"男": "MALE", "女": "FEMALE", "未知": "UNKNOWN", "M": "MALE", "F": "FEMALE"}


def _legacy_text(values: dict[str, str | None], name: str, required: bool = False) -> str | None:
    if name not in values:
        if required:
            raise RecordError(name, "column is missing from the export", "missing_column")
        return None
    value = (values[name] or "").strip()
    if not value and required:
        code = "missing_field"
        raise RecordError(name, "is missing" if values[name] is None else "is empty", code)
    return value or None


def legacy_map(values: dict[str, str | None], key: bytes = HMAC_KEY) -> Event:
    """A frozen copy of the hand-written HouseholdRegisterMapping (commit 1ad7e4f), the oracle."""
    required = {n: _legacy_text(values, n, True) for n in (ps.SERIAL, ps.ACTION, ps.ID_NUMBER)}
    required[ps.EFFECTIVE] = _legacy_text(values, ps.EFFECTIVE, True)
    if required[ps.ACTION] not in LEGACY_ACTIONS:
        raise RecordError(ps.ACTION, "is not a known action", "bad_enum")
    event, reason = LEGACY_ACTIONS[str(required[ps.ACTION])]
    id_number = identity.normalize_id(str(required[ps.ID_NUMBER]), ps.ID_NUMBER)
    pkey = identity.person_key(id_number, key)
    record: dict[str, object] = {
        "event_id": f"public-security:{required[ps.SERIAL]}",
        "event_time": utc(parse_datetime(str(required[ps.EFFECTIVE]), ps.EFFECTIVE)),
        "department": "public-security",
        "person_key": pkey,
    }
    place = {
        "dwelling_id": _legacy_text(values, ps.DWELLING_ID),
        "community_code": None,
        "address": _legacy_text(values, ps.ADDRESS),
    }
    if event == "resident-registered":
        birth = identity.birth_of(id_number, ps.ID_NUMBER)
        stated = _legacy_text(values, ps.BIRTH_DATE)
        if stated is not None and parse_date(stated, ps.BIRTH_DATE) != birth:
            raise RecordError(ps.BIRTH_DATE, "does not match the ID", "inconsistent")
        word = _legacy_text(values, ps.GENDER)
        if word is not None and word not in LEGACY_GENDERS:
            raise RecordError(ps.GENDER, "is not a known gender", "bad_enum")
        phone = _legacy_text(values, ps.PHONE)
        name = identity.mask_name(_legacy_text(values, ps.NAME, True) or "", ps.NAME)
        record |= {
            "name_masked": name,
            "gender": LEGACY_GENDERS[word] if word else identity.gender_of(id_number),
            "birth_date": birth,
            "phone_masked": identity.mask_phone(phone, ps.PHONE) if phone else None,
            "household_no": _legacy_text(values, ps.HOUSEHOLD_NO),
        }
    if event in ("resident-registered", "resident-moved"):
        place["community_code"] = _legacy_text(values, ps.COMMUNITY, True)
        record |= place
    else:
        record["reason"] = reason
    return Event("public-security", event, pkey, record)


def outcome(
    mapper: Callable[[dict[str, str | None]], Event], values: dict[str, str | None]
) -> object:
    """The event, or the rejection as (field, code): what equivalence compares."""
    try:
        return mapper(values)
    except RecordError as error:
        return (error.field, error.code)


BAD_ROWS: list[dict[str, str | None]] = [
    without(ps.SERIAL),
    without(ps.ACTION),
    without(ps.ID_NUMBER),
    without(ps.EFFECTIVE),
    fields(**{ps.NAME: " "}),
    fields(**{ps.COMMUNITY: ""}),
    fields(**{ps.ACTION: "迁移", ps.COMMUNITY: ""}),
    fields(**{ps.EFFECTIVE: None}),
    fields(**{ps.ID_NUMBER: ""}),
    fields(**{ps.ID_NUMBER: wrong_check_digit(ID_NUMBER)}),
    fields(**{ps.ID_NUMBER: ID_NUMBER[:17]}),
    fields(**{ps.EFFECTIVE: "2024-02-30 10:00:00"}),
    fields(**{ps.EFFECTIVE: "2024-13-01"}),
    fields(**{ps.BIRTH_DATE: "1962-08-15"}),
    fields(**{ps.BIRTH_DATE: "1962-02-30"}),
    fields(**{ps.ACTION: "结婚"}),
    fields(**{ps.ACTION: ""}),
    fields(**{ps.ACTION: "登 记"}),
    fields(**{ps.GENDER: "男性x"}),
    fields(**{ps.PHONE: "138-abcd-5678"}),
    fields(**{ps.PHONE: "12"}),
    fields(**{ps.NAME: "张" * 65}),
    fields(**{ps.ACTION: "死亡注销", ps.NAME: "", ps.COMMUNITY: ""}),
    fields(**{ps.GENDER: "", ps.BIRTH_DATE: None, ps.PHONE: ""}),
]


@pytest.mark.parametrize(("seed", "action"), list(enumerate(LEGACY_ACTIONS)))
def test_the_yaml_maps_every_factory_row_as_the_python_mapping_did(seed: int, action: str) -> None:
    for row in registry_rows(40, seed=seed):
        values = fields(row, **{ps.ACTION: action})
        assert outcome(map_row, values) == outcome(legacy_map, values)


@pytest.mark.parametrize("values", BAD_ROWS, ids=range(len(BAD_ROWS)))
def test_the_yaml_rejects_bad_rows_as_the_python_mapping_did(
    values: dict[str, str | None],
) -> None:
    assert outcome(map_row, values) == outcome(legacy_map, values)
