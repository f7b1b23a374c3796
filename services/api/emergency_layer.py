"""The open emergencies as the API lays them over its policy, kept in the process.

Kept like live tokens (``token_cache.py``), and reloaded the same way: at once on PostgreSQL,
where a declaration, renewal or end notifies ``datong_emergency_changed`` (the cache is
trusted only while its listener listens; otherwise every read loads them from the store),
and on SQLite when the change count moved, read at most every ``check_s``. A declared or
ended emergency so takes effect on the next read (on SQLite, one changed through another
process within ``check_s``; through this API's routes at once, ``forget``). Expiry
needs no reload: each read asks whether each emergency is open at its own time (``clock``).

An emergency the policy cannot take (a field made ``not_shared`` since it was declared, say)
stops the API at start, naming it (``check_stored``); one met later is left out, logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from functools import partial

import sqlalchemy as sa

from services.access.emergencies import (
    CHANGED_CHANNEL,
    CHANGED_PAYLOAD,
    change_count,
    unexpired_emergencies,
)
from services.access.emergency import Emergency, open_extensions
from services.access.emergency_rules import EmergencyError, check_openings
from services.access.layering import Extension
from services.access.policy import Policy
from services.api.authentication import listen_connection
from services.api.token_cache import RevocationListener, TokenCache
from services.errors import ConfigError
from services.store.database import once_more_if_dead

log = logging.getLogger(__name__)
CHECK_S = 0.5  # SQLite: how stale the open emergencies may be (a stream ends within ~1 s)


def check_stored(engine: sa.Engine, policy: Policy, now: datetime) -> None:
    """Refuse to start over an open emergency the policy cannot take, naming it."""
    for emergency in unexpired_emergencies(engine, now):
        try:
            check_openings(policy, emergency.openings)
        except EmergencyError as exc:
            raise ConfigError(
                f"emergency {emergency.id}: {exc}; end it (`datong emergency end "
                f"{emergency.id} --reason ...`) or fix the policy"
            ) from None


class EmergencyLayer:
    """The emergencies open now, for ``ReadAccess``'s layers."""

    def __init__(
        self,
        engine: sa.Engine,
        policy: Policy,
        clock: Callable[[], datetime],
        check_s: float = CHECK_S,
    ) -> None:
        self._engine, self._policy, self._clock = engine, policy, clock
        self._notified = engine.dialect.name == "postgresql"
        self._cache: TokenCache[tuple[Emergency, ...]] = TokenCache(
            None if self._notified else (lambda: change_count(engine)), check_s
        )
        self._listener = RevocationListener(
            self._cache, partial(listen_connection, engine), channel=CHANGED_CHANNEL
        )

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        """Listen for changes while the API serves (PostgreSQL; nothing on SQLite)."""
        if not self._notified:
            yield
            return
        self._listener.start()
        try:
            yield
        finally:
            await asyncio.to_thread(self._listener.stop)

    async def emergencies(self) -> tuple[Emergency, ...]:
        """The emergencies not closed when last loaded (each read checks its own time)."""
        found = await self._cache.get(CHANGED_PAYLOAD)
        if found is None:
            generation = self._cache.generation
            found = await asyncio.to_thread(self._load)
            self._cache.put(CHANGED_PAYLOAD, CHANGED_PAYLOAD, found, generation)
        return found

    def forget(self) -> None:
        """Load them again on the next read (this process changed them)."""
        self._cache.evict(CHANGED_PAYLOAD)

    async def open_count(self) -> int:
        """How many emergencies are open now (the ``datong_emergencies_active`` gauge)."""
        now = self._clock()
        return sum(1 for e in await self.emergencies() if e.is_open(now))

    async def extensions(self) -> tuple[Extension, ...]:
        """The extensions of the emergencies open now."""
        return open_extensions(await self.emergencies(), self._clock())

    def _load(self) -> tuple[Emergency, ...]:
        kept = []
        # Loaded on a read: like the read itself, it survives a pooled connection that died.
        stored = once_more_if_dead(lambda: unexpired_emergencies(self._engine, self._clock()))
        for emergency in stored:
            try:
                check_openings(self._policy, emergency.openings)
            except EmergencyError as exc:
                log.error("emergency %s left out: %s", emergency.id, exc)
                continue
            kept.append(emergency)
        return tuple(kept)
