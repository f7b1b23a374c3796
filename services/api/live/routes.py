"""``GET /subscribe/{view}?community=``: a view's changes as Server-Sent Events.

Events: ``change`` (data: the row's record, as ``GET /views/{view}/{key}`` shows it,
filtered by the reader's policy) and ``delete`` (data: ``{"key": ...}``; the row was
deleted or left what the reader sees). Each event's id is the reader's position in the
view topic; a client that reconnects with ``Last-Event-ID`` gets every change it missed.
Comment lines every ``DATONG_SUBSCRIBE_HEARTBEAT_S`` keep the connection alive.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import aclosing

from kafka.errors import KafkaError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from services.api.errors import ApiError
from services.api.live import sse
from services.api.live.access import Authorize, LiveReader
from services.api.live.allowance import Allowance
from services.api.live.catch_up import SubscriptionError
from services.api.live.changes import Change
from services.api.live.event_ids import EventIdError, parse_position
from services.api.live.fanout import Subscriber
from services.api.live.hub import Subscription, SubscriptionHub

log = logging.getLogger(__name__)

RECONNECT_MS = 2000
# Events written to a stream at once, at most (characters): a client catching up on
# thousands of changes gets them in pieces of about this size.
CHUNK_CHARS = 64 * 1024
SUBSCRIBE_ROUTE = "/subscribe/{view}"


def subscribe_routes(hub: SubscriptionHub, authorize: Authorize, heartbeat_s: float) -> list[Route]:
    """The subscription route over ``hub``; ``authorize`` resolves each request's reader."""

    async def subscribe(request: Request) -> Response:
        """a view's changes as Server-Sent Events (audience token), resumable by Last-Event-ID"""
        view = request.path_params["view"]
        if view not in hub.views:
            raise HTTPException(404, f"no view named {view!r}; views: {', '.join(hub.views)}")
        community = request.query_params.get("community") or None
        reader = await authorize(request, view, community, "subscribe")
        last_event_id = request.headers.get("last-event-id", "").strip()
        try:
            position = parse_position(last_event_id) if last_event_id else None
        except EventIdError as exc:
            raise ApiError(400, str(exc), parameter="Last-Event-ID") from None
        try:
            subscription = await hub.subscribe(view, position, community, reader.record_filter)
        except SubscriptionError as exc:
            raise HTTPException(503, str(exc)) from None
        return EventStream(subscription, _events(subscription, reader, heartbeat_s))

    return [Route(SUBSCRIBE_ROUTE, subscribe)]


class EventStream(StreamingResponse):
    """An event stream that unsubscribes its client however the response ends."""

    def __init__(self, subscription: Subscription, events: AsyncIterator[str]) -> None:
        super().__init__(
            events,
            media_type=sse.MEDIA_TYPE,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._subscription = subscription

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._subscription.close()


async def _events(
    subscription: Subscription, reader: LiveReader, heartbeat_s: float
) -> AsyncIterator[str]:
    subscriber = subscription.subscriber
    # A revoked token ends the stream between two events, a backlog's included: its
    # reconnection is then refused (401).
    allowance = Allowance(reader.still_allowed)
    sent = 0
    # The first chunk tells the client it is subscribed: changes from here on reach it.
    yield sse.retry(RECONNECT_MS) + sse.comment("subscribed")
    try:
        async with aclosing(subscription.missed()) as missed:
            async for change in missed:
                if not await allowance.holds():
                    return
                if event := _event(subscriber, change):
                    sent += 1
                    yield event
        quiet_since = time.monotonic()
        while not subscriber.closed:  # closed: cut off or shutting down; the client resumes
            changes = subscriber.take()
            chunks = await _chunks(subscriber, changes, allowance)
            if chunks is None:
                return
            for count, chunk in chunks:
                sent += count
                yield chunk
            if changes:
                quiet_since = time.monotonic()
                continue
            # Idle: wake at least once per allowance interval to ask again.
            await subscriber.wait(min(heartbeat_s, allowance.interval_s))
            if not await allowance.holds():
                return
            if not subscriber.closed and time.monotonic() - quiet_since >= heartbeat_s:
                quiet_since = time.monotonic()
                yield sse.comment("heartbeat")
    except (SubscriptionError, KafkaError) as exc:
        # The client reconnects with its last id and tries again.
        log.warning("ending a %s subscription: %s", subscriber.view, exc)
    finally:
        # Committed before the stream counts as closed, its client gone or not.
        await reader.record_read(None, sent)


async def _chunks(
    subscriber: Subscriber, changes: list[Change], allowance: Allowance
) -> list[tuple[int, str]] | None:
    """The events ``changes`` make for this subscriber, joined into chunks of about
    ``CHUNK_CHARS`` (each with its number of events); None once the reader's permission is
    found revoked, and then none of them is sent.

    What arrived together is written together: one write per chunk, not one per event,
    which at 1,000 changes/s had cost half of the event loop's time per subscriber.
    """
    chunks: list[tuple[int, str]] = []
    events: list[str] = []
    size = 0
    for change in changes:
        if not await allowance.holds():
            return None
        if event := _event(subscriber, change):
            events.append(event)
            size += len(event)
            if size >= CHUNK_CHARS:
                chunks.append((len(events), "".join(events)))
                events, size = [], 0
    if events:
        chunks.append((len(events), "".join(events)))
    return chunks


def _event(subscriber: Subscriber, change: Change) -> str | None:
    """The SSE text of what ``change`` shows this subscriber, or None."""
    delivery = subscriber.deliver(change)
    if delivery is None:
        return None
    return sse.encoded_event(delivery.kind, delivery.data_json, delivery.event_id)
