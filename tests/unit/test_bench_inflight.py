"""The PostgreSQL visibility poll asks for the oldest keys in flight of each partition,
and for more only where all of them were visible: its cost follows what became visible."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from services.bench.inflight import FIRST_WINDOW, InFlight, partition_of


class Store:
    """A view store that shows the keys in ``visible``, and remembers what it was asked."""

    def __init__(self) -> None:
        self.visible: set[str] = set()
        self.asked: list[list[str]] = []

    def __call__(self, keys: list[str]) -> set[str]:
        self.asked.append(list(keys))
        return self.visible.intersection(keys)


def keys_of(partition: int, partitions: int, count: int) -> list[str]:
    """``count`` keys that land on ``partition`` of ``partitions``."""
    found: list[str] = []
    n = 0
    while len(found) < count:
        key = f"{n:064x}"
        if partition_of(key, partitions) == partition:
            found.append(key)
        n += 1
    return found


def test_a_key_lands_where_the_sender_s_partitioner_puts_it() -> None:
    partitioner = DefaultPartitioner()
    for n in range(200):
        key = f"resident-{n}"
        assert partition_of(key, 4) == partitioner(key.encode(), [0, 1, 2, 3], [0, 1, 2, 3])


def test_a_poll_asks_more_of_a_partition_only_while_everything_asked_was_visible() -> None:
    keys = [f"{n:064x}" for n in range(200)]
    in_flight = InFlight(partitions=1)
    for key in keys:
        in_flight.sent(key)
    store = Store()
    store.visible = set(keys[:100])

    found = in_flight.poll(store)

    # 64 asked, all visible; then the next 128, of which 36 were: a partial answer stops it.
    assert [len(asked) for asked in store.asked] == [FIRST_WINDOW, 2 * FIRST_WINDOW]
    assert store.asked[1][0] == keys[FIRST_WINDOW]
    assert found == set(keys[:100])
    assert in_flight.pending() == keys[100:]


def test_a_poll_with_nothing_new_costs_one_window_per_partition() -> None:
    in_flight = InFlight(partitions=1)
    for n in range(1000):
        in_flight.sent(f"{n:064x}")
    store = Store()

    assert in_flight.poll(store) == set()
    assert [len(asked) for asked in store.asked] == [FIRST_WINDOW]


def test_only_the_partitions_whose_heads_were_all_visible_are_asked_again() -> None:
    behind, ahead = keys_of(0, 2, 100), keys_of(1, 2, 100)
    in_flight = InFlight(partitions=2)
    for pair in zip(behind, ahead, strict=True):
        for key in pair:
            in_flight.sent(key)
    store = Store()
    store.visible = set(ahead)  # the worker merged partition 1, not yet partition 0

    found = in_flight.poll(store)

    assert found == set(ahead)
    assert set(store.asked[0]) == set(behind[:FIRST_WINDOW]) | set(ahead[:FIRST_WINDOW])
    assert set(store.asked[1]) == set(ahead[FIRST_WINDOW:])  # partition 0 is not asked again
    assert in_flight.pending() == behind


def test_a_key_visible_before_older_ones_is_found_once_and_never_asked_again() -> None:
    keys = [f"{n:064x}" for n in range(10)]
    in_flight = InFlight(partitions=1)
    for key in keys:
        in_flight.sent(key)
    store = Store()
    store.visible = {keys[5]}  # out of partition order: a worker broke the assumption

    assert in_flight.poll(store) == {keys[5]}
    store.visible |= set(keys[:5])
    assert in_flight.poll(store) == set(keys[:5])
    assert keys[5] not in store.asked[-1]
    assert in_flight.pending() == keys[6:]
