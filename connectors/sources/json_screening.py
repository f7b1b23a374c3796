"""Personal data refused in a pushed record's fields, by the file connectors' detectors.

A department may send a resident's ID number, name or phone number over HTTP only in the raw
fields the intake pseudonymizes (``id_number``, ``name``, ``phone``). Anywhere else such a
value would be published as it is, so every string of every record is sniffed with
``connectors.personal_signs`` by the data class of its field (``schemas.data_classes``), as
a file connector sniffs the columns it copies: ID numbers anywhere, phone numbers as the
value (or inside prose), names as the whole value of a code field. The refusal names the
field and what it holds, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from connectors.errors import RecordError
from connectors.personal_signs import pushed_class
from schemas.data_classes import IDENTIFIER, NAME, PHONE, field_class, record_fields

PERSONAL_DATA = "personal_data"  # the 422's reason code, the dead letters' one too
# Fields whose values cannot carry what was sent as it was: a pseudonym or a mask (their
# forms are checked at the door), an enum's symbol, a parsed time or date.
_NOT_SCREENED = frozenset(
    {"pseudonym", "birth_date", "masked_name", "masked_phone", "category", "time"}
)
_INDEX = re.compile(r"\[[0-9]+\]")
_WHAT = {IDENTIFIER: "an ID number", NAME: "a name", PHONE: "a phone number"}
_WAY_IN = {
    IDENTIFIER: "send it as id_number (turned into person_key at the door), or leave it out",
    NAME: "send it as name (masked at the door), or leave it out",
    PHONE: "send it as phone (masked at the door), or leave it out",
}


def screened_classes(schema: Mapping[str, Any]) -> dict[str, str]:
    """Dotted field path -> data class of the fields whose strings are sniffed (a field
    without a declared class counts as a code, as the file mappings take it)."""
    classes = {path: field_class(spec) or "code" for path, spec in record_fields(schema)}
    return {path: klass for path, klass in classes.items() if klass not in _NOT_SCREENED}


def screen_record(record: Mapping[str, Any], classes: Mapping[str, str]) -> list[RecordError]:
    """One error per field of ``record`` (the Avro record made of a pushed body) whose string
    holds an ID number, a phone number or, in a code field, a name."""
    errors = []
    for path, text in _strings(record, ""):
        klass = classes.get(_INDEX.sub("", path))
        if klass is None:
            continue
        found = pushed_class(text, klass)
        if found is not None:
            errors.append(RecordError(path, refusal(found, path, klass), PERSONAL_DATA))
    return errors


def refusal(found: str, path: str, klass: str) -> str:
    """The reason given for a field holding ``found``: what, where to send it; no value."""
    article = "an" if klass[0] in "aeiou" else "a"
    return (
        f"holds {_WHAT[found]}, and {path} is {article} {klass} field, published as sent: "
        f"{_WAY_IN[found]}"
    )


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, text) of every string in a record, nested records and arrays included."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _strings(inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(inner, f"{path}[{index}]")
