"""The API's live parts: subscriptions, the dashboard and its history series."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from schemas.serde import Serde
from services.api.dashboard_routes import dashboard_routes
from services.api.readers import Authorize, open_to_everyone
from services.api.situation_routes import situation_routes
from services.api.subscribe_routes import subscribe_routes
from services.api.subscriptions import HubConfig, SubscriptionHub
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
    engine: sa.Engine,
    serde: Serde,
    registry: CollectorRegistry,
    authorize: Authorize = open_to_everyone,
) -> LiveApi:
    """Build the live routes over one subscription hub for this process."""
    topics = {spec.name: spec for spec in topic_specs(serde.catalog, settings.partitions)}
    key_fields = serde.catalog.view_key_fields()
    config = HubConfig(
        bootstrap=settings.bootstrap,
        kafka_options=settings.kafka_options(),
        topics={view: topics[serde.catalog.view(view).topic] for view in key_fields},
        key_fields=key_fields,
        buffer_size=settings.subscribe_buffer,
    )
    hub = SubscriptionHub(config, serde, SubscriptionMetrics(registry))
    routes: list[BaseRoute] = [
        *subscribe_routes(hub, authorize, settings.subscribe_heartbeat_s),
        *situation_routes(engine, authorize),
        *dashboard_routes(),
    ]
    return LiveApi(routes, hub)
