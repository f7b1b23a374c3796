"""The policy every read uses: the base policy with the store's live grants layered over it.

Each read asks ``PolicyLayers.current``: one small query (``grants_version``, how many grants
were ever made and revoked) tells whether a grant was made or revoked since the last look,
and only then are the live grants read again. So a grant or a revocation takes effect on
the next read in every API process, with no restart and no notification to miss; an expiry
needs no query at all (``layered`` drops an expired grant by the clock). Reads that ask at
the same moment share one look. A look that fails refuses the read (503): without the
grants, nobody can say what a reader may read (fail closed).

A second layer (emergency access) is added the same way: another source of ``ExtraGrant``
composed in ``layered``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from services.access.grants import ExtraGrant, layered, unshareable
from services.access.policy import Policy
from services.access.request_store import grants_version, live_grants
from services.api.errors import ApiError
from services.errors import ConfigError
from services.store.database import once_more_if_dead

log = logging.getLogger(__name__)


class PolicyLayers:
    """``base`` with the grants ``grants(now)`` reads, looked up again when ``version()``
    (blocking, both) moves."""

    def __init__(
        self,
        base: Policy,
        version: Callable[[], Hashable],
        grants: Callable[[datetime], list[ExtraGrant]],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = base
        self._version = version
        self._grants = grants
        self._clock = clock
        self._seen: Hashable | None = None
        self._extras: list[ExtraGrant] = []
        self._look: asyncio.Task[None] | None = None
        self._asked = 0  # reads that arrived
        self._answered = 0  # reads arrived before the start of the last look that finished
        self._answered_at = float("-inf")  # when that look began (monotonic)
        self._monotonic = monotonic

    async def current(self, max_age_s: float = 0.0) -> Policy:
        """The policy as of now: the base and every grant live now. ``max_age_s`` > 0
        accepts a look begun that long ago (an open stream's re-check, which must end
        within a second, not on the next read), so many streams cost few queries."""
        self._asked += 1
        asked = self._asked
        if max_age_s > 0 and self._monotonic() - self._answered_at < max_age_s:
            asked = self._answered
        # Share a look only if it began after this read arrived: one that began before
        # may have missed a grant committed in between.
        while self._answered < asked:
            if self._look is None:
                self._look = asyncio.create_task(self._refresh(self._asked))
            try:
                await asyncio.shield(self._look)
            except SQLAlchemyError:
                log.warning("reading the sharing grants failed; refusing the read", exc_info=True)
                raise ApiError(503, "the sharing grants cannot be read; try again") from None
        now = self._clock()
        live = [e for e in self._extras if e.live(now)]
        return layered(self.base, live, now) if live else self.base

    async def _refresh(self, covers: int) -> None:
        began = self._monotonic()
        try:
            await asyncio.to_thread(self._read)
            if covers > self._answered:
                self._answered, self._answered_at = covers, began
        finally:
            self._look = None

    def _read(self) -> None:
        version = self._version()
        if version != self._seen:
            self._extras = self._grants(self._clock())
            self._seen = version


def store_layers(base: Policy, engine: sa.Engine) -> PolicyLayers:
    """The layers over ``base`` of the grants in ``engine``'s store; ConfigError when a grant
    there names a ``not_shared`` field (the hub does not start with one)."""
    refused = unshareable(base, once_more_if_dead(lambda: live_grants(engine, datetime.now(UTC))))
    if refused:
        raise ConfigError(
            "grants name fields that are not shared: "
            + "; ".join(refused)
            + "; withdraw their requests (datong requests withdraw ID --as ...) before starting"
        )
    # Every read asks: like the read itself, it survives a pooled connection that died.
    return PolicyLayers(
        base,
        lambda: once_more_if_dead(lambda: grants_version(engine)),
        lambda now: once_more_if_dead(lambda: live_grants(engine, now)),
    )
