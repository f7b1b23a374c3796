"""Which schema registry a process resolves schema ids through.

The hub's processes (API, worker, ``datong schemas``) use ``DATONG_REGISTRY_URL`` when set,
else the embedded store in the view database, which they have open anyway. A connector
never opens the view database: it reaches a registry over HTTP (``Settings.registry_http_url``,
the hub API's ``/registry`` on embedded defaults) and only looks ids up.
"""

from __future__ import annotations

import sqlalchemy as sa

from schemas.registry.http_client import HttpRegistry
from services.settings import Settings
from services.store.registry_store import SqlRegistry


def hub_registry(settings: Settings, engine: sa.Engine) -> SqlRegistry | HttpRegistry:
    """The registry a hub process (API, worker, CLI over the view store) uses."""
    if settings.registry_url:
        return HttpRegistry(settings.registry_url, auth=settings.registry_auth)
    return SqlRegistry(engine)


def connector_registry(settings: Settings) -> HttpRegistry:
    """The registry a connector looks its schema ids up in: never the view database."""
    return HttpRegistry(
        settings.registry_http_url, auto_register=False, auth=settings.registry_auth
    )
