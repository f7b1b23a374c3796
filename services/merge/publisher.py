"""View changes -> compacted ``view.*`` topics, straight from the committed batch.

A batch's changes are handed to the producer the moment its transaction commits, in
commit order; once the broker acknowledged them their outbox rows are deleted, so the
outbox holds only what a crash interrupted and stays bounded. What a crashed worker left
there is resent (by whichever worker looks first) once it is older than ``stale_s``.

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

from services.merge.rows import Change
from services.metrics import MergeMetrics
from services.store.merge_store import Committed, MergeStore, OutboxEntry, StoredView, ViewKey

log = logging.getLogger(__name__)

# Hands one record to the producer and returns its delivery future, without waiting for it.
Send = Callable[[str, bytes, bytes | None, list[tuple[str, bytes]]], Awaitable[Awaitable[object]]]
Encode = Callable[[Change], OutboxEntry]
ChangeOf = Callable[[str, StoredView], Change]


class ViewPublisher:
    """Publishes committed view changes and keeps the outbox to what is not yet acknowledged."""

    def __init__(
        self,
        store: MergeStore,
        send: Send,
        encode: Encode,
        change_of: ChangeOf,
        metrics: MergeMetrics,
        *,
        stale_s: float = 10.0,
    ) -> None:
        self._store = store  # this publisher's own connection, used from its own thread
        self._send = send
        self._encode = encode
        self._change_of = change_of
        self._metrics = metrics
        self._stale_s = stale_s
        self._db = ThreadPoolExecutor(1, thread_name_prefix="datong-publish")
        self._settling: set[asyncio.Task[None]] = set()

    async def publish(self, committed: Committed) -> None:
        """Hand a committed batch's changes to the producer now; settle them in the background."""
        if not committed.entries:
            return
        deliveries = [await self._send_entry(entry) for entry in committed.entries]
        task = asyncio.create_task(self._settle(committed, deliveries))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def _send_entry(self, entry: OutboxEntry) -> Awaitable[object]:
        headers = [(k, str(v).encode()) for k, v in entry.headers.items()]
        return await self._send(entry.topic, entry.key, entry.value, headers)

    async def _settle(self, committed: Committed, deliveries: Sequence[Awaitable[object]]) -> None:
        try:
            await asyncio.gather(*deliveries)
            keys = list(dict.fromkeys(e.view_key for e in committed.entries))
            overtaken = await self._in_db(self._store.finish, committed, keys)
            if overtaken:
                await self._in_db(self._resend_current, overtaken, asyncio.get_running_loop())
        except Exception:
            # The entries stay in the outbox: the next sweep sends them again.
            log.exception("publishing %d view changes failed", len(committed.entries))

    def _resend_current(self, keys: list[ViewKey], loop: asyncio.AbstractEventLoop) -> None:
        """Send rows a later batch overtook as they stand, holding them until acknowledged."""
        with self._store.current(keys) as rows:
            entries = [
                self._encode(self._change_of(view, rows[(view, key)]))
                for view, key in keys
                if (view, key) in rows
            ]
            asyncio.run_coroutine_threadsafe(self._send_all(entries), loop).result()
        log.info("resent %d view rows another batch had overtaken", len(entries))

    async def _send_all(self, entries: Sequence[OutboxEntry]) -> None:
        deliveries = [await self._send_entry(entry) for entry in entries]
        await asyncio.gather(*deliveries)

    async def sweep(self, *, everything: bool = False) -> int:
        """Resend what a crash left in the outbox (``everything``: at start, however recent);
        return how many entries were resent."""
        older_than = 0.0 if everything else self._stale_s
        pending = await self._in_db(self._store.leftovers, older_than, 5000)
        if not pending:
            return 0
        deliveries = [await self._send_entry(p.entry) for p in pending]
        await asyncio.gather(*deliveries)
        await self._in_db(self._store.discard, [p.id for p in pending])
        # Each version's rows may have been overtaken since: bring them up to date.
        by_version: dict[int, list[ViewKey]] = {}
        for p in pending:
            by_version.setdefault(p.version, []).append(p.entry.view_key)
        for version, keys in sorted(by_version.items()):
            committed = Committed(version, [], [])
            overtaken = await self._in_db(self._store.finish, committed, keys)
            if overtaken:
                await self._in_db(self._resend_current, overtaken, asyncio.get_running_loop())
        log.warning("resent %d view changes a stopped worker had left unpublished", len(pending))
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
