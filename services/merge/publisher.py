"""View changes -> compacted ``view.*`` topics, straight from the committed batch.

A batch's changes are encoded and handed to the producer as soon as its transaction has
committed, in commit order. Its transaction also left a mark per changed row in the
outbox; once the broker acknowledged the changes the marks are deleted, so the outbox
holds only what a stop interrupted and stays bounded. Rows a stopped worker left marked
are sent again as they now stand, by whichever worker looks first.

Two workers may write the same household one after the other and publish in the other
order, which would leave the older record last on a compacted topic. So after its changes
are acknowledged a publisher asks which of those rows a later batch has written since,
and resends each such row as it now stands, holding it against writers until the broker
has it. A later writer's own publish comes after its commit, hence after that resend; and
a resend is only ever of the row as committed, so the last record of every key is its
current state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from services.merge.encoding import ViewEncoder, ViewRecord
from services.merge.processor import Outcome
from services.metrics import MergeMetrics
from services.store.merge_store import Committed, MergeStore, ViewKey

log = logging.getLogger(__name__)

# Hands one record to the producer and returns its delivery future, without waiting for it.
Send = Callable[[ViewRecord], Awaitable[Awaitable[object]]]


class ViewPublisher:
    """Publishes committed view changes and keeps the outbox to what is not yet acknowledged."""

    def __init__(
        self,
        store: MergeStore,
        send: Send,
        encoder: ViewEncoder,
        metrics: MergeMetrics,
        *,
        stale_s: float = 10.0,
    ) -> None:
        self._store = store  # this publisher's own connection, used from its own thread
        self._send = send
        self._encoder = encoder
        self._metrics = metrics
        self._stale_s = stale_s
        self._db = ThreadPoolExecutor(1, thread_name_prefix="datong-publish")
        self._settling: set[asyncio.Task[None]] = set()

    async def publish(self, outcome: Outcome) -> None:
        """Hand a committed batch's changes to the producer now; settle them in the background."""
        if not outcome.changes:
            return
        deliveries = [await self._send(self._encoder.record(c)) for c in outcome.changes]
        keys = list(dict.fromkeys((c.view, c.key) for c in outcome.changes))
        task = asyncio.create_task(self._settle(outcome.committed, keys, deliveries))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def _settle(
        self, committed: Committed, keys: list[ViewKey], deliveries: Sequence[Awaitable[object]]
    ) -> None:
        try:
            await asyncio.gather(*deliveries)
            overtaken = await self._in_db(self._store.finish, committed, keys)
            if overtaken:
                await self._resend(overtaken)
                log.info("resent %d view rows another batch had overtaken", len(overtaken))
        except Exception:
            # The marks stay in the outbox: a later sweep sends their rows again.
            log.exception("publishing %d view changes failed", len(deliveries))

    async def _resend(self, keys: list[ViewKey]) -> None:
        """Send rows as they stand, holding them against writers until acknowledged."""
        await self._in_db(self._resend_current, keys, asyncio.get_running_loop())

    def _resend_current(self, keys: list[ViewKey], loop: asyncio.AbstractEventLoop) -> None:
        with self._store.current(keys) as rows:
            records = [
                self._encoder.record(self._encoder.change_of(view, rows[(view, key)]))
                for view, key in keys
                if (view, key) in rows
            ]
            asyncio.run_coroutine_threadsafe(self._send_all(records), loop).result()

    async def _send_all(self, records: Sequence[ViewRecord]) -> None:
        deliveries = [await self._send(record) for record in records]
        await asyncio.gather(*deliveries)

    async def sweep(self, *, everything: bool = False) -> int:
        """Send again the rows a stop left marked in the outbox (``everything``: at start,
        however recent the marks); return how many marks were cleared."""
        older_than = 0.0 if everything else self._stale_s
        pending = await self._in_db(self._store.leftovers, older_than, 5000)
        if not pending:
            return 0
        await self._resend(list(dict.fromkeys(p.view_key for p in pending)))
        await self._in_db(self._store.discard, [p.id for p in pending])
        log.warning("sent %d view changes left in the outbox", len(pending))
        return len(pending)

    async def report_pending(self) -> None:
        """Set ``datong_outbox_pending`` from the store: every worker's unacknowledged changes."""
        self._metrics.outbox_pending.set(await self._in_db(self._store.outbox_size))

    async def drain(self) -> None:
        """Wait for every batch handed over so far to be settled."""
        while self._settling:
            await asyncio.gather(*list(self._settling), return_exceptions=True)

    async def _in_db(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._db, call, *args)

    def close(self) -> None:
        """Stop the publisher's database thread and close its connection."""
        self._db.shutdown(wait=True)
        self._store.close()
