"""The Server-Sent Events wire format (text/event-stream)."""

from __future__ import annotations

import json
from typing import Any

MEDIA_TYPE = "text/event-stream"


def event(kind: str, data: Any, event_id: str | None = None) -> str:
    """One event: its type, its id (when it has one) and its data as one line of JSON."""
    return encoded_event(kind, data_json(data), event_id)


def encoded_event(kind: str, data: str, event_id: str | None = None) -> str:
    """One event whose data is encoded already (``data_json``)."""
    if event_id is None:
        return f"event: {kind}\ndata: {data}\n\n"
    return f"event: {kind}\nid: {event_id}\ndata: {data}\n\n"


def data_json(data: Any) -> str:
    """An event's data as one line of JSON (no line break can occur in it)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def comment(text: str) -> str:
    """A comment line: clients ignore it; it keeps proxies and the connection alive."""
    return f": {text}\n\n"


def retry(milliseconds: int) -> str:
    """How long a browser's EventSource waits before it reconnects."""
    return f"retry: {milliseconds}\n\n"
