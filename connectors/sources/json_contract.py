"""The JSON contract of HTTP ingest: an event's Avro fields, pseudonymized at the door.

For event ``E`` of department ``D`` a record is a JSON object whose keys are the fields of
``E``'s Avro schema (``datong schemas list``, ``/asyncapi.yaml``), except:

- ``event_id`` (required): the department's own unique id of the record, published as
  ``D:<event_id>``, so a resent record is the same event;
- ``department`` may be left out (it is ``D``);
- ``id_number`` replaces ``person_key``: the 18-digit resident ID number, check digit
  verified (GB 11643) and turned into ``person_key`` under the hub's HMAC key here;
  ``name`` replaces ``name_masked`` and ``phone`` replaces ``phone_masked``: masked here.
  A ``person_key`` or masked value sent as such must already have that form, so a raw
  value put in the wrong field cannot slip through. On an event without ``name_masked``
  or ``phone_masked``, a ``name`` or ``phone`` is accepted and dropped here, as a file
  export's name column is never read;
- times and dates take the forms the file mappings read (``schemas.ingest_rules``): text
  such as ``2024-03-05 10:00`` or ``2024-03-05T10:00:00+08:00`` (China time when without an
  offset), or a time as epoch milliseconds (Avro's ``long``); enums take their symbol or
  the contract's words (``schemas.enum_words``: ``阳性`` is ``POSITIVE``), booleans true,
  false or the yes/no words (是/否);
- optional fields may be left out or null; an unknown key is an error, so is any string
  that looks like a spreadsheet formula, and any that holds personal data where the field
  does not take it (``json_screening``: an ID number anywhere, a phone number, a name in a
  code field), found by the file connectors' own detectors.

``schemas.ingest_schema`` describes the same rules as JSON Schema. Errors name the field
and never repeat its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.base import Event
from connectors.errors import RecordError
from connectors.identity import mask_name, mask_phone, normalize_id, person_key
from connectors.sources.cells import looks_like_formula
from connectors.sources.json_screening import screen_record, screened_classes
from connectors.sources.json_values import named_types, to_record
from schemas.catalog import Contract
from schemas.ingest_rules import MAX_EVENT_ID_CHARS, MAX_RAW_CHARS, PSEUDONYMIZED, RAW_FIELDS

# Eighteen characters shaped like a resident ID number: no event id may hold one, whatever
# its check digit says.
_ID_LIKE = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dXx])")
_PSEUDONYMIZED = {name: re.compile(pattern) for name, pattern in PSEUDONYMIZED.items()}


class JsonContract:
    """Turns JSON records of one event type into pseudonymized events."""

    def __init__(self, contract: Contract, hmac_key: bytes) -> None:
        if contract.department is None or contract.event is None:
            raise ValueError(f"{contract.topic} is not a source contract")
        self.contract = contract
        self.department: str = contract.department
        self.event: str = contract.event
        self._hmac_key = hmac_key
        self._named = named_types(contract.schema)
        self._screened = screened_classes(contract.schema)

    def to_event(self, body: Mapping[str, Any]) -> Event | list[RecordError]:
        """The event for ``body``, or every field error found in it."""
        errors: list[RecordError] = []
        fields = dict(body)
        department = fields.pop("department", self.department)
        if department != self.department:
            errors.append(
                RecordError("department", f"must be {self.department} or left out", "bad_value")
            )
        fields["event_id"] = self._event_id(fields.get("event_id"), errors)
        fields["department"] = self.department
        for raw, masked in RAW_FIELDS.items():
            self._pseudonymize(fields, raw, masked, errors)
        found: list[RecordError] = []
        record = to_record(self.contract.schema, fields, "", self._named, found)
        # A field whose raw form was already reported is not reported again as missing.
        covered = {RAW_FIELDS.get(e.field, e.field) for e in errors}
        errors += [e for e in found if e.field not in covered]
        # The event id without its department prefix, which would hide what it holds.
        own_id = fields["event_id"] and fields["event_id"].removeprefix(f"{self.department}:")
        errors += screen_record({**record, "event_id": own_id}, self._screened)
        if errors:
            return errors
        return Event(self.department, self.event, str(record[self.contract.key_field]), record)

    def _event_id(self, value: Any, errors: list[RecordError]) -> str | None:
        if not isinstance(value, str) or not value.strip():
            errors.append(
                RecordError("event_id", "is required: the record's unique id", "missing_field")
            )
            return None
        if len(value) > MAX_EVENT_ID_CHARS or looks_like_formula(value) or _ID_LIKE.search(value):
            reason = f"must be at most {MAX_EVENT_ID_CHARS} characters of plain text, no ID number"
            errors.append(RecordError("event_id", reason, "bad_value"))
            return None
        prefix = f"{self.department}:"
        return value if value.startswith(prefix) else prefix + value

    def _pseudonymize(
        self, fields: dict[str, Any], raw: str, masked: str, errors: list[RecordError]
    ) -> None:
        if masked not in self.contract.field_names:
            if raw != "id_number" and raw in fields:
                # A name or phone this event does not carry: dropped, never published, as a
                # file export's name column is never read.
                value = fields.pop(raw)
                if not (value is None or isinstance(value, str)):
                    errors.append(RecordError(raw, "must be a JSON string", "bad_type"))
                elif value is not None and len(value) > MAX_RAW_CHARS:
                    reason = f"is {len(value)} characters, at most {MAX_RAW_CHARS}"
                    errors.append(RecordError(raw, reason, "too_long"))
            return  # an id_number on an event keyed otherwise is reported as unknown
        if raw in fields and fields.get(masked) is not None:
            errors.append(RecordError(raw, f"send {raw} or {masked}, not both", "bad_value"))
            fields.pop(raw)
            return
        if raw not in fields:
            value = fields.get(masked)
            if value is not None and not (
                isinstance(value, str) and _PSEUDONYMIZED[masked].match(value)
            ):
                reason = f"must already be pseudonymized; send the clear value as {raw}"
                errors.append(RecordError(masked, reason, "not_pseudonymized"))
                fields.pop(masked)
            return
        value = fields.pop(raw)
        if value is None:
            return
        if not isinstance(value, str):
            errors.append(RecordError(raw, "must be a JSON string", "bad_type"))
            return
        try:
            fields[masked] = self._pseudonym(raw, value)
        except RecordError as error:
            errors.append(error)

    def _pseudonym(self, raw: str, value: str) -> str | None:
        if raw == "id_number":
            return person_key(normalize_id(value, raw), self._hmac_key)
        if raw == "name":
            return mask_name(value, raw)
        return mask_phone(value, raw)
