"""Resident ID numbers (GB 11643), person keys and masking."""

from __future__ import annotations

import re
from datetime import date

import pytest

from connectors.errors import RecordError
from connectors.identity import (
    birth_of,
    check_digit,
    gender_of,
    mask_name,
    mask_phone,
    normalize_id,
    person_key,
)
from tests.support.factories import resident_id, wrong_check_digit

FIELD = "公民身份号码"
KNOWN_GOOD = "11010519491231002X"  # the example printed in GB 11643-1999
KEY_A = b"a" * 32
KEY_B = b"b" * 32


def id_with_birth(year: int, month: int, day: int, seq: int = 7) -> str:
    """An ID number with a valid check digit whose birth digits may name an impossible day."""
    first17 = f"110105{year:04d}{month:02d}{day:02d}{seq:03d}"
    return first17 + check_digit(first17)


def reject(raw: str) -> RecordError:
    with pytest.raises(RecordError) as caught:
        normalize_id(raw, FIELD)
    return caught.value


def assert_does_not_leak(error: RecordError, raw: str) -> None:
    digits = re.sub(r"\D", "", raw)
    for text in (str(error), error.reason):
        assert raw.strip() not in text
        assert digits[:14] not in text  # not even the region and birth digits


# --- check digit and normalization -------------------------------------------------------


def test_check_digit_of_the_standard_example_is_x() -> None:
    assert check_digit(KNOWN_GOOD[:17]) == "X"


@pytest.mark.parametrize("seq", [0, 1, 2, 17, 503, 999])
def test_check_digit_makes_the_weighted_sum_one_mod_eleven(seq: int) -> None:
    # ISO 7064 MOD 11-2: the weighted sum including the check character (X = 10) is 1 mod 11.
    number = resident_id(seq, date(1987, 6, 30))
    weights = [pow(2, 17 - i, 11) for i in range(18)]
    values = [10 if c == "X" else int(c) for c in number]
    assert sum(v * w for v, w in zip(values, weights, strict=True)) % 11 == 1


def test_a_valid_id_number_is_returned_unchanged() -> None:
    assert normalize_id(KNOWN_GOOD, FIELD) == KNOWN_GOOD


def test_a_lower_case_x_is_normalized_to_upper_case() -> None:
    assert normalize_id(KNOWN_GOOD.lower(), FIELD) == KNOWN_GOOD


def test_surrounding_and_inner_spaces_are_ignored() -> None:
    spaced = f"  {KNOWN_GOOD[:6]} {KNOWN_GOOD[6:14]} {KNOWN_GOOD[14:]} "
    assert normalize_id(spaced, FIELD) == KNOWN_GOOD


def test_a_wrong_check_digit_is_rejected_without_repeating_the_number() -> None:
    bad = wrong_check_digit(KNOWN_GOOD)
    error = reject(bad)
    assert error.field == FIELD
    assert error.code == "invalid_id"
    assert_does_not_leak(error, bad)


@pytest.mark.parametrize(
    "raw",
    [KNOWN_GOOD[:17], KNOWN_GOOD + "1", "1101051949123100", "1" * 19],
    ids=["17-chars", "19-chars", "16-digits", "19-digits"],
)
def test_a_number_of_the_wrong_length_is_rejected(raw: str) -> None:
    error = reject(raw)
    assert error.field == FIELD
    assert error.code == "invalid_id"
    assert_does_not_leak(error, raw)


@pytest.mark.parametrize(
    "raw",
    ["1101051949123I002X", "11010519491231002Y", "X1010519491231002X", "110105-949123100X"],
    ids=["letter-I", "check-Y", "leading-X", "dash"],
)
def test_non_digits_are_rejected(raw: str) -> None:
    error = reject(raw)
    assert error.field == FIELD
    assert error.code == "invalid_id"
    assert_does_not_leak(error, raw)


@pytest.mark.parametrize(
    ("year", "month", "day"),
    [(1949, 2, 30), (2023, 2, 29), (1990, 13, 1), (1990, 0, 10), (1990, 4, 31), (1990, 1, 0)],
)
def test_a_birth_date_that_does_not_exist_is_rejected(year: int, month: int, day: int) -> None:
    raw = id_with_birth(year, month, day)
    error = reject(raw)
    assert error.field == FIELD
    assert error.code == "invalid_id"
    assert_does_not_leak(error, raw)


def test_a_leap_day_birth_is_accepted() -> None:
    raw = id_with_birth(2000, 2, 29)
    assert birth_of(normalize_id(raw, FIELD), FIELD) == date(2000, 2, 29)


def test_an_empty_number_is_a_missing_field() -> None:
    error = reject("   ")
    assert (error.field, error.code) == (FIELD, "missing_field")


def test_the_error_names_whichever_field_the_caller_passes() -> None:
    with pytest.raises(RecordError) as caught:
        normalize_id(wrong_check_digit(KNOWN_GOOD), "guardian_id")
    assert caught.value.field == "guardian_id"
    assert str(caught.value).startswith("guardian_id: ")


def test_birth_date_and_gender_come_from_the_number() -> None:
    assert birth_of(KNOWN_GOOD, FIELD) == date(1949, 12, 31)
    assert gender_of(KNOWN_GOOD) == "FEMALE"  # sequence digit 2 is even
    assert gender_of(resident_id(1)) == "MALE"


# --- person_key --------------------------------------------------------------------------


def test_person_key_is_the_same_for_the_same_number_and_key() -> None:
    assert person_key(KNOWN_GOOD, KEY_A) == person_key(KNOWN_GOOD, KEY_A)


def test_person_key_differs_under_another_key() -> None:
    assert person_key(KNOWN_GOOD, KEY_A) != person_key(KNOWN_GOOD, KEY_B)


def test_person_key_differs_between_residents() -> None:
    keys = {person_key(resident_id(seq), KEY_A) for seq in range(50)}
    assert len(keys) == 50


def test_person_key_is_hex_sha256_and_does_not_contain_the_number() -> None:
    key = person_key(KNOWN_GOOD, KEY_A)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert KNOWN_GOOD[:17] not in key


# --- masking -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("欧阳娜娜", "欧***"), ("王", "王*"), ("  李小明 ", "李**")],
)
def test_mask_name_keeps_only_the_first_character(name: str, masked: str) -> None:
    assert mask_name(name, "姓名") == masked


def test_mask_name_rejects_an_empty_name() -> None:
    with pytest.raises(RecordError) as caught:
        mask_name("  ", "姓名")
    assert (caught.value.field, caught.value.code) == ("姓名", "missing_field")


def test_mask_name_rejects_an_overlong_name_without_repeating_it() -> None:
    name = "张" + "三" * 80
    with pytest.raises(RecordError) as caught:
        mask_name(name, "姓名")
    assert (caught.value.field, caught.value.code) == ("姓名", "too_long")
    assert name not in str(caught.value)


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("010-65551234", "010****1234"),
        ("0755-812345", "075***2345"),
        ("+86 138 1234 5678", "861******5678"),
        ("1234567", "1234567"),
    ],
)
def test_mask_phone_keeps_the_first_three_and_last_four_digits(phone: str, masked: str) -> None:
    assert mask_phone(phone, "联系电话") == masked


def test_mask_phone_of_an_empty_value_is_none() -> None:
    assert mask_phone("  ", "联系电话") is None


@pytest.mark.parametrize("phone", ["abc", "138123x5678", "12345", "1-2-3-4-5", "138/1234/5678"])
def test_mask_phone_rejects_what_is_not_a_phone_number(phone: str) -> None:
    with pytest.raises(RecordError) as caught:
        mask_phone(phone, "联系电话")
    assert (caught.value.field, caught.value.code) == ("联系电话", "invalid_phone")
    assert phone not in str(caught.value)


def test_an_id_number_in_full_width_digits_is_refused_not_hashed_as_other_bytes() -> None:
    with pytest.raises(RecordError, match="17 digits"):
        normalize_id("１１０１０５１９４９１２３１００２" + "X", "id_number")
