"""What the views must show once every delivered event is merged exactly once: the oracle's
answer (``tests.support.oracle``, which shares no code with the merge), and the account of a
stored store's differences from it for a failing test.

Every field of every shown row of the four views is compared, with its provenance. None is
left out: no view field depends on the wall clock (the hourly situation snapshots, which do,
are a table of their own, and ``department_freshness`` is made of event times).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from connectors.base import Event
from tests.support.oracle import Conflict, Views, oracle_conflicts, oracle_views
from tests.support.oracle.compare import differences
from tests.support.stored_views import stored_views


@dataclass(frozen=True)
class Expected:
    """The four views' shown rows, and the conflicts, that the delivered events must make."""

    views: Views
    conflicts: frozenset[Conflict]

    def rows(self) -> int:
        """How many rows the views show, over all four."""
        return sum(len(rows) for rows in self.views.values())


def expected_of(events: Iterable[Event]) -> Expected:
    """The oracle's views and conflicts for the delivered events (repeats change nothing)."""
    delivered = list(events)
    return Expected(oracle_views(delivered), oracle_conflicts(delivered))


def stored_differences(database_url: str, expected: Expected) -> list[str]:
    """Every (view, key, field) where the store differs from the oracle, with both values."""
    return differences(expected.views, stored_views(database_url))


def account(found: list[str], limit: int = 8) -> str:
    """The first few differences and how many there are, for a failure message."""
    shown = "\n".join(f"  {line}" for line in found[:limit])
    more = f"\n  ... and {len(found) - limit} more" if len(found) > limit else ""
    return f"{len(found)} differences from the oracle:\n{shown}{more}"
