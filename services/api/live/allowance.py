"""Whether an open stream's reader may still read: asked between events, at most so often.

A stream outlives the request that authorised it, and its token may be revoked while it is
open. The stream asks before each event and while it is idle; the answer is looked up at
most every ``interval_s`` (one store lookup) and remembered in between, so a busy stream
pays a clock read per event. With the 0.5 s interval a revoked token's stream ends within
about half a second, whether it is replaying a backlog, busy or idle.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

RECHECK_S = 0.5


class Allowance:
    """The reader's permission as last looked up, looked up again when ``interval_s`` passed."""

    def __init__(
        self,
        still_allowed: Callable[[], Awaitable[bool]],
        interval_s: float = RECHECK_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._still_allowed = still_allowed
        self._interval_s = interval_s
        self._clock = clock
        self._next_check = clock() + interval_s  # the request itself was just authorised
        self._revoked = False

    @property
    def interval_s(self) -> float:
        """The longest time between two lookups."""
        return self._interval_s

    async def holds(self) -> bool:
        """True while the reader may read; False from the first lookup that says it may not."""
        if self._revoked or self._clock() < self._next_check:
            return not self._revoked
        self._revoked = not await self._still_allowed()
        self._next_check = self._clock() + self._interval_s
        return not self._revoked
