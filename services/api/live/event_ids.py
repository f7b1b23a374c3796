"""SSE event ids of view subscriptions: where a subscriber stands in a view topic.

An id is the subscriber's position in every partition of the view's topic after the event,
as the next offset to read: ``0:16,1:0,2:8,3:4``. It names everything the client has
seen (filtered-out records included), so a client that resumes with ``Last-Event-ID``
misses nothing and gets nothing twice, whichever API process it reconnects to.
"""

from __future__ import annotations

from collections.abc import Mapping

# partition -> next offset to read
Position = dict[int, int]

_MAX_PARTITIONS = 4096


class EventIdError(ValueError):
    """A ``Last-Event-ID`` that is not a position this API hands out."""


def encode_position(position: Mapping[int, int]) -> str:
    """The event id of a position: ``partition:offset`` pairs, by partition."""
    return ",".join(f"{p}:{o}" for p, o in sorted(position.items()))


def parse_position(text: str) -> Position:
    """The position an event id names; EventIdError says what is wrong with it."""
    position: Position = {}
    for item in text.strip().split(","):
        partition, sep, offset = item.partition(":")
        if not sep or not partition.isdigit() or not offset.isdigit():
            raise EventIdError(
                f"Last-Event-ID {text[:80]!r} is not a list of partition:offset pairs"
            )
        if int(partition) in position or len(position) >= _MAX_PARTITIONS:
            raise EventIdError(f"Last-Event-ID {text[:80]!r} repeats a partition")
        position[int(partition)] = int(offset)
    return position
