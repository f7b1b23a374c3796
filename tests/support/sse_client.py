"""A Server-Sent Events client for tests: reads a stream in a thread and keeps what came."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Sse:
    """One event as a client parsed it."""

    kind: str
    event_id: str | None
    data: Any


@dataclass
class SseClient:
    """Subscribe to ``url`` until ``close()``; ``events`` and ``comments`` fill as they come."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    events: list[Sse] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    status: int | None = None
    body: str = ""
    ended: bool = False  # the server ended the stream

    def __post_init__(self) -> None:
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=None))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    @property
    def last_event_id(self) -> str | None:
        """The id a reconnecting client sends as ``Last-Event-ID``."""
        ids = [e.event_id for e in self.events if e.event_id is not None]
        return ids[-1] if ids else None

    def of_kind(self, kind: str) -> list[Sse]:
        """The events of one type, in order."""
        return [e for e in self.events if e.kind == kind]

    def close(self) -> None:
        """Disconnect."""
        self._stop.set()
        self._client.close()
        self._thread.join(10)

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self.url, headers=self.headers) as response:
                self.status = response.status_code
                if response.status_code != 200:
                    self.body = response.read().decode()
                    return
                block: list[str] = []
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line:
                        block.append(line)
                        continue
                    self._take(block)
                    block = []
                self.ended = not self._stop.is_set()
        except (httpx.HTTPError, RuntimeError):
            if not self._stop.is_set():
                raise

    def _take(self, block: list[str]) -> None:
        kind, event_id, data = "message", None, []
        for line in block:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                self.comments.append(value)
            elif name == "event":
                kind = value
            elif name == "id":
                event_id = value
            elif name == "data":
                data.append(value)
        if data:
            self.events.append(Sse(kind, event_id, json.loads("\n".join(data))))
