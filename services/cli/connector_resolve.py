"""``datong connector resolve``: records parked for an unresolved address, mapped again.

A housing export brings new dwellings, so ``connector run`` resolves after each housing file
too (``resolve_parked``).
"""

from __future__ import annotations

import argparse
import json

from services.cli.connector_wiring import check_department, connector_publisher
from services.cli.progress import count_progress
from services.settings import Settings


def cmd_connector_resolve(args: argparse.Namespace, settings: Settings) -> int:
    """Map the parked records again and publish those whose address now resolves."""
    resolve_parked(settings, args.department)
    return 0


def resolve_parked(settings: Settings, department: str | None) -> None:
    """Map the parked records (of ``department``, else all) again, publish those whose
    address now resolves, and print how many did."""
    from connectors.gazetteer import Gazetteer
    from connectors.mappings import department_mappings
    from connectors.resolution import resolve_queue
    from connectors.state.store import open_state_store

    if department is not None:
        check_department(department)
    factories = department_mappings(settings.mappings_dir)
    state = open_state_store(settings.connector_state_url)
    publisher = connector_publisher(settings)
    try:
        mappers = {d: factories[d](settings.hmac_key, Gazetteer(state)) for d in factories}
        with count_progress("parked records", None) as progress:
            stats = resolve_queue(
                state, mappers, settings.seal_key, publisher, department, progress=progress
            )
    finally:
        publisher.close()
    print(
        json.dumps(
            {
                "resolution_queue": {
                    "resolved": stats.resolved,
                    "rejected": stats.rejected,
                    "still_parked": stats.parked,
                }
            }
        ),
        flush=True,
    )
