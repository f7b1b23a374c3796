"""The JSON record a reader gets of a view row, whichever way it reads it.

``GET /views/{view}/{key}``, lists, exports, ``datong views get`` and the subscriptions'
``change`` events all show one shape: the row's key under the view's key field (its
contract's ``datong.key``, from the catalog), the contract's fields as JSON-native values
(timestamps in epoch milliseconds, dates as ISO strings), and ``provenance``: field ->
``{department, event_id, event_time_ms}``. A record is made from a stored row (whose values
are JSON already) or from a view record decoded off its topic; both give the same record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

PROVENANCE = "provenance"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_millis(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime, exactly (no float rounding)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def json_record(
    key_field: str, key: str, data: Mapping[str, Any], provenance: Mapping[str, Any]
) -> dict[str, Any]:
    """The record of one stored row: its fields as stored and their provenance, which the
    store keeps as field -> ``[department, event_id, event_time_ms]``."""
    sources = {
        k: {"department": d, "event_id": e, "event_time_ms": t}
        for k, (d, e, t) in provenance.items()
    }
    return {key_field: key, **data, PROVENANCE: sources}


def decoded_json_record(key_field: str, key: str, avro: Mapping[str, Any]) -> dict[str, Any]:
    """The record of a view record decoded with its contract (datetimes, dates, and
    provenance with an ``event_time``), as ``json_record`` renders the stored row."""
    values = {k: _json_value(v) for k, v in avro.items() if k not in (PROVENANCE, key_field)}
    sources = {
        name: {
            "department": source["department"],
            "event_id": source["event_id"],
            "event_time_ms": to_millis(source["event_time"]),
        }
        for name, source in (avro.get(PROVENANCE) or {}).items()
    }
    return {key_field: key, **values, PROVENANCE: sources}


def _json_value(value: Any) -> Any:
    """JSON-native values, as the view store keeps them."""
    if isinstance(value, datetime):
        return to_millis(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value
