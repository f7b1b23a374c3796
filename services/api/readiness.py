"""The API's readiness: what its reads need (the view store), checked briefly and cached.

Readiness takes a pod out of the Service, so it asks only what the API cannot serve reads
without. The broker is not among them: reads come from the view store, an ingest answers
503 by itself while the broker is away, and subscribers reconnect. A probe that opened a
Kafka client each time (TLS, SCRAM, under a one-second timeout) made every pod flap with a
Kafka blip; the subscription hub's own consumer is reported instead, for information.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

# Kubernetes probes every few seconds from each kubelet, plus compose and load balancers:
# one check per two seconds answers them all.
CHECK_CACHE_S = 2.0
# Under the readiness probe's timeoutSeconds (3 in deploy/k8s/api.yaml), so the probe reads
# an answer ("timed out") instead of timing out itself.
CHECK_TIMEOUT_S = 2.0


class CachedCheck:
    """A blocking check run in a thread of its own, at most once per ``cache_s``.

    A check that hangs (a database that accepts connections and never answers) is not
    started again while it runs: probes get "timed out" instead of piling up threads.
    """

    def __init__(
        self,
        probe: Callable[[], None],
        failures: tuple[type[Exception], ...],
        *,
        cache_s: float = CHECK_CACHE_S,
        timeout_s: float = CHECK_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._failures = failures
        self._cache_s = cache_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="readiness")
        self._running: Future[None] | None = None
        self._answer: tuple[float, str] | None = None

    async def result(self) -> str:
        """``"ok"``, or why not: the error's type, or that the check timed out."""
        now = self._clock()
        if self._answer is not None and now - self._answer[0] < self._cache_s:
            return self._answer[1]
        if self._running is None or self._running.done():
            self._running = self._executor.submit(self._probe)
        try:
            await asyncio.wait_for(asyncio.wrap_future(self._running), self._timeout_s)
            answer = "ok"
        except TimeoutError:
            answer = f"timed out after {self._timeout_s:g} s"
        except self._failures as exc:
            answer = f"error: {type(exc).__name__}"
        self._answer = (self._clock(), answer)
        return answer
