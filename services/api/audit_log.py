"""The read audit as the API writes it: a read's record is durable before its answer leaves.

Each answered read awaits ``AuditLog.record``: its records join those of every other request
waiting at that moment, and one transaction writes them all (group commit). While a
transaction is being written, new records gather for the next one, so a busy API commits
once per round trip to the store, not once per read, and no read is answered before its
record is committed. A stream that is ending (a subscription, an export) awaits
``record_ending``: the same group commit, its wait shielded from the cancellation that ends
a stream whose client hung up, so the stream is closed only once its record is durable, and
the event loop serves other requests meanwhile (the write is on a thread).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import anyio
from sqlalchemy.exc import SQLAlchemyError

from services.access.audit import AuditSink, ReadEntry
from services.api.errors import ApiError

_Waiting = tuple[list[ReadEntry], "asyncio.Future[None]"]


@dataclass
class _Group:
    """The records waiting for the next transaction of one event loop, and its writer."""

    waiting: list[_Waiting] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None


class AuditLog:
    """Writes read records through ``write`` (``record_reads``), grouping concurrent ones."""

    def __init__(self, write: AuditSink) -> None:
        self._write = write
        # One group per event loop: a future is only ever resolved on its own loop (a server
        # runs one loop; tests may run several).
        self._groups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Group] = (
            weakref.WeakKeyDictionary()
        )

    async def record(self, entries: Sequence[ReadEntry]) -> None:
        """Return once ``entries`` are committed; 503 when the store cannot take them (the
        read is then not answered: no read goes unrecorded)."""
        if not entries:
            return
        loop = asyncio.get_running_loop()
        group = self._groups.setdefault(loop, _Group())
        future: asyncio.Future[None] = loop.create_future()
        group.waiting.append((list(entries), future))
        if group.writer is None or group.writer.done():
            group.writer = asyncio.create_task(self._write_waiting(group))
        try:
            await future
        except SQLAlchemyError as exc:
            raise ApiError(
                503, f"the read could not be recorded in the audit, so it is not answered: {exc}"
            ) from exc

    async def record_ending(self, entries: Sequence[ReadEntry]) -> None:
        """``record`` for a stream that is ending: returns once ``entries`` are committed even
        while the stream is being cancelled (its client hung up, the server stops)."""
        # anyio's shield: Starlette cancels a response's task group when its client leaves,
        # and every await in a cancelled scope would raise at once. asyncio's: a bare
        # Task.cancel() may end this wait, never the write.
        with anyio.CancelScope(shield=True):
            await asyncio.shield(self.record(entries))

    async def _write_waiting(self, group: _Group) -> None:
        while group.waiting:
            batch, group.waiting = group.waiting, []
            entries = [entry for group, _ in batch for entry in group]
            try:
                await asyncio.to_thread(self._write, entries)
            except Exception as exc:  # handed to every waiting request, raised there
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for _, future in batch:
                    if not future.done():  # a request whose client left was cancelled
                        future.set_result(None)
