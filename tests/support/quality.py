"""The feed quality scorecards as the demo manifest says they must end up, and as the API
answers them."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from connectors.demo.dirt import PARKED
from connectors.demo.manifest import Manifest
from tests.support.hub import Hub


def expected_totals(manifest: Manifest, department: str) -> dict[str, Any]:
    """A department's totals read off the manifest's files: every row received once, clean
    rows published, dirty rows dead-lettered by their reason, unresolvable addresses parked."""
    files = manifest.for_department(department)
    rejected: Counter[str] = Counter()
    for f in files:
        rejected.update({r: n for r, n in f.dirty.items() if r not in PARKED})
    return {
        "received": sum(f.rows for f in files),
        "published": sum(f.rows - sum(f.dirty.values()) for f in files),
        "rejected_by_reason": dict(sorted(rejected.items())),
        "parked": sum(n for f in files for r, n in f.dirty.items() if r in PARKED),
        "resolved": 0,
    }


def shown_totals(card: dict[str, Any]) -> dict[str, Any]:
    """The same figures from a scorecard the API answered."""
    totals = card["totals"]
    return {
        k: totals[k] for k in ("received", "published", "rejected_by_reason", "parked", "resolved")
    }


def scorecards(hub: Hub, token: str) -> dict[str, dict[str, Any]]:
    """``GET /quality`` with ``token``: every readable department's scorecard."""
    api = f"http://127.0.0.1:{hub.env['DATONG_API_PORT']}"
    answer = httpx.get(f"{api}/quality", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    answer.raise_for_status()
    return {card["department"]: card for card in answer.json()["feeds"]}
