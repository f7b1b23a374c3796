"""Live tokens kept in the process, so that a read costs no trip to the store for its token.

A token found live in the store is kept by the SHA-256 of its secret until a revocation
reaches the process, which it does at once or not at all:

- PostgreSQL: ``revoke_token`` notifies ``datong_token_revoked`` with the token's id in
  its transaction; ``RevocationListener`` listens on a connection of its own and evicts the
  token as the notification arrives. The cache is trusted only while the listener listens:
  before it has started, and from the moment its connection drops until it listens again,
  the cache is empty and every lookup goes to the store (fail closed).
- SQLite (no notifications): the number of revoked tokens is a counter, read at most once a
  second (``interval_s``); when it moved, the whole cache is flushed.

Either way a stream's pooled liveness look (``token_liveness.py``) that finds a token
revoked evicts it too, so the request after a stream ended on revocation is refused.
Unknown secrets are never kept: a guessed secret costs a lookup, never memory.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import psycopg

from services.access.tokens import REVOKED_CHANNEL

log = logging.getLogger(__name__)
_Held = TypeVar("_Held")


@dataclass
class TokenCache(Generic[_Held]):
    """Holders of live tokens by secret digest; ``revocations`` (blocking) counts revoked
    tokens, or is None where a listener delivers each revocation instead."""

    revocations: Callable[[], int] | None
    interval_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _held: dict[str, tuple[str, _Held]] = field(default_factory=dict)  # digest -> (id, holder)
    _trusted: bool = False
    _counted: int | None = None
    _counted_at: float = float("-inf")
    _counting: asyncio.Task[None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Moves with every eviction or flush: a lookup that began before one keeps nothing, as
    # the token it found may have been revoked while it was being looked up.
    _generation: int = 0

    def __post_init__(self) -> None:
        # Counting needs no listener: trusted from the start, the first count comes first.
        self._trusted = self.revocations is not None

    async def get(self, digest: str) -> _Held | None:
        """The holder of the live token with this secret digest, if kept and still trusted."""
        if self.revocations is not None and self.clock() - self._counted_at >= self.interval_s:
            if self._counting is None:
                self._counting = asyncio.create_task(self._count())
            await asyncio.shield(self._counting)
        with self._lock:
            found = self._held.get(digest) if self._trusted else None
        return None if found is None else found[1]

    @property
    def generation(self) -> int:
        """Taken before a lookup in the store and handed to ``put`` with what it found."""
        return self._generation

    def put(self, digest: str, token_id: str, holder: _Held, generation: int) -> None:
        """Keep a token found live in the store by a lookup that began at ``generation``
        (nothing when a revocation reached the cache since, or it is distrusted)."""
        with self._lock:
            if self._trusted and generation == self._generation:
                self._held[digest] = (token_id, holder)

    def evict(self, token_id: str) -> None:
        """Forget a revoked token."""
        with self._lock:
            self._held = {d: held for d, held in self._held.items() if held[0] != token_id}
            self._generation += 1

    def trust(self) -> None:
        """Keep tokens from now on (a listener listens)."""
        with self._lock:
            self._forget()
            self._trusted = True

    def distrust(self) -> None:
        """Forget every token and keep none until trusted again (the listener dropped)."""
        with self._lock:
            self._forget()
            self._trusted = False

    def _forget(self) -> None:
        self._held.clear()
        self._generation += 1

    async def _count(self) -> None:
        assert self.revocations is not None
        try:
            counted = await asyncio.to_thread(self.revocations)
        except Exception:
            # Fail closed: without the count, nothing kept can be trusted.
            log.warning("counting revoked tokens failed; forgetting kept tokens", exc_info=True)
            with self._lock:
                self._forget()
            counted = None
        finally:
            self._counting = None
        with self._lock:
            if counted is None or counted != self._counted:
                self._forget()
            self._counted = counted
        self._counted_at = self.clock()


class RevocationListener:
    """Listens for revocations on PostgreSQL and evicts each revoked token from ``cache``.

    ``connect`` opens a psycopg connection in autocommit mode. The listener runs on a thread
    of its own from ``start`` to ``stop``; whenever its connection drops, the cache is
    flushed and distrusted until it listens again.
    """

    def __init__(
        self,
        cache: TokenCache[Any],
        connect: Callable[[], Any],
        retry_s: float = 1.0,
        channel: str = REVOKED_CHANNEL,
    ) -> None:
        self._cache = cache
        self._channel = channel  # another cache may listen for its own changes
        self._connect = connect
        self._retry_s = retry_s
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start listening on a thread (again after a ``stop``: an app may be served twice)."""
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"listen-{self._channel}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; returns once the connection is closed."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        self._cache.distrust()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                conn = self._connect()
                assert isinstance(conn, psycopg.Connection)
                with conn:
                    conn.execute(f"LISTEN {self._channel}")
                    self._cache.trust()  # what was revoked before now is not kept
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._cache.evict(note.payload)
            except psycopg.Error:
                log.warning("listening for token revocations failed; retrying", exc_info=True)
            finally:
                self._cache.distrust()
            self._stopping.wait(self._retry_s)
