"""Sealed dead letters: AES-GCM bound to the record's source position."""

from __future__ import annotations

import pytest

from connectors.errors import ConnectorError
from connectors.sealing import VERSION, seal, unseal

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
CONTEXT = "exports/registry.csv#17"
ID_NUMBER = "11010519491231002X"


def rejected_row() -> dict[str, object]:
    """A registry row as a connector would dead-letter it."""
    return {
        "业务流水号": "RB0000017",
        "公民身份号码": ID_NUMBER,
        "姓名": "张三丰",
        "联系电话": "13812345678",
        "住址": None,
    }


def test_unseal_returns_what_was_sealed() -> None:
    assert unseal(KEY, seal(KEY, rejected_row(), CONTEXT), CONTEXT) == rejected_row()


def test_sealed_bytes_do_not_contain_the_plaintext() -> None:
    sealed = seal(KEY, rejected_row(), CONTEXT)
    for secret in (ID_NUMBER, "张三丰", "13812345678", "RB0000017", "公民身份号码"):
        assert secret.encode("utf-8") not in sealed
        assert secret.encode("gb18030") not in sealed
    assert b"11010519" not in sealed


def test_sealing_twice_gives_different_bytes() -> None:
    assert seal(KEY, rejected_row(), CONTEXT) != seal(KEY, rejected_row(), CONTEXT)


def test_sealed_bytes_start_with_the_format_version() -> None:
    assert seal(KEY, rejected_row(), CONTEXT).startswith(VERSION)


def test_a_wrong_key_cannot_unseal() -> None:
    sealed = seal(KEY, rejected_row(), CONTEXT)
    with pytest.raises(ConnectorError, match="DATONG_SEAL_KEY"):
        unseal(OTHER_KEY, sealed, CONTEXT)


@pytest.mark.parametrize("context", ["exports/registry.csv#18", "other.csv#17", ""])
def test_a_different_context_cannot_unseal(context: str) -> None:
    sealed = seal(KEY, rejected_row(), CONTEXT)
    with pytest.raises(ConnectorError):
        unseal(KEY, sealed, context)


def test_a_tampered_byte_cannot_unseal() -> None:
    sealed = bytearray(seal(KEY, rejected_row(), CONTEXT))
    sealed[-1] ^= 0x01
    with pytest.raises(ConnectorError):
        unseal(KEY, bytes(sealed), CONTEXT)


def test_an_unknown_format_version_cannot_unseal() -> None:
    sealed = seal(KEY, rejected_row(), CONTEXT)
    with pytest.raises(ConnectorError, match="version"):
        unseal(KEY, b"\x02" + sealed[1:], CONTEXT)


def test_the_error_never_repeats_the_record() -> None:
    sealed = seal(KEY, rejected_row(), CONTEXT)
    with pytest.raises(ConnectorError) as caught:
        unseal(OTHER_KEY, sealed, CONTEXT)
    assert ID_NUMBER not in str(caught.value)
    assert "张三丰" not in str(caught.value)
