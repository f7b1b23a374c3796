"""``datong catalog [--json]``: the data catalogue, printed from the contracts, the field
classes, the policy and what the store has seen (``services.access.data_catalog``)."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.settings import Settings

log = logging.getLogger("datong")


def add_catalog_commands(sub: Any) -> None:
    """Add ``catalog`` to the ``datong`` parser's subcommands."""
    catalog = sub.add_parser(
        "catalog",
        help="the data catalogue: every view field's owner, sharing class "
        "(无条件/有条件/不予共享), cadence and readers",
    )
    catalog.add_argument("--json", action="store_true", help="print it as JSON, as GET /catalog")
    catalog.set_defaults(handler=cmd_catalog)


def cmd_catalog(args: argparse.Namespace, settings: Settings) -> int:
    """Print the catalogue as text (or JSON with ``--json``)."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from schemas.catalog import Catalog
    from services.access.data_catalog import build_catalog
    from services.access.grants import ExtraGrant
    from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
    from services.access.request_store import live_grants
    from services.store.database import create_engine, disposing
    from services.store.views import newest_events

    contracts = Catalog.load()
    policy = load_policy(settings.policy_file or DEFAULT_POLICY_FILE, contracts)
    newest: dict[str, int] = {}
    grants: list[ExtraGrant] = []
    now = datetime.now(UTC)
    try:
        with disposing(create_engine(settings.database_url)) as engine, Session(engine) as session:
            newest = newest_events(session)
            grants = live_grants(engine, now)
    except sa.exc.SQLAlchemyError as exc:
        # The contracts and the policy make the catalogue; the store adds what was seen and
        # the grants of sharing requests.
        reason = str(exc).splitlines()[0]
        log.warning("the view store cannot be read, so no feed or grant is shown: %s", reason)
    catalog = build_catalog(contracts, policy, settings.feed_schedule, newest, now, grants=grants)
    print(json.dumps(catalog, ensure_ascii=False, indent=2) if args.json else render_text(catalog))
    return 0


def render_text(catalog: Mapping[str, Any]) -> str:
    """The catalogue as lines for a terminal: per view, a line per field, then its readers."""
    labels = catalog["sharing_classes"]
    lines = [f"data catalogue of {catalog['generated_at']} (policy {catalog['policy']})", ""]
    for department in catalog["departments"]:
        seen = department["newest_event_at"] or "nothing received yet"
        lines.append(
            f"{department['department']}: expected every {department['expected_every_s']} s, "
            f"newest event {seen}"
        )
    for view in catalog["views"]:
        lines += ["", f"{view['view']} ({view['topic']}, key {view['key_field']})"]
        for field in view["fields"]:
            words = labels[field["sharing"]]
            readers = ", ".join(_reader(r) for r in field["readers"]) or "nobody"
            lines.append(
                f"  {field['name']:<28} {field['owner']:<16} {words['zh']} ({field['sharing']}); "
                f"read by {readers}"
            )
    return "\n".join(lines)


def _reader(reader: Mapping[str, Any]) -> str:
    communities = reader["communities"]
    where = communities if isinstance(communities, str) else ",".join(communities)
    return f"{reader['audience']} [{where}]"
