"""One record of a ``view.*`` topic as a subscriber sees it: the row's new JSON record,
or its deletion (a tombstone)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from schemas.headers import COMMUNITY_HEADER
from schemas.serde import Serde
from services.merge.rules import KEY_FIELDS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PROVENANCE = "provenance"


@dataclass(frozen=True)
class Change:
    """A view row changed (``record`` is its JSON record) or was deleted (``record`` None)."""

    view: str
    partition: int
    offset: int
    key: str
    record: dict[str, Any] | None
    community: str | None  # the row's community now; None: none, or unknown for a tombstone
    previous_community: str | None = None  # where the row was before, when the hub knows

    @property
    def deleted(self) -> bool:
        """True for a tombstone: the row left the view."""
        return self.record is None


class TopicRecord(Protocol):
    """A record as a Kafka client hands it over (kafka-python's ConsumerRecord is one)."""

    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> list[tuple[str, bytes]]: ...


def decode_change(serde: Serde, view: str, message: TopicRecord) -> Change:
    """Decode a view topic's record (Confluent-framed Avro of the view contract, or None)."""
    partition, offset, value = message.partition, message.offset, message.value
    text_key = (message.key or b"").decode("utf-8")
    if value is None:
        # The worker stamps where the row was; a community's own row is keyed by its code.
        stamped = dict(message.headers or []).get(COMMUNITY_HEADER)
        own = text_key if KEY_FIELDS[view] == "community_code" else None
        community = stamped.decode("utf-8") if stamped else own
        return Change(view, partition, offset, text_key, None, None, community)
    decoded = serde.decode(serde.catalog.view(view), value)
    record = render_record(view, text_key, decoded)
    community = record.get("community_code")
    return Change(
        view, partition, offset, text_key, record, community if isinstance(community, str) else None
    )


def render_record(view: str, key: str, avro: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON record of a decoded view record, as ``GET /views/{view}/{key}`` renders the
    stored row (``services.merge.records``): the contract's fields, timestamps in epoch
    milliseconds, dates as ISO strings, provenance as ``{department, event_id,
    event_time_ms}`` per field."""
    key_field = KEY_FIELDS[view]
    values = {k: _json_value(v) for k, v in avro.items() if k not in (PROVENANCE, key_field)}
    provenance = {
        name: {
            "department": source["department"],
            "event_id": source["event_id"],
            "event_time_ms": _millis(source["event_time"]),
        }
        for name, source in (avro.get(PROVENANCE) or {}).items()
    }
    return {key_field: key, **values, PROVENANCE: provenance}


def _millis(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _json_value(value: Any) -> Any:
    """JSON-native values, as the view store keeps them."""
    if isinstance(value, datetime):
        return _millis(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value
