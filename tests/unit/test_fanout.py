"""Fan-out of view changes to subscribers: positions, resumes, communities, filters."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.api.live.access import share_everything
from services.api.live.changes import Change
from services.api.live.event_ids import EventIdError, encode_position, parse_position
from services.api.live.fanout import Subscriber, ViewFeed

VIEW = "resident_profile"


def change(
    partition: int, offset: int, key: str = "k1", community: str | None = "C1", **values: Any
) -> Change:
    record = {"person_key": key, "community_code": community, **values, "provenance": {}}
    return Change(VIEW, partition, offset, key, record, community)


def tombstone(partition: int, offset: int, key: str = "k1") -> Change:
    return Change(VIEW, partition, offset, key, None, None)


def feed(start: Mapping[int, int] | None = None, buffer: int = 100) -> ViewFeed:
    return ViewFeed(VIEW, "person_key", dict(start or {0: 0, 1: 0}), buffer, memory=1000)


def subscribe(
    view_feed: ViewFeed,
    position: Mapping[int, int] | None = None,
    community: str | None = None,
    record_filter: Any = share_everything,
    max_pending: int = 100,
) -> Subscriber:
    subscriber, backlog = view_feed.subscribe(
        dict(position) if position is not None else None, community, record_filter, max_pending
    )
    for missed in backlog.buffered:
        subscriber.offer(missed)
    return subscriber


def delivered(subscriber: Subscriber) -> list[tuple[str, str, str]]:
    """(kind, key, event id) of what the subscriber's client receives now."""
    out = []
    for c in subscriber.take():
        d = subscriber.deliver(c)
        if d is not None:
            out.append((d.kind, str(d.data.get("person_key", d.data.get("key"))), d.event_id))
    return out


def test_an_event_id_names_the_next_offset_of_every_partition() -> None:
    assert encode_position({1: 7, 0: 12}) == "0:12,1:7"
    assert parse_position("0:12,1:7") == {0: 12, 1: 7}


@pytest.mark.parametrize("bad", ["", "0:12;1:7", "0:-1", "a:1", "0:1,0:2", "0:1,"])
def test_a_malformed_event_id_is_refused(bad: str) -> None:
    with pytest.raises(EventIdError, match="Last-Event-ID"):
        parse_position(bad)


def test_a_subscriber_from_now_gets_later_changes_each_with_its_position() -> None:
    view_feed = feed()
    view_feed.publish(change(0, 0, "before"))
    subscriber = subscribe(view_feed)
    view_feed.publish(change(1, 0, "a"))
    view_feed.publish(change(0, 1, "b"))
    assert delivered(subscriber) == [("change", "a", "0:1,1:1"), ("change", "b", "0:2,1:1")]


def test_a_change_at_or_before_the_clients_position_is_not_delivered_again() -> None:
    view_feed = feed()
    subscriber = subscribe(view_feed, {0: 5, 1: 0})
    view_feed.publish(change(0, 3, "seen"))
    view_feed.publish(change(0, 5, "new"))
    assert [key for _, key, _ in delivered(subscriber)] == ["new"]


def test_a_resume_within_the_replay_buffer_is_served_from_it() -> None:
    view_feed = feed(buffer=3)
    for offset, key in enumerate(["a", "b", "c"]):
        view_feed.publish(change(0, offset, key))
    subscriber, backlog = view_feed.subscribe({0: 1, 1: 0}, None, share_everything, 100)
    assert [c.key for c in backlog.buffered] == ["b", "c"]
    assert backlog.from_topic == {}
    view_feed.publish(change(0, 3, "d"))
    keys = [d.data["person_key"] for c in backlog.buffered if (d := subscriber.deliver(c))]
    assert keys + [key for _, key, _ in delivered(subscriber)] == ["b", "c", "d"]


def test_a_resume_older_than_the_buffer_reads_that_partitions_gap_from_the_topic() -> None:
    view_feed = feed({0: 10, 1: 4}, buffer=2)
    for offset in (10, 11, 12):
        view_feed.publish(change(0, offset, f"p0-{offset}"))
    view_feed.publish(change(1, 4, "p1-4"))
    _, backlog = view_feed.subscribe({0: 10, 1: 4}, None, share_everything, 100)
    assert backlog.from_topic == {0: (10, 13)}  # offset 10 left the buffer
    assert [c.key for c in backlog.buffered] == ["p1-4"]
    _, from_before_start = view_feed.subscribe({0: 2, 1: 0}, None, share_everything, 100)
    assert from_before_start.from_topic == {0: (2, 13), 1: (0, 5)}


def test_a_community_subscriber_gets_its_community_and_a_move_out_as_a_delete() -> None:
    view_feed = feed()
    north = subscribe(view_feed, community="N")
    south = subscribe(view_feed, community="S")
    view_feed.publish(change(0, 0, "mover", "N"))
    view_feed.publish(change(0, 1, "other", "S"))
    view_feed.publish(change(0, 2, "mover", "S"))
    assert [(k, key) for k, key, _ in delivered(north)] == [
        ("change", "mover"),
        ("delete", "mover"),
    ]
    assert [(k, key) for k, key, _ in delivered(south)] == [
        ("change", "other"),
        ("change", "mover"),
    ]


def test_a_tombstone_goes_to_the_community_the_row_was_last_seen_in() -> None:
    view_feed = feed()
    north = subscribe(view_feed, community="N")
    south = subscribe(view_feed, community="S")
    view_feed.publish(change(0, 0, "gone", "N"))
    view_feed.publish(tombstone(0, 1, "gone"))
    assert [k for k, _, _ in delivered(north)] == ["change", "delete"]
    assert delivered(south) == []


def only_community(allowed: str) -> Any:
    def record_filter(record: Mapping[str, Any]) -> dict[str, Any] | None:
        if record.get("community_code") != allowed:
            return None
        return {k: v for k, v in record.items() if k != "name_masked"}

    return record_filter


def test_the_readers_filter_drops_rows_outside_its_communities_and_fields_it_may_not_read() -> None:
    view_feed = feed()
    subscriber = subscribe(view_feed, record_filter=only_community("N"))
    view_feed.publish(change(0, 0, "n", "N", name_masked="张*"))
    view_feed.publish(change(0, 1, "s", "S", name_masked="李*"))
    got = [subscriber.deliver(c) for c in subscriber.take()]
    assert [d.data for d in got if d is not None] == [
        {"person_key": "n", "community_code": "N", "provenance": {}}
    ]
    assert got[1] is None


def test_a_tombstone_of_a_row_never_seen_reaches_only_readers_of_every_community() -> None:
    view_feed = feed()
    everyone = subscribe(view_feed)
    restricted = subscribe(view_feed, record_filter=only_community("N"))
    view_feed.publish(tombstone(0, 0, "unknown"))
    assert [k for k, _, _ in delivered(everyone)] == ["delete"]
    assert delivered(restricted) == []


def test_a_client_that_falls_too_far_behind_is_cut_off_and_keeps_what_was_queued() -> None:
    view_feed = feed()
    slow = subscribe(view_feed, max_pending=2)
    for offset in range(3):
        view_feed.publish(change(0, offset, f"k{offset}"))
    assert slow.closed and slow.overflowed
    assert [key for _, key, _ in delivered(slow)] == ["k0", "k1"]


def test_an_alert_of_a_type_the_reader_may_not_know_never_reaches_it_not_even_as_a_delete() -> None:
    def no_red_status(record: Mapping[str, Any]) -> dict[str, Any] | None:
        return None if record.get("alert_type") == "RED_STATUS" else dict(record)

    def alert(offset: int, status: str, kind: str = "RED_STATUS") -> Change:
        record = {"alert_id": "a1", "community_code": "C1", "alert_type": kind, "status": status}
        return Change("alert", 0, offset, "a1", record, "C1")

    view_feed = ViewFeed("alert", "alert_id", {0: 0}, 100, memory=1000)
    subscriber, _ = view_feed.subscribe(None, None, no_red_status, 100)
    view_feed.publish(alert(0, "OPEN"))
    view_feed.publish(alert(1, "CLOSED"))
    view_feed.publish(Change("alert", 0, 2, "a1", None, None))  # compacted away
    assert [subscriber.deliver(c) for c in subscriber.take()] == [None, None, None]

    shown = ViewFeed("alert", "alert_id", {0: 0}, 100, memory=1000)
    reader, _ = shown.subscribe(None, None, no_red_status, 100)
    shown.publish(alert(0, "OPEN", "WELFARE_CHECK"))
    shown.publish(Change("alert", 0, 1, "a1", None, None))
    kinds = [d.kind for c in reader.take() if (d := reader.deliver(c)) is not None]
    assert kinds == ["change", "delete"]  # a type it may know: its tombstone still arrives


@dataclass(frozen=True)
class CountingGrant:
    """A reader filter that is a pure function of its fields, counting the records it shapes."""

    hidden: str
    calls: list[str] = field(default_factory=list, compare=False, hash=False)

    def __call__(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        self.calls.append(str(record["person_key"]))
        return {k: v for k, v in record.items() if k != self.hidden}


def test_subscribers_with_equal_filters_share_one_shaping_of_each_change() -> None:
    view_feed = feed()
    calls: list[str] = []
    same = [subscribe(view_feed, record_filter=CountingGrant("gender", calls)) for _ in "ab"]
    other = subscribe(view_feed, record_filter=CountingGrant("name_masked", calls))
    view_feed.publish(change(0, 0, "k1", gender="F", name_masked="张*"))
    events = [s.deliver(c) for s in (*same, other) for c in s.take()]
    assert calls == ["k1", "k1"]  # once for both equal filters, once for the other
    assert [json.loads(d.data_json) for d in events if d is not None] == [
        {"person_key": "k1", "community_code": "C1", "name_masked": "张*", "provenance": {}},
        {"person_key": "k1", "community_code": "C1", "name_masked": "张*", "provenance": {}},
        {"person_key": "k1", "community_code": "C1", "gender": "F", "provenance": {}},
    ]


def test_a_filter_that_cannot_be_shared_still_shapes_every_change_for_its_subscriber() -> None:
    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
            return {"person_key": record["person_key"]}

    view_feed = feed()
    subscriber = subscribe(view_feed, record_filter=Unhashable())
    view_feed.publish(change(0, 0, "k1", gender="F"))
    got = [subscriber.deliver(c) for c in subscriber.take()]
    assert [d.data_json for d in got if d is not None] == ['{"person_key":"k1"}']
