"""CloudEvents Kafka binding, binary mode: the headers every datong record carries."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

CONTENT_TYPE = "application/avro"
SPEC_VERSION = "1.0"

Headers = list[tuple[str, bytes]]

# Dead letters carry why they were rejected in clear, in the style of Kafka Connect's
# ``__connect.errors.*``: ``<prefix>reason``, ``code``, ``field``, ``source``, ``position``.
DEAD_LETTER_PREFIX = "__datong.errors."
# Parked-address notices carry what happened the same way: ``<prefix>outcome`` (parked or
# resolved), ``code``, ``field``, ``department``, ``time``; never the row or the address.
PARKED_PREFIX = "__datong.parked."
PARKED = "parked"
RESOLVED = "resolved"


# On view records, tombstones included: the community the row is (or was) in, so a
# subscriber can filter a deletion by community without having seen the row.
COMMUNITY_HEADER = "datong_community"


class CloudEventHeaders:
    """The headers of one event type from one source, its four constant ones encoded once.

    A connector sends thousands of records of one type a second; encoding the same
    specversion, source, type and content type for each of them was a fifth of its
    headers. ``cloudevent_headers`` keeps one per source and type.
    """

    def __init__(self, source: str, ce_type: str) -> None:
        self._specversion = ("ce_specversion", SPEC_VERSION.encode())
        self._source = ("ce_source", source.encode())
        self._type = ("ce_type", ce_type.encode())
        self._content_type = ("content-type", CONTENT_TYPE.encode())

    def __call__(self, event_id: str, time: datetime) -> Headers:
        """Headers for one record: ``ce_id`` is the event_id, ``ce_time`` its time in UTC."""
        return [
            self._specversion,
            ("ce_id", event_id.encode()),
            self._source,
            self._type,
            ("ce_time", time.astimezone(UTC).isoformat(timespec="milliseconds").encode()),
            self._content_type,
        ]


def cloudevent_headers(event_id: str, source: str, ce_type: str, time: datetime) -> Headers:
    """Headers for one record: ``ce_id`` is the event_id, ``ce_type`` the Avro full name."""
    return _of_type(source, ce_type)(event_id, time)


@lru_cache(maxsize=512)
def _of_type(source: str, ce_type: str) -> CloudEventHeaders:
    # Sources and types are closed sets (departments, event and view types): a few dozen.
    return CloudEventHeaders(source, ce_type)


def header_map(headers: Headers | None) -> dict[str, str]:
    """Decode record headers into a dict (last one wins)."""
    return {key: value.decode("utf-8", "replace") for key, value in headers or []}
