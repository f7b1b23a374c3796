"""The live path: a view's changes pushed to subscribers as Server-Sent Events.

One Kafka consumer per API process follows every ``view.*`` topic (``hub.py``); each
change is decoded into the reader's JSON record (``changes.py``) and offered to every
subscriber of its view (``fanout.py``), which keeps the ones its reader may see
(``access.py``) and sends them as SSE events (``sse.py``) from ``GET /subscribe/{view}``
(``routes.py``). An event's id is the subscriber's position in the view topic
(``event_ids.py``), so a client that reconnects with ``Last-Event-ID`` misses nothing.

``live_api`` builds the hub and its route for one API process; the app mounts the routes
and stops the hub when it stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from schemas.serde import Serde
from services.api.live.access import Authorize, open_to_everyone
from services.api.live.hub import HubConfig, SubscriptionHub
from services.api.live.routes import subscribe_routes
from services.metrics import SubscriptionMetrics
from services.settings import Settings
from services.topics import topic_specs


@dataclass(frozen=True)
class LiveApi:
    """Routes to mount, and the hub to stop when the app stops."""

    routes: list[BaseRoute]
    hub: SubscriptionHub

    @asynccontextmanager
    async def lifespan(self, _: Starlette) -> AsyncIterator[None]:
        """Stop the hub's consumer when the server shuts down (it starts on first use)."""
        try:
            yield
        finally:
            await self.hub.close()


def live_api(
    settings: Settings,
    serde: Serde,
    registry: CollectorRegistry,
    authorize: Authorize = open_to_everyone,
) -> LiveApi:
    """Build the subscription route over one subscription hub for this process; the views
    and their key fields are the catalog's."""
    topics = {
        spec.name: spec
        for spec in topic_specs(serde.catalog, settings.partitions, settings.dlq_retention_days)
    }
    key_fields = serde.catalog.view_key_fields()
    config = HubConfig(
        bootstrap=settings.bootstrap,
        kafka_options=settings.kafka_options(),
        topics={view: topics[serde.catalog.view(view).topic] for view in key_fields},
        key_fields=key_fields,
        buffer_size=settings.subscribe_buffer,
        fetch_wait_ms=settings.subscribe_fetch_wait_ms,
        topics_mode=settings.topics,
    )
    hub = SubscriptionHub(config, serde, SubscriptionMetrics(registry))
    routes: list[BaseRoute] = [*subscribe_routes(hub, authorize, settings.subscribe_heartbeat_s)]
    return LiveApi(routes, hub)
