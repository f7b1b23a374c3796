"""Whether open streams' tokens still hold: one store query per interval for the process.

Every open stream asks between events and while idle (``live/allowance.py``). Asked one by
one, a thousand idle streams would be two thousand queries a second, each on a thread and a
pooled connection. Here the streams' questions are pooled: the tokens asked about since the
last look are looked up together, at most once per interval, and every stream waiting on
that look gets its answer from it. A look that fails answers "no" for all of them (fail
closed: the clients reconnect and are authorised again).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

LiveOf = Callable[[Iterable[str]], set[str]]  # blocking: which of these tokens still hold


class TokenLiveness:
    """Answers "does this token still hold?" from a shared look at most ``interval_s`` old."""

    def __init__(
        self,
        live_of: LiveOf,
        interval_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._live_of = live_of
        self._interval_s = interval_s
        self._clock = clock
        self._answers: dict[str, bool] = {}
        self._looked_at = float("-inf")
        self._asked: set[str] = set()
        self._look: asyncio.Task[None] | None = None

    async def holds(self, token_id: str) -> bool:
        """Whether ``token_id`` was live at a look no older than the interval."""
        self._asked.add(token_id)
        fresh = self._clock() - self._looked_at < self._interval_s
        if fresh and token_id in self._answers:
            return self._answers[token_id]
        if self._look is None:
            self._look = asyncio.create_task(self._look_up())
        await asyncio.shield(self._look)
        return self._answers.get(token_id, False)

    async def _look_up(self) -> None:
        asked, self._asked = self._asked, set()
        try:
            live = await asyncio.to_thread(self._live_of, asked)
        except Exception:
            # Fail closed: a stream whose token cannot be checked ends; it can reconnect.
            log.warning(
                "checking %d streams' tokens failed; ending them", len(asked), exc_info=True
            )
            live = set()
        finally:
            self._look = None
        self._answers = {token_id: token_id in live for token_id in asked}
        self._looked_at = self._clock()
