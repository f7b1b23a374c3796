"""The transactional outbox's publisher: committed view changes -> compacted ``view.*`` topics.

Entries are sent in commit order and marked only after the broker acknowledged them,
so a crash between commit and publish loses nothing (it resends, same key and value).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.metrics import MergeMetrics
from services.store.models import Outbox
from services.store.views import mark_published, pending_outbox

log = logging.getLogger(__name__)

# Hands one record to the producer and returns its delivery future, without waiting for it.
Send = Callable[[str, bytes, bytes | None, list[tuple[str, bytes]]], Awaitable[Awaitable[object]]]


class OutboxPublisher:
    """Drains the outbox whenever ``wake()`` is called, and every ``interval_s`` regardless."""

    def __init__(
        self,
        engine: sa.Engine,
        send: Send,
        metrics: MergeMetrics,
        batch: int = 2000,
        interval_s: float = 1.0,
    ) -> None:
        self._engine = engine
        self._send = send
        self._metrics = metrics
        self._batch = batch
        self._interval_s = interval_s
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Ask for a drain now (after a merge commit)."""
        self._wakeup.set()

    async def run(self) -> None:
        """Drain forever; a failed drain is retried (the entries stay pending)."""
        while True:
            try:
                while await self.drain_once():
                    pass
            except Exception:
                log.exception("publishing view changes failed; retrying in %ss", self._interval_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._interval_s)
            self._wakeup.clear()

    async def drain_once(self) -> int:
        """Publish one batch of pending entries; return how many were sent."""
        entries = await asyncio.to_thread(self._pending)
        if not entries:
            self._metrics.outbox_pending.set(0)
            return 0
        deliveries = []
        for entry in entries:
            headers = [(k, str(v).encode()) for k, v in entry.headers.items()]
            deliveries.append(await self._send(entry.topic, entry.key, entry.value, headers))
        # Sent in commit order; acknowledged together (a failure leaves them all pending).
        await asyncio.gather(*deliveries)
        await asyncio.to_thread(self._mark, [entry.id for entry in entries])
        return len(entries)

    def _pending(self) -> list[Outbox]:
        with Session(self._engine, expire_on_commit=False) as session:
            entries = pending_outbox(session, self._batch)
            self._metrics.outbox_pending.set(len(entries))
            return entries

    def _mark(self, ids: list[int]) -> None:
        with Session(self._engine) as session, session.begin():
            mark_published(session, ids)
