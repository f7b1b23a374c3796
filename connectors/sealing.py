"""Sealing rejected records: AES-GCM under the hub's seal key, bound to their source position.

A dead letter must be replayable after the department fixes its data, yet nothing
readable (ID numbers, names, phones) may sit on Kafka in clear.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from connectors.errors import ConnectorError

_NONCE = 12
VERSION = b"\x01"


def seal(key: bytes, fields: Mapping[str, object], context: str) -> bytes:
    """Encrypt ``fields`` as JSON; ``context`` (source, position) is authenticated, not secret."""
    nonce = os.urandom(_NONCE)
    plain = json.dumps(fields, ensure_ascii=False, default=str).encode()
    return VERSION + nonce + AESGCM(key[:32]).encrypt(nonce, plain, context.encode())


def unseal(key: bytes, sealed: bytes, context: str) -> dict[str, object]:
    """Decrypt a sealed record; ConnectorError when the key or context does not match."""
    if not sealed.startswith(VERSION):
        raise ConnectorError("sealed record has an unknown format version")
    nonce, body = sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :]
    try:
        plain = AESGCM(key[:32]).decrypt(nonce, body, context.encode())
    except InvalidTag:
        raise ConnectorError(
            "cannot open the sealed record: wrong DATONG_SEAL_KEY or it was moved to another source"
        ) from None
    data = json.loads(plain)
    if not isinstance(data, dict):
        raise ConnectorError("sealed record does not hold an object")
    return data
