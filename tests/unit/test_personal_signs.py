"""The signs of personal data in a column: its header's words and its values' shapes."""

from __future__ import annotations

import pytest

from connectors.personal_signs import (
    header_class,
    looks_like_name,
    sample_class,
    text_class,
    value_class,
)

# GB 11643-1999's own example number, and the same with its check digit changed.
VALID_ID = "11010519491231002X"
WRONG_CHECK_DIGIT = "110105194912310021"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("受检者身份证号", "identifier"),
        ("证件号码", "identifier"),
        ("公民身份号码", "identifier"),
        ("受检者姓名", "name"),
        ("名字", "name"),
        ("联系电话", "phone"),
        ("手机号", "phone"),
        ("联系方式", "phone"),
        ("联系人电话", "phone"),
        ("检测机构", None),
        ("检测机构代码", None),
        ("样本编号", None),
        ("证件类型", None),
        ("患者数", None),
    ],
)
def test_a_header_names_the_personal_data_its_column_holds(header: str, expected: str) -> None:
    assert header_class(header) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (VALID_ID, "identifier"),
        (VALID_ID.lower(), "identifier"),
        ("110105 19491231 002X", "identifier"),
        (WRONG_CHECK_DIGIT, None),
        ("20240604100000001X", None),  # a serial with a good check digit but no birth date
        ("991231197001010014", None),  # a good check digit and date, but no province 99
        ("13812345678", "phone"),
        ("138-1234-5678", "phone"),
        ("+86 138 1234 5678", "phone"),
        ("010-62345678", "phone"),
        ("12812345678", None),  # no mobile prefix starts 12
        ("L0101", None),
        ("HS00001", None),
        ("2024-06-04 10:00", None),
        ("1381234567", None),  # one digit short
    ],
)
def test_values_are_sniffed_for_id_and_phone_numbers(value: str, expected: str | None) -> None:
    assert value_class(value) == expected


@pytest.mark.parametrize("value", ["王义", "欧阳修文", "张三", "李四光"])
def test_two_to_four_han_characters_after_a_surname_look_like_a_name(value: str) -> None:
    assert looks_like_name(value)


@pytest.mark.parametrize("value", ["协和医院", "王府井店", "阴性", "核酸", "L0101", "王"])
def test_places_organisations_and_words_do_not_look_like_names(value: str) -> None:
    assert not looks_like_name(value)


def test_a_sample_of_mostly_names_is_a_column_of_names() -> None:
    assert sample_class(["王义", "张三", "李四光", "刘备", "协和医院"]) == "name"
    assert sample_class(["王义", "协和医院", "第一检测站"]) is None
    assert sample_class(["王义", "张三"]) is None  # too few to say


def test_one_id_or_phone_number_in_a_sample_is_enough() -> None:
    assert sample_class(["L0101", VALID_ID, "L0102"]) == "identifier"
    assert sample_class(["L0101", "13812345678"]) == "phone"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("已电话联系,号码13812345678,明日复查", "phone"),
        (f"代{VALID_ID}办理", "identifier"),
        ("13812345678", "phone"),
        ("订单2024060410000000123已送达", None),  # a longer run of digits is no phone number
        (f"批次{WRONG_CHECK_DIGIT}", None),
        ("老人独居,需每日电话问候", None),
    ],
)
def test_free_text_is_sniffed_for_numbers_written_inside_it(text: str, expected: str) -> None:
    assert text_class(text) == expected
