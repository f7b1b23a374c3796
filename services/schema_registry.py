"""Which schema registry a process uses: an external one at DATONG_REGISTRY_URL, or the
embedded store in the view database."""

from __future__ import annotations

import sqlalchemy as sa

from schemas.registry import SqlRegistry
from schemas.registry_client import HttpRegistry
from services.settings import Settings


def open_registry(settings: Settings, engine: sa.Engine) -> SqlRegistry | HttpRegistry:
    """The registry every serde of this process resolves schema ids through."""
    if settings.registry_url:
        return HttpRegistry(settings.registry_url)
    return SqlRegistry(engine)
