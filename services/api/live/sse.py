"""The Server-Sent Events wire format (text/event-stream)."""

from __future__ import annotations

import json
from typing import Any

MEDIA_TYPE = "text/event-stream"


def event(kind: str, data: Any, event_id: str | None = None) -> str:
    """One event: its type, its id (when it has one) and its data as one line of JSON."""
    lines = [f"event: {kind}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def comment(text: str) -> str:
    """A comment line: clients ignore it; it keeps proxies and the connection alive."""
    return f": {text}\n\n"


def retry(milliseconds: int) -> str:
    """How long a browser's EventSource waits before it reconnects."""
    return f"retry: {milliseconds}\n\n"
