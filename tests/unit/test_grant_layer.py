"""The policy as of each read: grants reread when their version moves, dropped at expiry by
the clock alone, and a read refused (503) when the grants cannot be read."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError

from schemas.catalog import Catalog
from services.access.grants import ExtraGrant
from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
from services.api.errors import ApiError
from services.api.grant_layer import PolicyLayers

POLICY = load_policy(DEFAULT_POLICY_FILE, Catalog.load())
T0 = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)
GRANT = ExtraGrant(
    "request:req-1",
    "civil-affairs",
    "resident_profile",
    frozenset({"health_status"}),
    None,
    "welfare",
    T0 + timedelta(hours=1),
)


class Store:
    """Grants and their version as a store would hold them, counting the reads."""

    def __init__(self) -> None:
        self.version = 0
        self.grants: list[ExtraGrant] = []
        self.reads = 0
        self.failing = False

    def current_version(self) -> int:
        if self.failing:
            raise OperationalError("SELECT", {}, Exception("the store is gone"))
        return self.version

    def live(self, _now: datetime) -> list[ExtraGrant]:
        self.reads += 1
        return list(self.grants)


def reads_health_status(policy_layers: PolicyLayers) -> bool:
    grant = asyncio.run(policy_layers.current()).grant("civil-affairs", "resident_profile")
    return grant is not None and "health_status" in grant.fields


def test_a_grant_is_read_once_its_version_moves_and_not_before() -> None:
    store, now = Store(), [T0]
    layers = PolicyLayers(POLICY, store.current_version, store.live, lambda: now[0])
    assert not reads_health_status(layers)
    store.grants = [GRANT]
    assert not reads_health_status(layers)  # the version did not move: not reread
    store.version += 1
    assert reads_health_status(layers)
    reads = store.reads
    assert reads_health_status(layers)
    assert store.reads == reads  # an unchanged version costs no reread


def test_a_grant_ends_at_its_expiry_by_the_clock_alone() -> None:
    store, now = Store(), [T0]
    store.grants, store.version = [GRANT], 1
    layers = PolicyLayers(POLICY, store.current_version, store.live, lambda: now[0])
    assert reads_health_status(layers)
    now[0] = GRANT.expires_at
    assert not reads_health_status(layers)


def test_a_read_is_refused_when_the_grants_cannot_be_read() -> None:
    store = Store()
    store.failing = True
    layers = PolicyLayers(POLICY, store.current_version, store.live, lambda: T0)
    with pytest.raises(ApiError) as caught:
        asyncio.run(layers.current())
    assert caught.value.status_code == 503


def test_a_streams_recheck_takes_a_recent_look_and_a_read_never_does() -> None:
    store, ticks = Store(), [100.0]
    looks = []

    def version() -> int:
        looks.append(ticks[0])
        return store.version

    layers = PolicyLayers(POLICY, version, store.live, lambda: T0, lambda: ticks[0])

    async def both() -> None:
        await layers.current()  # a read: looks
        ticks[0] += 0.1
        await layers.current(0.25)  # a stream's re-check 0.1 s later: takes that look
        ticks[0] += 0.2
        await layers.current(0.25)  # 0.3 s after the look: looks again
        await layers.current()  # a read: always looks

    asyncio.run(both())
    assert looks == [100.0, 100.3, 100.3]
