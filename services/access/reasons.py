"""An alert's reason in words, rendered for one reader from its code and the values it may see.

The merge stores a reason as ``reason_code`` and ``reason_params`` (the values it cites), never
as words: words that embed a value would carry it to every reader of the alert. The read path
first drops the params the audience is not granted (``services.access.derivation``), then
renders what is left; a missing value is left out of the sentence, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime


def render_reason(code: str, params: Mapping[str, int]) -> str:
    """The reason ``code`` in words for the grid worker, citing only ``params``."""
    if code == "NO_WATER_USE":
        hours = params.get("hours")
        silence = f"for {hours} hours" if hours is not None else "for 24 hours or more"
        since = f" (since {_time(params['since'])})" if "since" in params else ""
        return f"elderly resident living alone: no water use {silence}{since}"
    if code == "NO_SEPARATE_ROOM":
        count = params.get("resident_count")
        who = f"all {count} residents are" if count is not None else "its residents are"
        return f"home quarantine where no one can isolate apart: {who} isolated together"
    if code == "DELIVERY_NOT_FULFILLED":
        due = f", due {_time(params['due_at'])}" if "due_at" in params else ""
        return f"delivery to a quarantined household not yet fulfilled{due}"
    if code == "HEALTH_STATUS_RED":
        return "health status turned RED"
    # A code added to the contract before its words: say so rather than fail the read.
    return code.replace("_", " ").lower()


def _time(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
