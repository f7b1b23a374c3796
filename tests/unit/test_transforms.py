"""The transforms mapping YAML names, on values as real department exports write them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from connectors.errors import RecordError
from connectors.identity import person_key
from connectors.transforms import TRANSFORMS, Row, build, canonical, keyed_hash
from tests.support.factories import resident_id, wrong_check_digit

KEY = b"k" * 32
COLUMN = "某列"
ID_NUMBER = resident_id(8, date(1985, 3, 12))  # sequence 008: even, female


def run(spec: Any, value: Any, **cells: str | None) -> Any:
    """Apply the transform built from ``spec`` to ``value`` read from column 某列."""
    row = Row(cells, {canonical(k): k for k in cells}, KEY)
    return build(spec).apply(value, COLUMN, row)


def reject(spec: Any, value: Any, **cells: str | None) -> RecordError:
    with pytest.raises(RecordError) as caught:
        run(spec, value, **cells)
    assert caught.value.field in (COLUMN, *cells)
    assert str(value) not in caught.value.reason
    return caught.value


# --- text, dates ---------------------------------------------------------------------------


def test_trim_collapses_inner_whitespace_including_full_width_spaces() -> None:
    assert run("trim", "幸福里\u3000 社区  东门") == "幸福里 社区 东门"


@pytest.mark.parametrize("raw", ["2024-03-05 10:00", "2024/3/5 10:00", "2024年3月5日 10时00分"])
def test_datetime_reads_chinese_forms_as_china_time_and_gives_utc(raw: str) -> None:
    assert run("datetime", raw) == datetime(2024, 3, 5, 2, 0, tzinfo=UTC)


def test_date_reads_the_compact_form() -> None:
    assert run("date", "20240305") == date(2024, 3, 5)


def test_an_impossible_date_is_named() -> None:
    assert reject("date", "2024-02-30").code == "bad_date"


# --- enums and yes/no ----------------------------------------------------------------------


def test_enum_maps_words_to_symbols() -> None:
    spec = {"enum": {"绿码": "GREEN", "红码": "RED"}}
    assert run(spec, "红码") == "RED"


def test_enum_accepts_full_width_letters() -> None:
    assert run({"enum": {"M": "MALE"}}, "Ｍ") == "MALE"


def test_an_unknown_enum_word_lists_the_known_ones_without_the_value() -> None:
    error = reject({"enum": {"绿码": "GREEN", "红码": "RED"}}, "紫码")
    assert (error.code, error.reason) == ("bad_enum", "is not one of 绿码, 红码")


@pytest.mark.parametrize(
    ("raw", "answer"),
    [("是", True), ("否", False), ("有", True), ("无", False), ("Y", True), ("0", False)],
)
def test_bool_reads_chinese_and_latin_answers(raw: str, answer: bool) -> None:
    assert run("bool", raw) is answer


def test_bool_rejects_a_non_answer() -> None:
    assert reject("bool", "也许").code == "bad_bool"


# --- numbers, units, money -----------------------------------------------------------------

WATER = {"number": {"units": {"": 1, "吨": 1, "m³": 1, "立方米": 1, "升": 0.001}}}
POWER = {"number": {"units": {"": 1, "kWh": 1, "度": 1, "千瓦时": 1}}}


@pytest.mark.parametrize(
    ("raw", "cubic_metres"),
    [
        ("12.5", 12.5),
        ("12.5吨", 12.5),
        ("12.5 m³", 12.5),
        ("1,234.5立方米", 1234.5),
        ("500升", 0.5),
    ],
)
def test_water_volumes_in_any_written_unit_become_cubic_metres(
    raw: str, cubic_metres: float
) -> None:
    assert run(WATER, raw) == pytest.approx(cubic_metres)


@pytest.mark.parametrize(
    "raw", ["8832.15", "8832.15kWh", "8832.15 KWH", "8832.15度", "8832.15千瓦时"]
)
def test_electricity_in_kwh_or_du_is_kilowatt_hours(raw: str) -> None:
    assert run(POWER, raw) == pytest.approx(8832.15)


def test_a_unit_the_column_does_not_take_is_named() -> None:
    assert reject(WATER, "12斤").code == "bad_unit"


def test_a_bare_number_needs_a_unit_when_none_is_implied() -> None:
    assert reject({"number": {"units": {"吨": 1}}}, "12").code == "bad_unit"


def test_text_is_not_a_number() -> None:
    assert reject(WATER, "1.2.3").code == "bad_number"


@pytest.mark.parametrize(
    ("raw", "fen"), [("86.5", 8650), ("¥1,120.50", 112050), ("￥86.50元", 8650), ("0", 0)]
)
def test_money_in_yuan_becomes_fen(raw: str, fen: int) -> None:
    assert run("money", raw) == fen


def test_money_in_ten_thousands_of_yuan_becomes_fen() -> None:
    assert run({"money": {"unit": "万元"}}, "320.5") == 320_500_000
    assert run({"money": {"unit": "万元"}}, "320.5万") == 320_500_000


def test_money_with_fractions_of_a_fen_is_rejected() -> None:
    assert reject("money", "1.005").code == "bad_number"


@pytest.mark.parametrize(("raw", "count"), [("3", 3), ("3室", 3), ("三", 3), ("1,200", 1200)])
def test_int_reads_numerals_with_an_allowed_unit(raw: str, count: int) -> None:
    assert run({"int": {"units": ["室", "间"]}}, raw) == count


def test_int_rejects_a_fraction() -> None:
    assert reject("int", "2.5").code == "bad_number"


@pytest.mark.parametrize(("raw", "share"), [("45%", 45), ("45", 45), ("100％", 100)])
def test_percent_reads_with_or_without_the_sign(raw: str, share: int) -> None:
    assert run("percent", raw) == share


def test_percent_over_a_hundred_is_out_of_range() -> None:
    assert reject("percent", "120%").code == "out_of_range"


@pytest.mark.parametrize(
    ("raw", "dose"), [("第2剂", 2), ("第二剂", 2), ("2针", 2), ("2", 2), ("第十剂", 10)]
)
def test_ordinal_reads_dose_numbers(raw: str, dose: int) -> None:
    assert run("ordinal", raw) == dose


def test_a_dose_that_is_not_a_number_is_named() -> None:
    assert reject("ordinal", "加强针").code == "bad_number"


@pytest.mark.parametrize(
    ("raw", "floor"),
    [("5", 5), ("5层", 5), ("-1", -1), ("地下1层", -1), ("负二层", -2), ("B2", -2)],
)
def test_floor_reads_floors_above_and_below_ground(raw: str, floor: int) -> None:
    assert run("floor", raw) == floor


@pytest.mark.parametrize(("raw", "rooms"), [("3室2厅1卫", 3), ("两室一厅一卫", 2), ("2", 2)])
def test_layout_counts_bedrooms(raw: str, rooms: int) -> None:
    assert run({"layout": "rooms"}, raw) == rooms


def test_layout_counts_bathrooms_and_at_least_makes_a_yes_no() -> None:
    bathrooms = run({"layout": "bathrooms"}, "3室2厅2卫")
    assert (bathrooms, run({"at_least": 2}, bathrooms)) == (2, True)


def test_a_layout_without_rooms_is_named() -> None:
    assert reject({"layout": "rooms"}, "大开间").code == "bad_number"


def test_split_takes_chinese_and_latin_separators() -> None:
    assert run("split", "1号楼、3号楼，5号楼;6号楼") == ["1号楼", "3号楼", "5号楼", "6号楼"]


# --- identity and masking ------------------------------------------------------------------


def test_person_key_is_the_hmac_of_the_normalized_id() -> None:
    assert run("person_key", f" {ID_NUMBER.lower()} ") == person_key(ID_NUMBER, KEY)


def test_person_key_rejects_a_bad_check_digit_without_the_number() -> None:
    error = reject("person_key", wrong_check_digit(ID_NUMBER))
    assert error.code == "invalid_id"
    assert ID_NUMBER[:17] not in error.reason


def test_birth_date_and_gender_come_from_the_id_number() -> None:
    assert run("birth_date_of_id", ID_NUMBER) == date(1985, 3, 12)
    assert run("gender_of_id", ID_NUMBER) == "FEMALE"


def test_agrees_with_accepts_a_matching_or_empty_column() -> None:
    birth = date(1985, 3, 12)
    spec = {"agrees_with": {"column": "出生日期", "as": "date"}}
    assert run(spec, birth, 出生日期="1985年3月12日") == birth
    assert run(spec, birth, 出生日期="") == birth


def test_agrees_with_names_the_column_that_disagrees() -> None:
    spec = {"agrees_with": {"column": "出生日期", "as": "date"}}
    error = reject(spec, date(1985, 3, 12), 出生日期="1985-03-13")
    assert (error.field, error.code) == ("出生日期", "inconsistent")


def test_names_and_phones_are_masked() -> None:
    assert run("mask_name", "欧阳娜娜") == "欧***"
    assert run("mask_phone", "138 1234 5678") == "138****5678"


def test_address_without_a_gazetteer_is_a_configuration_error() -> None:
    assert reject({"address": {"part": "dwelling_id"}}, "幸福里3号楼1单元101").code == "config"


# --- hashes and building -------------------------------------------------------------------


def test_keyed_hash_is_deterministic_and_depends_on_the_hub_key() -> None:
    assert keyed_hash(["W-1", "2024-03-05"], KEY) == keyed_hash(["W-1", "2024-03-05"], KEY)
    assert keyed_hash(["W-1", "2024-03-05"], KEY) != keyed_hash(["W-1", "2024-03-05"], b"o" * 32)
    assert keyed_hash(["W-1", "2024-03-05"], KEY) != keyed_hash(["W-12024-03-05"], KEY)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("enumm", "unknown transform 'enumm'"),
        ({"enum": []}, "enum needs a mapping"),
        ({"enum": {True: "YES"}}, "quote it"),
        ({"money": {"unit": "美元"}}, "money unit must be one of"),
        ({"layout": "kitchens"}, "layout takes rooms or bathrooms"),
        ({"trim": 1}, "takes no arguments"),
        ({"a": 1, "b": 2}, "one-key mapping"),
    ],
)
def test_a_bad_transform_spec_says_what_is_wrong(spec: Any, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        build(spec)


def test_every_transform_builds_with_its_documented_arguments() -> None:
    arguments: dict[str, Any] = {
        "enum": {"是": "YES"},
        "layout": "rooms",
        "at_least": 2,
        "agrees_with": {"column": "出生日期"},
        "address": {"part": "dwelling_id"},
    }
    for name in TRANSFORMS:
        assert build({name: arguments[name]} if name in arguments else name).kind
