"""One record of a ``view.*`` topic as a subscriber sees it: the row's new JSON record,
or its deletion (a tombstone)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.headers import COMMUNITY_HEADER
from schemas.serde import Serde
from services.api.json_records import decoded_json_record

# Every view record names its community in this field; a community's own row is keyed by it.
COMMUNITY_FIELD = "community_code"


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
    # An alert's type, from its record or remembered for its tombstone: it never changes for
    # a key and decides whether a reader may know the row exists at all.
    kind: str | None = None
    # What each reader filter made of ``record`` and its JSON, filled as subscribers take the
    # change: subscribers with equal filters (one audience's grant) share one filtering and
    # one encoding of it. Not part of the change's identity.
    shaped: dict[Any, tuple[dict[str, Any], str] | None] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

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
    contract = serde.catalog.view(view)
    if value is None:
        # The worker stamps where the row was; a community's own row is keyed by its code.
        stamped = dict(message.headers or []).get(COMMUNITY_HEADER)
        own = text_key if contract.key_field == COMMUNITY_FIELD else None
        community = stamped.decode("utf-8") if stamped else own
        return Change(view, partition, offset, text_key, None, None, community)
    decoded = serde.decode(contract, value)
    record = decoded_json_record(contract.key_field, text_key, decoded)
    community = record.get(COMMUNITY_FIELD)
    return Change(
        view, partition, offset, text_key, record, community if isinstance(community, str) else None
    )
