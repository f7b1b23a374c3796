"""What a source event's JSON form may hold when a department pushes it over HTTP.

The rules the intake applies (``connectors.sources.json_contract``) and the JSON Schemas
describe (``schemas.ingest_schema``), kept in one place so the two cannot drift: which raw
personal fields the intake pseudonymizes, the forms of pseudonymized values, the bounds on
sizes, and the time and date forms, which are also the forms the file mappings read
(``connectors.dates``).
"""

from __future__ import annotations

# raw field a department sends -> the pseudonymized field of the Avro record. A raw field
# whose pseudonymized field the event lacks is accepted and dropped at the door, as a file
# export's unmapped name or phone column is never read.
RAW_FIELDS = {"id_number": "person_key", "name": "name_masked", "phone": "phone_masked"}
# The forms a pseudonymized value must already have when it is sent as such.
PSEUDONYMIZED = {
    "person_key": r"^[0-9a-f]{64}$",
    "name_masked": r"^.\*+$",
    "phone_masked": r"^[0-9]{3}\*+[0-9]{4}$",
}
# A resident ID number (GB 11643): 17 digits and a check digit or X; the check digit is
# verified by the intake, which no pattern can say.
ID_NUMBER = r"^\s*(?:[0-9] *){17}[0-9Xx]\s*$"
# A phone number as the intake masks it: digits, +, - and spaces (at least 7 digits, which
# no pattern here counts), or blank for none.
PHONE = r"^\s*(?:\+?[0-9\- ]{7,20})?\s*$"
MAX_EVENT_ID_CHARS = 200
MAX_TEXT_CHARS = 4096  # any string field (a spreadsheet cell holds 32,767)
MAX_RAW_CHARS = 64  # a raw name or phone number
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

# Epoch milliseconds a timestamp may be sent as (Avro's long): 1970 to the end of 9999.
EPOCH_MS = (0, 253_402_300_799_999)
# The time forms both paths read, in words an operator can follow. Times without an offset
# are China time (UTC+8).
TIME_FORMS = (
    "2024-03-05 10:00, 2024-03-05T10:00:00+08:00 (ISO 8601, Z or an offset), 2024/3/5 10:00, "
    "2024.3.5, 2024年3月5日 10时00分, 20240305, or epoch milliseconds such as 1709604000000; "
    "China time when without an offset"
)
DATE_FORMS = (
    "2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日 or 20240305 (a time in any of the time forms "
    "is taken as its day)"
)
# The same forms as patterns (ECMA 262 and Python alike), for the JSON Schemas.
_DAY = r"[0-9]{4}(?:[-/.年][0-9]{1,2}[-/.月][0-9]{1,2}日?|[0-9]{4})"
_CLOCK = r"(?:[ T]*[0-9]{1,2}[:时][0-9]{1,2}分?(?::?[0-9]{1,2}秒?)?(?:\.[0-9]+)?)?"
# ISO 8601 with Z or an offset (the forms above are local China time).
ISO_WITH_OFFSET = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
TIME_PATTERN = rf"^\s*(?:{_DAY}{_CLOCK}|{ISO_WITH_OFFSET}|[0-9]{{13}})\s*$"
DATE_PATTERN = TIME_PATTERN
