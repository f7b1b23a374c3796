"""Fan-out of one view topic's changes to many subscribers (pure: no I/O).

A ``ViewFeed`` follows what the process's one consumer read of a view topic: the next
offset per partition, a bounded replay buffer, and which community each recently seen key
belongs to (tombstones carry none). A ``Subscriber`` holds one client's position and
filters; it turns changes into the events that client may see, each with an id that names
its position (``services.api.live.event_ids``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from dataclasses import dataclass, field, replace
from typing import Any

from services.access.derivation import ALERT_TYPE_FIELD
from services.api.live.access import RecordFilter
from services.api.live.changes import Change
from services.api.live.event_ids import Position, encode_position
from services.api.live.sse import data_json


@dataclass(frozen=True)
class Delivery:
    """One event for one subscriber: ``change`` (data = record) or ``delete`` (data = key)."""

    kind: str
    data: dict[str, Any]
    event_id: str
    data_json: str  # ``data`` as the event's line of JSON (``sse.data_json``)


@dataclass(frozen=True)
class Backlog:
    """What a resuming subscriber missed: changes still in the replay buffer, and partition
    ranges ``[start, end)`` that must be read back from the topic."""

    buffered: list[Change] = field(default_factory=list)
    from_topic: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when the subscriber missed nothing."""
        return not self.buffered and not self.from_topic


class Subscriber:
    """One client's subscription to one view."""

    def __init__(
        self,
        view: str,
        key_field: str,
        position: Position,
        *,
        community: str | None,
        record_filter: RecordFilter,
        max_pending: int,
    ) -> None:
        self.view = view
        self.position = dict(position)
        self.community = community
        self.overflowed = False
        self.closed = False
        self._key_field = key_field
        self._filter = record_filter
        self._max_pending = max_pending
        self._pending: deque[Change] = deque()
        self._wake = asyncio.Event()

    def offer(self, change: Change) -> None:
        """Queue a live change (the feed calls this); a client too slow to keep up is cut off,
        and resumes from its last event id when it reconnects."""
        if self.closed or not self._concerns(change):
            return
        if len(self._pending) >= self._max_pending:
            self.overflowed = True
            self.close()
            return
        self._pending.append(change)
        self._wake.set()

    def take(self) -> list[Change]:
        """The live changes queued since the last call."""
        taken = list(self._pending)
        self._pending.clear()
        self._wake.clear()
        return taken

    async def wait(self, timeout_s: float) -> bool:
        """Wait until a change is queued or the subscription closed; False on timeout."""
        if self._pending or self.closed:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout_s)
            return True
        return False

    def close(self) -> None:
        """End the subscription (the client disconnected, was too slow, or the hub stops)."""
        self.closed = True
        self._wake.set()

    def deliver(self, change: Change) -> Delivery | None:
        """The event ``change`` makes for this client, or None (already seen, or not its to
        see); every change read advances the position, shown or not."""
        if change.offset < self.position.get(change.partition, 0):
            return None
        self.position[change.partition] = change.offset + 1
        gone_from = change.previous_community
        if change.record is not None:
            if self._is_mine(change.community):
                shaped = _shaped(change, change.record, self._filter)
                if shaped is not None:
                    data, text = shaped
                    return Delivery("change", data, encode_position(self.position), text)
            # Not (or no longer) this client's to see: a delete if it was before.
            if gone_from is None or not self._is_mine(gone_from):
                return None
        elif gone_from is not None and not self._is_mine(gone_from):
            return None
        # A tombstone of a row whose community was never seen reaches the access filter
        # with none, which only a reader of every community passes.
        probe: dict[str, Any] = {self._key_field: change.key, "community_code": gone_from}
        if change.kind is not None:  # a row of a kind the reader may not know was never shown
            probe[ALERT_TYPE_FIELD] = change.kind
        if self._filter(probe) is None:
            return None
        data = {"key": change.key}
        return Delivery("delete", data, encode_position(self.position), data_json(data))

    def _is_mine(self, community: str | None) -> bool:
        return self.community is None or community == self.community

    def _concerns(self, change: Change) -> bool:
        previous = change.previous_community
        if change.record is None:
            return previous is None or self._is_mine(previous)
        return self._is_mine(change.community) or (previous is not None and self._is_mine(previous))


def _shaped(
    change: Change, record: dict[str, Any], record_filter: RecordFilter
) -> tuple[dict[str, Any], str] | None:
    """``record`` as ``record_filter`` shapes it, with its JSON; None when it filters the
    record out. Done once per change for all equal filters, which are pure functions of
    their grant and so shape it alike."""
    try:
        return change.shaped[record_filter]
    except KeyError:
        pass
    except TypeError:
        # A filter that cannot be a key (not hashable) shapes the record for itself alone.
        return _shape(record, record_filter)
    shaped = change.shaped[record_filter] = _shape(record, record_filter)
    return shaped


def _shape(
    record: dict[str, Any], record_filter: RecordFilter
) -> tuple[dict[str, Any], str] | None:
    data = record_filter(record)
    return None if data is None else (data, data_json(data))


class ViewFeed:
    """The changes of one view topic as the process's consumer reads them."""

    def __init__(
        self, view: str, key_field: str, start: Position, buffer_size: int, memory: int
    ) -> None:
        self.view = view
        self.key_field = key_field
        self.live: Position = dict(start)  # next offset the consumer will hand over
        self.subscribers: set[Subscriber] = set()
        self._covered: Position = dict(start)  # the buffer holds every record from here on
        self._buffer: deque[Change] = deque()
        self._buffer_size = buffer_size
        # Per key: the community it was last seen in, and its kind (an alert's type).
        self._seen: OrderedDict[str, tuple[str | None, str | None]] = OrderedDict()
        self._memory = memory

    def publish(self, change: Change) -> Change:
        """Take one change read from the topic: remember it, and offer it to subscribers."""
        change = self._with_previous_community(change)
        self._buffer.append(change)
        if len(self._buffer) > self._buffer_size:
            evicted = self._buffer.popleft()
            self._covered[evicted.partition] = evicted.offset + 1
        self.live[change.partition] = max(self.live.get(change.partition, 0), change.offset + 1)
        self._covered.setdefault(change.partition, change.offset)
        for subscriber in list(self.subscribers):
            subscriber.offer(change)
        return change

    def community_of(self, key: str) -> str | None:
        """The community the feed last saw ``key`` in, if it still remembers."""
        seen = self._seen.get(key)
        return None if seen is None else seen[0]

    def subscribe(
        self,
        position: Position | None,
        community: str | None,
        record_filter: RecordFilter,
        max_pending: int,
    ) -> tuple[Subscriber, Backlog]:
        """Register a subscriber from ``position`` (None: from now) and say what it missed.

        Registration and the backlog are taken together, so every change is either in the
        backlog or offered live, never both and never neither.
        """
        start = dict(self.live) if position is None else {p: position.get(p, 0) for p in self.live}
        subscriber = Subscriber(
            self.view,
            self.key_field,
            start,
            community=community,
            record_filter=record_filter,
            max_pending=max_pending,
        )
        self.subscribers.add(subscriber)
        wanted: dict[int, tuple[int, int]] = {
            p: (start[p], end) for p, end in self.live.items() if start[p] < end
        }
        buffered_partitions = {p for p, (s, _) in wanted.items() if s >= self._covered[p]}
        backlog = Backlog(
            [
                c
                for c in self._buffer
                if c.partition in buffered_partitions and c.offset >= start[c.partition]
            ],
            {p: r for p, r in wanted.items() if p not in buffered_partitions},
        )
        return subscriber, backlog

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a subscriber."""
        subscriber.close()
        self.subscribers.discard(subscriber)

    def _with_previous_community(self, change: Change) -> Change:
        key = change.key
        community, kind = self._seen.pop(key, (None, None))
        previous = community or change.previous_community
        if change.record is not None:
            found = change.record.get(ALERT_TYPE_FIELD)
            kind = found if isinstance(found, str) else None
            if change.community is not None or kind is not None:
                self._seen[key] = (change.community, kind)
                while len(self._seen) > self._memory:
                    self._seen.popitem(last=False)
        if previous == change.previous_community and kind == change.kind:
            return change
        return replace(change, previous_community=previous, kind=kind)
