"""A stored view row as the JSON a reader gets: the view contract's fields and provenance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.merge.rules import VIEWS


def json_record(
    view: str, key: str, data: Mapping[str, Any], provenance: Mapping[str, Any]
) -> dict[str, Any]:
    """The reader's record of one visible row of ``view`` (merge state left out)."""
    spec = VIEWS[view]
    values = {k: v for k, v in data.items() if k not in spec.hidden}
    sources = {
        k: {"department": d, "event_id": e, "event_time_ms": t}
        for k, (d, e, t) in provenance.items()
        if k not in spec.hidden and data.get(k) is not None
    }
    return {spec.key_field: key, **values, "provenance": sources}
