"""The embedded broker as a fault sees it: a process to pause (SIGSTOP) and resume."""

from __future__ import annotations

import contextlib
import os
import signal

from services.broker import EmbeddedBroker


def broker_pid(broker: EmbeddedBroker) -> int:
    """The broker process's pid."""
    assert broker.pid is not None, "the broker was never started"
    return broker.pid


def resume(broker: EmbeddedBroker) -> None:
    """SIGCONT the broker if it is still running (a no-op on a running one)."""
    if broker.pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(broker.pid, signal.SIGCONT)
