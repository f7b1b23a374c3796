"""Concurrent closed-loop readers of the views: over HTTP, and straight from the store.

Each reader sends its next request as soon as the last one answered, for a fixed time,
and every request's latency is kept, so p50 and p99 are exact order statistics. Both
kinds are the same readers (``closed_loop``): coroutines of one event loop in the
bench's process, sharing as many connections as there are readers, so the raw SQL
limit differs from the HTTP figure by what lies behind the connection, not by how the
bench waits for it (it used to be a thread per reader: a different client).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import aiohttp
import psycopg
import sqlalchemy as sa

from services.access.policy import Policy, allows_community
from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
from services.access.tokens import create_token
from services.bench.context import VIEW
from services.bench.data import COMMUNITIES
from services.bench.processes import BenchError
from services.store.database import create_engine
from services.store.models import ViewRow

NextPath = Callable[[random.Random], str]  # a reader's next request path, from its rng

# A shipped audience (services/policies/sharing.yaml) that reads resident_profile in every
# community ("*"), so the bench's made-up community codes (C001...) are covered, with as
# many fields as any audience: the readers pay the real policy's checks and filtering.
AUDIENCE = "health-department"


def reader_token(database_url: str) -> str:
    """A new token of ``AUDIENCE`` in the view store at ``database_url``: its secret.

    Made as ``datong tokens create --audience health-department`` makes it (the audience
    checked against the shipped policy, which every bench API process reads, then
    ``create_token``), after checking that the audience may read ``VIEW`` in every
    community of the bench's data. The store's tables must exist.
    """
    check_audience(load_policy(DEFAULT_POLICY_FILE), AUDIENCE, VIEW, COMMUNITIES)
    engine = create_engine(database_url)
    try:
        return create_token(engine, audience=AUDIENCE, name="datong-bench").secret
    finally:
        engine.dispose()


def check_audience(policy: Policy, audience: str, view: str, communities: Iterable[str]) -> None:
    """Raise BenchError unless ``audience`` may read ``view`` in each of ``communities``."""
    if audience not in policy.audiences:
        raise BenchError(f"no audience {audience!r} in {policy.source} for the bench's readers")
    grant = policy.grant(audience, view)
    if grant is None:
        raise BenchError(f"audience {audience} of {policy.source} may not read view {view}")
    outside = [c for c in communities if not allows_community(grant, c)]
    if outside:
        more = f" and {len(outside) - 3} more" if len(outside) > 3 else ""
        raise BenchError(
            f"audience {audience} of {policy.source} may not read {view} in the bench's "
            f"communities {', '.join(outside[:3])}{more}"
        )


def request_headers(token: str | None) -> dict[str, str]:
    """``Authorization: Bearer <token>`` when the bench has a token."""
    return {"Authorization": f"Bearer {token}"} if token else {}


async def closed_loop(
    readers: int, seconds: float, request: Callable[[random.Random], Awaitable[None]]
) -> list[float]:
    """``readers`` coroutines calling ``request`` back to back for ``seconds``; latencies (s)."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []

    async def reader(seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await request(rng)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(reader(n) for n in range(readers)))
    return latencies


def http_latencies(
    base_url: str,
    path: NextPath,
    *,
    readers: int,
    seconds: float,
    warm_up_s: float,
    token: str | None,
) -> list[float]:
    """GET ``path`` from ``readers`` readers for ``seconds`` after a warm-up; latencies (s).

    aiohttp, one keep-alive connection per reader. Not httpx: its pool spent 12 ms of
    the bench's CPU per request with 50 connections open (aiohttp: 0.3 ms), so the
    figure would have measured the client. Raises BenchError on an answer other than 200.
    """

    async def run() -> list[float]:
        async with aiohttp.ClientSession(
            base_url=base_url,
            headers=request_headers(token),
            connector=aiohttp.TCPConnector(limit=readers),
            timeout=aiohttp.ClientTimeout(total=30.0),
        ) as session:

            async def request(rng: random.Random) -> None:
                async with session.get(path(rng)) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise BenchError(
                            f"GET {response.url.path} answered {response.status}: {body[:200]!r}"
                        )

            await closed_loop(readers, warm_up_s, request)  # connections opened, caches warm
            return await closed_loop(readers, seconds, request)

    return asyncio.run(run())


# What ``sa.select(ViewRow.__table__)`` by primary key asks: every column of the row.
ROW_BY_KEY = (
    "SELECT view, key, community_code, visible, data, provenance, state"
    " FROM view_row WHERE view = %s AND key = %s"
)


def sql_latencies(
    database_url: str,
    view: str,
    keys: Sequence[str],
    *,
    readers: int,
    seconds: float,
    warm_up_s: float,
) -> list[float]:
    """``readers`` closed-loop readers looking rows up by primary key for ``seconds`` after
    a warm-up; latencies (s).

    psycopg's async connections (the store's driver), ``readers`` of them in a pool, each
    request on whichever is free, as ``http_latencies`` shares its keep-alive connections;
    each lookup its own transaction (autocommit). PostgreSQL only.
    """
    conninfo = sa.engine.make_url(database_url).set(drivername="postgresql")

    async def run() -> list[float]:
        url = conninfo.render_as_string(hide_password=False)
        opened = [
            await psycopg.AsyncConnection.connect(url, autocommit=True) for _ in range(readers)
        ]
        pool: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        for conn in opened:
            pool.put_nowait(conn)

        async def request(rng: random.Random) -> None:
            conn = await pool.get()
            try:
                cursor = await conn.execute(ROW_BY_KEY, (view, rng.choice(keys)))
                if await cursor.fetchone() is None:
                    raise BenchError(f"{view} lost a row the bench loaded")
            finally:
                pool.put_nowait(conn)

        try:
            await closed_loop(readers, warm_up_s, request)  # statements prepared, caches warm
            return await closed_loop(readers, seconds, request)
        finally:
            for conn in opened:
                await conn.close()

    return asyncio.run(run())


def stored_keys(database_url: str, view: str) -> list[str]:
    """Every key of ``view`` in the store (what the readers pick from)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(sa.select(ViewRow.key).where(ViewRow.view == view)))
    finally:
        engine.dispose()
