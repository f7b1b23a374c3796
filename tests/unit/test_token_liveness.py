"""Open streams' tokens are checked together: one look per interval, failing closed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from services.api.token_liveness import TokenLiveness


class Store:
    """The token table, counting the looks it is asked for."""

    def __init__(self, live: set[str]) -> None:
        self.live = live
        self.looks: list[set[str]] = []
        self.fail = False

    def live_of(self, token_ids: Iterable[str]) -> set[str]:
        asked = set(token_ids)
        self.looks.append(asked)
        if self.fail:
            raise OSError("the database went away")
        return asked & self.live


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_thousand_streams_asking_at_once_make_one_look() -> None:
    store = Store({f"t{n}" for n in range(1000) if n != 7})
    liveness = TokenLiveness(store.live_of, clock=Clock())

    async def everyone() -> list[bool]:
        return await asyncio.gather(*(liveness.holds(f"t{n}") for n in range(1000)))

    answers = asyncio.run(everyone())

    assert len(store.looks) == 1
    assert answers == [n != 7 for n in range(1000)]


def test_an_answer_is_kept_for_the_interval_and_a_revocation_seen_after_it() -> None:
    store, clock = Store({"a"}), Clock()
    liveness = TokenLiveness(store.live_of, interval_s=0.5, clock=clock)

    async def ask() -> bool:
        return await liveness.holds("a")

    assert asyncio.run(ask())
    store.live.clear()  # revoked
    clock.now += 0.4
    assert asyncio.run(ask()), "within the interval the last look answers"
    clock.now += 0.2
    assert not asyncio.run(ask())
    assert len(store.looks) == 2


def test_a_look_that_fails_ends_every_stream_asking() -> None:
    store = Store({"a", "b"})
    store.fail = True
    liveness = TokenLiveness(store.live_of, clock=Clock())

    async def both() -> list[bool]:
        return list(await asyncio.gather(liveness.holds("a"), liveness.holds("b")))

    assert asyncio.run(both()) == [False, False]
