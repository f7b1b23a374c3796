"""The data class of every contract field: what kind of value it holds, personal or not.

Each field of a source contract declares ``"datong.class"``. The classes say what may be
written into the field: a connector refuses to put a column that holds an ID number, a
name or a phone number into a field whose class does not take it (a ``code`` field such
as ``lab_code`` never receives a resident's name). The three personal classes are never
the class of a contract field: personal data leaves a connector only as what it becomes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

CLASS_ATTRIBUTE = "datong.class"

# What a column may hold that must never leave a connector as it is.
IDENTIFIER, NAME, PHONE = "identifier", "name", "phone"
PERSONAL_CLASSES = frozenset({IDENTIFIER, NAME, PHONE})

# The classes of contract fields, and the personal columns each may be made from (through
# the transform that makes them safe: person_key, a mask, what an ID number says).
FIELD_CLASSES: Mapping[str, frozenset[str]] = {
    "pseudonym": frozenset({IDENTIFIER}),  # person_key: an HMAC of the ID number
    "birth_date": frozenset({IDENTIFIER}),  # as the ID number encodes it
    "masked_name": frozenset({NAME}),  # 张*
    "masked_phone": frozenset({PHONE}),  # 138****5678
    # An enum or a flag holds one of its symbols whatever its column held.
    "category": PERSONAL_CLASSES,
    "code": frozenset(),  # ids and codes of things: event ids, lab codes, dwelling ids
    "address": frozenset(),  # a place, never a person
    "free_text": frozenset(),  # notes, reasons, summaries: written without personal data
    "label": frozenset(),  # the name of a thing: a vaccine, an item, an organisation
    "count": frozenset(),
    "quantity": frozenset(),  # measured amounts, money, shares
    "time": frozenset(),
}


def field_class(field: Mapping[str, Any]) -> str | None:
    """The declared class of an Avro field (a JSON object), or None when it has none."""
    declared = field.get(CLASS_ATTRIBUTE)
    return declared if isinstance(declared, str) else None


def accepts(klass: str, personal: str) -> bool:
    """Whether a field of class ``klass`` may be made from a column holding ``personal``."""
    return personal in FIELD_CLASSES.get(klass, frozenset())


def record_fields(schema: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(dotted path, field) of every field of a record schema, nested records included."""
    for field in schema.get("fields", ()):
        yield field["name"], field
        kind = field["type"]
        members = kind if isinstance(kind, list) else [kind]
        for member in members:
            if isinstance(member, dict) and member.get("type") == "record":
                for path, inner in record_fields(member):
                    yield f"{field['name']}.{path}", inner
