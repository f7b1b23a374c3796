"""An independent oracle for the four views: the obvious, slow reading of the README's rules.

It shares no code with ``services.merge``: every subject's events are sorted by version and
folded one at a time per field, then households, alerts and community situations are
recounted from the final rows. The result has the stored shape of the views' shown rows:
``{view: {key: (data, provenance)}}`` with provenance ``{field: [department, event_id,
event_time_ms]}``.
"""

from __future__ import annotations

from collections.abc import Iterable

from connectors.base import Event
from schemas.catalog import Catalog
from tests.support.keys import TEST_HMAC_KEY
from tests.support.oracle.alerts import alert_rows
from tests.support.oracle.communities import Epidemic, community_rows, freshness
from tests.support.oracle.facts import facts
from tests.support.oracle.fold import fold
from tests.support.oracle.households import household_rows
from tests.support.oracle.residents import Shown, registered, resident_rows
from tests.support.oracle.tasks import with_tasks

Views = dict[str, dict[str, Shown]]
Conflict = tuple[str, str, str]  # key, field, event_id
VIEWS = ("resident_profile", "household", "community_situation", "alert")


def oracle_views(
    events: Iterable[Event],
    catalog: Catalog | None = None,
    alert_key: bytes = TEST_HMAC_KEY,
    epidemic: Epidemic | None = None,
) -> Views:
    """The rows every view shows once all ``events`` are merged, in whatever order.

    ``alert_key`` is the hub key alert ids are made with: a running hub's
    (``hub.settings.hmac_key``) to compare with it. ``epidemic``: a test window in hours
    and the time the views are read at (epoch milliseconds), or None when none is set.
    """
    ordered = facts(events, catalog)
    folded = fold(ordered)
    residents = registered(folded)
    households = household_rows(folded)
    alerts = with_tasks(alert_rows(households, residents, alert_key), ordered)
    fresh = freshness(ordered, households)
    return {
        "resident_profile": resident_rows(folded),
        "household": {key: (h.data, h.provenance) for key, h in households.items()},
        "community_situation": community_rows(
            folded, fresh, residents, households, alerts, epidemic=epidemic
        ),
        "alert": alerts,
    }


def oracle_conflicts(
    events: Iterable[Event], catalog: Catalog | None = None
) -> frozenset[Conflict]:
    """Every write refused because its department does not own the field, once per event."""
    folded = fold(facts(events, catalog))
    return frozenset((w.key, w.name, source.event_id) for w, source in folded.conflicts)


__all__ = [
    "VIEWS",
    "Conflict",
    "Epidemic",
    "Shown",
    "Views",
    "oracle_conflicts",
    "oracle_views",
]
