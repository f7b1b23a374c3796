"""JSON bodies from outside: nesting measured without recursion before anything parses them."""

from __future__ import annotations

import pytest

from schemas.json_bounds import JsonDepthError, loads_bounded, nesting_exceeds


def test_brackets_inside_strings_do_not_count() -> None:
    document = '{"a": "[[[[{{{{", "b": "\\"[[["}'
    assert not nesting_exceeds(document, max_depth=1)
    assert loads_bounded(document, max_depth=1) == {"a": "[[[[{{{{", "b": '"[[['}


def test_the_bound_is_inclusive() -> None:
    assert not nesting_exceeds(b"[" * 64 + b"]" * 64)
    assert nesting_exceeds(b"[" * 65 + b"]" * 65)
    assert nesting_exceeds('{"a":' * 65 + "1" + "}" * 65)


def test_a_document_a_million_deep_is_refused_not_parsed() -> None:
    with pytest.raises(JsonDepthError, match="nested deeper than 64 levels"):
        loads_bounded(b"[" * 1_000_000)


def test_malformed_json_is_still_a_value_error() -> None:
    with pytest.raises(ValueError):
        loads_bounded(b'{"a": [1, 2')


def test_an_escaped_backslash_before_a_quote_ends_the_string() -> None:
    # "\\" is one backslash: the quote after it closes the string, so [[1]] counts.
    assert nesting_exceeds(b'["\\\\", [[1]]]', max_depth=2)
    assert not nesting_exceeds(b'["\\\\", [[1]]]', max_depth=3)


def test_an_unterminated_string_of_escaped_quotes_a_mebibyte_long_is_measured() -> None:
    # One quote, then \" pairs: a scan that matched escapes inside strings went back to the
    # end of the body from every quote (minutes at this size, the API frozen meanwhile).
    body = b'"' + b'\\"' * (1 << 19)
    assert not nesting_exceeds(body)
    with pytest.raises(ValueError):
        loads_bounded(body)
