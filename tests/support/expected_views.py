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
from tests.support.oracle.compare import account, differences
from tests.support.stored_views import stored_views


@dataclass(frozen=True)
class Expected:
    """The four views' shown rows, and the conflicts, that the delivered events must make."""

    views: Views
    conflicts: frozenset[Conflict]

    def rows(self) -> int:
        """How many rows the views show, over all four."""
        return sum(len(rows) for rows in self.views.values())


def expected_of(events: Iterable[Event], alert_key: bytes) -> Expected:
    """The oracle's views and conflicts for the delivered events (repeats change nothing),
    with alert ids made under ``alert_key``: the hub's (``hub.settings.hmac_key``)."""
    delivered = list(events)
    return Expected(oracle_views(delivered, alert_key=alert_key), oracle_conflicts(delivered))


def stored_differences(database_url: str, expected: Expected) -> list[str]:
    """Every (view, key, field) where the store differs from the oracle, with both values."""
    check = MatchesOracle(database_url, expected.views)
    check()
    return check.found


class MatchesOracle:
    """A predicate for ``wait_for``: the store shows the oracle's views; after a timeout,
    ``account()`` says how it last differed."""

    def __init__(self, database_url: str, expected: Views) -> None:
        self._database_url = database_url
        self._expected = expected
        self.found: list[str] = []

    def __call__(self) -> bool:
        self.found = differences(self._expected, stored_views(self._database_url))
        return not self.found

    def account(self) -> str:
        """The first few differences of the last look."""
        return account(self.found)
