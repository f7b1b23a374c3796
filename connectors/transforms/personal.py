"""Transforms of a resident's ID number: the person_key and what the number itself says.

They are marked personal: the loader refuses a mapping that also copies their column as is.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from connectors.identity import birth_of, gender_of
from connectors.identity import person_key as hmac_person_key
from connectors.transforms.cells import Row


def person_key(value: str, column: str, row: Row) -> str:
    return hmac_person_key(row.id_number(value, column), row.hmac_key)


def birth_of_id(value: str, column: str, row: Row) -> date:
    return birth_of(row.id_number(value, column), column)


def gender_of_id(value: str, column: str, row: Row) -> str:
    return gender_of(row.id_number(value, column))


def keyed_hash(values: list[str], key: bytes) -> str:
    """A short HMAC of cell values: an event_id part that reveals nothing of them."""
    message = "\x1f".join(values).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:20]
