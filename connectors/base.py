"""What flows through a connector: source records with their position, and mapped events."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from connectors.errors import RecordError

Position = int | str
"""Where a record sits in its source (Kafka Connect's source offset): a row or line number
for files, an opaque keyset string for SQL tables. Only the source that made it orders it."""

PositionT_contra = TypeVar("PositionT_contra", bound=int | str, contravariant=True)


@dataclass(frozen=True)
class SourceRecord:
    """One record as the department's system gave it, with where it came from.

    ``position`` orders the records of one ``source`` (Kafka Connect's source offset);
    a record the source could not even parse carries the ``error`` instead of fields.
    """

    source: str
    position: Position
    fields: Mapping[str, str | None]
    error: RecordError | None = None
    raw: bytes = b""

    @property
    def where(self) -> str:
        """``source#position``, used in dead letters and log lines."""
        return f"{self.source}#{self.position}"


@dataclass(frozen=True)
class Event:
    """A mapped, pseudonymized event ready for its topic."""

    department: str
    event: str
    key: str
    record: dict[str, Any] = field(repr=False)

    @property
    def event_id(self) -> str:
        """The event's unique id."""
        return str(self.record["event_id"])


class Source(Protocol[PositionT_contra]):
    """A department's feed: yields records after ``after`` (a checkpointed position).

    Generic in its position type, so a file source can take ``int`` and a SQL table ``str``.
    """

    @property
    def name(self) -> str:
        """Unique and stable across runs: it keys the checkpoint and the read back."""
        ...

    def records(self, after: PositionT_contra | None) -> Iterator[SourceRecord]:
        """Records with a position greater than ``after``, in position order."""
        ...


class RecordMapper(Protocol):
    """Turns one source record into an event, or raises RecordError naming the field."""

    department: str

    def __call__(self, fields: Mapping[str, str | None]) -> Event:
        """Map the record's fields to an event."""
        ...
