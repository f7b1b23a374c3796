"""The contract's enum words hold every word the shipped mappings write, with its meaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.mappings import DEPARTMENT_DIRS
from schemas.catalog import Catalog, department_name
from schemas.enum_words import ENUM_WORDS, spoken, symbol_for, words_of, yes_no
from tests.support.mapping_words import enum_of, enum_words

CATALOG = Catalog.load()
MAPPINGS = Path(__file__).parents[2] / "connectors" / "mappings"


@pytest.mark.parametrize("directory", DEPARTMENT_DIRS)
def test_every_word_a_shipped_mapping_maps_is_a_contract_word_of_the_same_symbol(
    directory: str,
) -> None:
    department = department_name(directory)
    found = 0
    for event, field, word, symbol in enum_words(MAPPINGS / f"{directory}.yaml", CATALOG):
        enum = enum_of(CATALOG, department, event, field)
        assert enum is not None, (event, field)
        assert ENUM_WORDS[enum[0]].get(word) == symbol, (enum[0], word)
        found += 1
    assert found or directory == "utilities"


def test_every_listed_word_names_a_symbol_of_its_enum() -> None:
    symbols: dict[str, set[str]] = {}
    for contract in CATALOG.sources():
        for name in contract.field_names:
            found = enum_of(CATALOG, str(contract.department), str(contract.event), name)
            if found is not None:
                symbols[found[0]] = set(found[1])
    for enum, words in ENUM_WORDS.items():
        assert set(words.values()) <= symbols[enum], enum


def test_a_symbol_or_a_word_names_a_symbol_after_nfkc_and_trimming() -> None:
    words = words_of("gov.health.TestResult")
    symbols = ("POSITIVE", "NEGATIVE", "INCONCLUSIVE")
    assert symbol_for(" 阳性 ", symbols, words) == "POSITIVE"
    assert symbol_for("ＰＯＳＩＴＩＶＥ", symbols, words) == "POSITIVE"
    assert symbol_for("NEGATIVE", symbols, words) == "NEGATIVE"
    assert symbol_for("positive", symbols, words) is None
    assert symbol_for("阳 性", symbols, words) is None
    assert spoken("\u3000无效") == "无效"


@pytest.mark.parametrize(
    ("text", "answer"), [("是", True), ("yes", True), ("否", False), ("0", False), ("也许", None)]
)
def test_yes_and_no_words(text: str, answer: bool | None) -> None:
    assert yes_no(text) is answer
