"""SSE event ids of view subscriptions: where a subscriber stands in a view topic.

An id is the subscriber's position in every partition of the view's topic after the event,
as the next offset to read: ``0:16,1:0,2:8,3:4``. It names everything the client has
seen (filtered-out records included), so a client that resumes with ``Last-Event-ID``
misses nothing and gets nothing twice, whichever API process it reconnects to.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.api.params import ascii_number

# partition -> next offset to read
Position = dict[int, int]

_MAX_PARTITIONS = 4096
# Kafka offsets are signed 64-bit.
_MAX_OFFSET = 2**63 - 1
_MAX_CHARS = _MAX_PARTITIONS * 26


class EventIdError(ValueError):
    """A ``Last-Event-ID`` that is not a position this API hands out."""


def encode_position(position: Mapping[int, int]) -> str:
    """The event id of a position: ``partition:offset`` pairs, by partition."""
    return ",".join(f"{p}:{o}" for p, o in sorted(position.items()))


def parse_position(text: str) -> Position:
    """The position an event id names; EventIdError says what is wrong with it."""
    position: Position = {}
    if len(text) > _MAX_CHARS:
        raise EventIdError(f"Last-Event-ID is longer than {_MAX_CHARS} characters")
    for item in text.strip().split(","):
        partition_text, sep, offset_text = item.partition(":")
        partition, offset = ascii_number(partition_text), ascii_number(offset_text)
        if not sep or partition is None or offset is None:
            raise EventIdError(
                f"Last-Event-ID {text[:80]!r} is not a list of partition:offset pairs "
                "in ASCII digits"
            )
        if partition >= _MAX_PARTITIONS or offset > _MAX_OFFSET:
            raise EventIdError(
                f"Last-Event-ID {text[:80]!r} names a partition from 0 to "
                f"{_MAX_PARTITIONS - 1} and offsets up to {_MAX_OFFSET}"
            )
        if partition in position:
            raise EventIdError(f"Last-Event-ID {text[:80]!r} repeats a partition")
        position[partition] = offset
    return position
