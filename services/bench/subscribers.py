"""The bench's subscribers of ``GET /subscribe/{view}``: when each key's change arrived.

A subscriber reads the Server-Sent Events stream with aiohttp, in the bench's event loop,
and stamps each ``change`` event with the time its line was read; only the first change
of a key counts (the bench's events each make one new row). The parser is the wire format
of ``services/api/sse.py`` read back: ``event:``, ``id:``, ``data:`` lines, a blank line
ending each event, comment lines starting with ``:``.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import aiohttp

from services.bench.processes import BenchError

SUBSCRIBED = "subscribed"  # the comment the API sends once a subscription is registered


@dataclass(frozen=True)
class SseEvent:
    """One event of the stream: its type and its data (the ``data:`` lines joined)."""

    kind: str
    data: str


@dataclass(frozen=True)
class SseComment:
    """One comment line (``: subscribed``, ``: heartbeat``)."""

    text: str


@dataclass
class EventStreamParser:
    """Turns the lines of a ``text/event-stream`` into events and comments, one line at a time."""

    _kind: str = "message"
    _data: list[str] = field(default_factory=list)

    def line(self, text: str) -> SseEvent | SseComment | None:
        """Take one line (without its end of line); return what it completes, if anything."""
        if not text:
            event = SseEvent(self._kind, "\n".join(self._data)) if self._data else None
            self._kind, self._data = "message", []
            return event
        name, _, value = text.partition(":")
        value = value.removeprefix(" ")
        if not name:
            return SseComment(value)
        if name == "event":
            self._kind = value
        elif name == "data":
            self._data.append(value)
        return None  # id and retry lines say nothing the bench needs


@dataclass
class Subscriber:
    """One subscription: first arrival of each key's change (epoch seconds), once subscribed."""

    path: str  # e.g. /subscribe/resident_profile
    key_field: str
    arrivals: dict[str, float] = field(default_factory=dict)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self, session: aiohttp.ClientSession) -> None:
        """Read the stream until cancelled; BenchError if refused or ended by the API."""
        async with session.get(self.path) as response:
            if response.status != 200:
                body = await response.read()
                raise BenchError(f"GET {self.path} answered {response.status}: {body[:200]!r}")
            parser = EventStreamParser()
            async for raw in response.content:
                now = time.time()
                got = parser.line(raw.decode().rstrip("\r\n"))
                if isinstance(got, SseEvent) and got.kind == "change":
                    self.arrivals.setdefault(json.loads(got.data)[self.key_field], now)
                elif isinstance(got, SseComment) and got.text == SUBSCRIBED:
                    self.subscribed.set()
        raise BenchError(f"the API ended the stream of {self.path}")
