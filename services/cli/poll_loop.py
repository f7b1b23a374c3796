"""A connector's poll loop as the process sees it: when to stop, and what ``/healthz`` says.

SIGTERM (how Kubernetes and compose stop a container) and Ctrl-C end the loop cleanly: the
batch on its way is flushed and checkpointed, then the command exits 0. A stop that comes
before the loop has begun has nothing in flight: it ends the start at once.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from services.liveness import Liveness

log = logging.getLogger("datong")


class StoppedBeforeStart(BaseException):
    """A stop arrived while the connector was still starting (nothing published yet).

    A BaseException, as KeyboardInterrupt is: a library's ``except Exception`` retry loop
    (waiting for the registry) must not swallow it.
    """


class PollLoop:
    """The stop flag a connector's loop checks between batches, and its liveness steps."""

    def __init__(self, interval_s: float, liveness: Liveness | None = None) -> None:
        self.interval_s = interval_s
        self.liveness = liveness
        self.stop = threading.Event()
        self._running = False
        self._steps = 0

    def stop_on_signals(self) -> None:
        """From now on SIGTERM and Ctrl-C stop the loop (see the module's docstring)."""

        def handle(signum: int, _frame: object) -> None:
            self.stop.set()
            if not self._running:
                raise StoppedBeforeStart
            log.info("%s: stopping after the current batch", signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    def begin(self) -> None:
        """The loop starts publishing: a stop now waits for the batch in hand."""
        self._running = True

    def step(self, pending: bool) -> None:
        """The loop moved on (a poll, or a batch checkpointed); ``pending``: work waits."""
        self._steps += 1
        if self.liveness is not None:
            self.liveness.observe(self._steps, pending)

    def batches(self, progress: Callable[[int], None] | None) -> Callable[[int], None]:
        """A runner's progress callback that also counts each checkpointed batch a step."""

        def advance(count: int) -> None:
            if progress is not None:
                progress(count)
            self.step(pending=True)

        return advance

    def wait(self) -> bool:
        """Sleep until the next poll; False when the process was asked to stop."""
        return not self.stop.wait(self.interval_s)
