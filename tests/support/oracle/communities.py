"""community_situation: every figure recounted from the final rows, never from deltas.

A community is shown while some count is non-zero or it has renovation projects. Its
``department_freshness[d]`` is the newest event_time of an event from department d whose
subject, in the final state, is a resident last registered in the community (the community
of the newest registration or move, deregistered or not), a dwelling whose shown household
is in the community, or the community itself.

With an epidemic's test window (``Epidemic``: hours, and the time the rows are read at),
``residents_without_negative_test`` counts the community's residents whose latest test is not
NEGATIVE, or was sampled in an hour that began ``hours`` hours or more before that time; it
is null without one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from tests.support.oracle.facts import Fact
from tests.support.oracle.fold import Fields, Folded
from tests.support.oracle.households import Household, newest
from tests.support.oracle.residents import Shown, value
from tests.support.oracle.writes import COMMUNITY, SUBJECTS

COUNTS = ("residents", "households", "elderly_living_alone", "disabled_residents",
          "quarantined_households", "pending_deliveries",
          "elderly_alone_unvaccinated")  # fmt: skip
HOUR_MS = 3_600_000
Epidemic = tuple[int, int]  # window hours, the time in epoch milliseconds


def _negative_within(fields: Fields, epidemic: Epidemic) -> bool:
    hours, now_ms = epidemic
    taken = value(fields, "latest_test_at")
    if value(fields, "latest_test_result") != "NEGATIVE" or taken is None:
        return False
    hour_began = taken - taken % HOUR_MS
    return bool(now_ms - hour_began < hours * HOUR_MS)


def _tally(
    residents: dict[str, Fields],
    households: dict[str, Household],
    alerts: dict[str, Shown],
    epidemic: Epidemic | None,
) -> dict[str, Counter[str]]:
    tally: dict[str, Counter[str]] = {}
    for fields in residents.values():
        figures = tally.setdefault(value(fields, "community_code"), Counter())
        figures["residents"] += 1
        alone = bool(value(fields, "elderly_living_alone"))
        figures["elderly_living_alone"] += alone
        figures["elderly_alone_unvaccinated"] += alone and not value(fields, "vaccination_doses")
        if epidemic is not None:
            figures["without_negative_test"] += not _negative_within(fields, epidemic)
        figures["disabled_residents"] += value(fields, "disability_grade") not in (None, "NONE")
        if value(fields, "health_status"):
            figures[f"health/{value(fields, 'health_status')}"] += 1
    for h in households.values():
        if h.data["community_code"]:
            figures = tally.setdefault(h.data["community_code"], Counter())
            figures["households"] += h.data["resident_count"] > 0
            figures["quarantined_households"] += h.data["quarantined"]
            figures["pending_deliveries"] += h.data["open_delivery_count"]
    for data, _ in alerts.values():
        # Open alerts only: one a visit closed is shown, closed, and no longer counted.
        if data["community_code"] and data["status"] == "OPEN":
            tally.setdefault(data["community_code"], Counter())[f"alerts/{data['alert_type']}"] += 1
    return tally


def last_registered(facts: Iterable[Fact]) -> dict[str, str]:
    """Each person's community in the newest registration or move that names one."""
    found: dict[str, str] = {}
    for fact in facts:  # oldest first: the newest wins
        if fact.name in _PLACING and fact.record.get("community_code"):
            found[fact.key] = str(fact.record["community_code"])
    return found


_PLACING = ("gov.public_security.ResidentRegistered", "gov.public_security.ResidentMoved")


def freshness(facts: list[Fact], households: dict[str, Household]) -> dict[str, dict[str, int]]:
    """Newest event_time per community and department, by where each subject ends up."""
    where = {
        "person": last_registered(facts),
        "dwelling": {k: h.data["community_code"] for k, h in households.items()},
    }
    found: dict[str, dict[str, int]] = {}
    for fact in facts:
        kind = SUBJECTS[fact.subject]
        community = fact.key if kind == COMMUNITY else where[kind].get(fact.key)
        if community:
            newest_of = found.setdefault(community, {})
            department = fact.source.department
            newest_of[department] = max(newest_of.get(department, 0), fact.source.time_ms)
    return found


def community_rows(
    folded: Folded,
    fresh: dict[str, dict[str, int]],
    residents: dict[str, Fields],
    households: dict[str, Household],
    alerts: dict[str, Shown],
    *,
    epidemic: Epidemic | None = None,
) -> dict[str, Shown]:
    """Every shown community_situation row."""
    tally = _tally(residents, households, alerts, epidemic)
    projected = {
        key: {n.split("/", 1)[1]: held for n, held in fields.items() if n.startswith("renovation/")}
        for key, fields in folded.subjects[COMMUNITY].items()
    }
    rows: dict[str, Shown] = {}
    for key in sorted(set(tally) | set(projected)):
        figures = tally.get(key, Counter())
        projects = {pid: held for pid, held in sorted(projected.get(key, {}).items()) if held.value}
        if not any(figures.values()) and not projects:
            continue
        data: dict[str, Any] = {name: figures[name] for name in COUNTS}
        without = figures["without_negative_test"] if epidemic is not None else None
        data["residents_without_negative_test"] = without
        data["health_status_counts"] = _prefixed(figures, "health/")
        data["open_alerts"] = _prefixed(figures, "alerts/")
        data["renovation_projects"] = {pid: held.value for pid, held in projects.items()}
        data["department_freshness"] = dict(sorted(fresh.get(key, {}).items()))
        source = newest([held.source.stored() for held in projects.values()])
        rows[key] = (data, {"renovation_projects": source} if source else {})
    return rows


def _prefixed(figures: Counter[str], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: n for k, n in sorted(figures.items()) if k.startswith(prefix) and n}
