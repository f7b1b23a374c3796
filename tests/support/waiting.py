"""Polling until something holds, for tests that watch processes they do not control."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def wait_for(
    predicate: Callable[[], Any],
    timeout_s: float = 60.0,
    interval_s: float = 0.2,
    what: str = "condition",
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)
