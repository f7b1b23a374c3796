"""The demo community's events as its connectors map them, without a broker (for pure tests)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from tempfile import TemporaryDirectory

import sqlalchemy as sa

from connectors.base import Event
from connectors.demo import generate
from connectors.demo.manifest import Manifest
from connectors.errors import RecordError
from connectors.gazetteer import Gazetteer
from connectors.mappings import MAPPINGS
from connectors.sources.drop_folder import DropFolder
from schemas.catalog import Catalog
from services.merge import feeds
from services.merge.merge import Update
from tests.support.stores import connector_state

DEMO_KEY = b"demo-hmac-key-for-tests-only-32b!"


@cache
def demo_events(
    communities: int = 1, residents: int = 400, seed: int = 11
) -> tuple[Manifest, tuple[Event, ...]]:
    """The demo's exports mapped department by department, housing first; rejects dropped."""
    with TemporaryDirectory() as tmp:
        out = Path(tmp)
        manifest = generate(out, communities, residents, seed)
        gazetteer = Gazetteer(connector_state(sa.create_engine("sqlite://")))
        events: list[Event] = []
        for department in manifest.departments:
            mapper = MAPPINGS[department](DEMO_KEY, gazetteer)
            for source in DropFolder(out / department).pending():
                for record in source.records(None):
                    try:
                        if record.error is not None:
                            raise record.error
                        events.append(mapper(record.fields))
                    except RecordError:
                        continue  # a dirty row: its connector sends it to the dead letters
    return manifest, tuple(events)


def updates_of(events: tuple[Event, ...] | list[Event]) -> list[Update]:
    """The view updates of each event, in the events' order."""
    catalog = Catalog.load()
    subjects = feeds.subject_views(catalog.view_key_fields())
    updates: list[Update] = []
    for event in events:
        contract = catalog.event(event.department, event.event)
        updates += feeds.updates_for(
            contract.full_name, event.department, contract.key_field, event.record, subjects
        )
    return updates
