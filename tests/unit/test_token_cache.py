"""The token cache: kept tokens are forgotten when a revocation is counted or the listener
is lost, and the count is read at most once per interval."""

from __future__ import annotations

import asyncio

from services.api.token_cache import TokenCache


class Counter:
    """Revoked tokens as the store counts them, and how often it was asked."""

    def __init__(self) -> None:
        self.revoked = 0
        self.asked = 0

    def __call__(self) -> int:
        self.asked += 1
        return self.revoked


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_counted_revocation_forgets_the_kept_tokens_within_the_interval() -> None:
    counter, clock = Counter(), Clock()
    cache: TokenCache[str] = TokenCache(counter, 1.0, clock)

    async def run() -> list[str | None]:
        seen = [await cache.get("d1")]
        cache.put("d1", "t1", "reader", cache.generation)
        seen.append(await cache.get("d1"))
        counter.revoked = 1  # some token was revoked
        clock.now += 0.5
        seen.append(await cache.get("d1"))  # not counted again yet
        clock.now += 0.5
        seen.append(await cache.get("d1"))
        return seen

    assert asyncio.run(run()) == [None, "reader", "reader", None]
    assert counter.asked == 2


def test_a_token_evicted_or_a_cache_distrusted_is_no_longer_kept() -> None:
    cache: TokenCache[str] = TokenCache(None)  # a listener's: trusted once it listens

    async def run() -> list[str | None]:
        cache.put("d1", "t1", "reader", cache.generation)
        seen = [await cache.get("d1")]  # nobody listens yet: nothing kept
        cache.trust()
        cache.put("d1", "t1", "reader", cache.generation)
        cache.put("d2", "t2", "other", cache.generation)
        seen.append(await cache.get("d1"))
        cache.evict("t1")
        seen += [await cache.get("d1"), await cache.get("d2")]
        cache.distrust()
        cache.put("d1", "t1", "reader", cache.generation)
        seen += [await cache.get("d2"), await cache.get("d1")]
        return seen

    assert asyncio.run(run()) == [None, "reader", None, "other", None, None]


def test_a_failed_count_forgets_the_kept_tokens() -> None:
    clock = Clock()

    def broken() -> int:
        raise OSError("database is locked")

    cache: TokenCache[str] = TokenCache(broken, 1.0, clock)

    async def run() -> str | None:
        cache.put("d1", "t1", "reader", cache.generation)
        return await cache.get("d1")

    assert asyncio.run(run()) is None


def test_a_token_looked_up_before_a_revocation_reached_the_cache_is_not_kept() -> None:
    cache: TokenCache[str] = TokenCache(None)
    cache.trust()
    began = cache.generation  # a lookup in the store begins: the token is live
    cache.evict("t1")  # its revocation arrives while the lookup runs
    cache.put("d1", "t1", "reader", began)

    async def run() -> str | None:
        return await cache.get("d1")

    assert asyncio.run(run()) is None
