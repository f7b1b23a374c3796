"""A community's public release: the figures residents see, from the views. Pure.

A release is made at a fixed instant (every ``DATONG_PUBLIC_RELEASE_HOURS``) and never
changes after: quarantined households and pending deliveries, per building and in all,
each group protected by ``public_release.protect`` against the release before it;
renovation projects with their stage and progress; notices of what changed since the
previous release; and, per figure, the release at which it last changed. Everything in it
is made from what is published, so nothing here says more than the protected counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.access.public_release import Released, Rules, protect

GROUPS = ("quarantined_households", "pending_deliveries")
# Kept with a stored release to check the next one against; never served.
PRIVATE = "_bounds"
NO_BUILDING = ""  # households whose building housing has not registered


@dataclass(frozen=True)
class Household:
    """What a release reads of one household row."""

    building: str | None
    quarantined: bool
    open_deliveries: int


def release_instant(now: datetime, hours: int) -> datetime:
    """The newest release instant at or before ``now``: a multiple of ``hours`` since 1970."""
    step = int(timedelta(hours=hours).total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)


def tallies(households: Sequence[Household]) -> dict[str, dict[str, int]]:
    """Each group's counts by building; every building with a household has a cell, 0 too,
    so the list of buildings says nothing about which of them have a quarantine."""
    found: dict[str, dict[str, int]] = {g: {} for g in GROUPS}
    for one in households:
        building = one.building or NO_BUILDING
        quarantined, deliveries = found["quarantined_households"], found["pending_deliveries"]
        quarantined[building] = quarantined.get(building, 0) + int(one.quarantined)
        deliveries[building] = deliveries.get(building, 0) + max(one.open_deliveries, 0)
    return found


def build_release(  # noqa: PLR0917 - one release's inputs, each its own kind
    community: str,
    at: datetime,
    hours: int,
    households: Sequence[Household],
    projects: Mapping[str, Mapping[str, Any]],
    previous: Mapping[str, Any] | None,
    rules: Rules,
) -> dict[str, Any]:
    """The release of ``community`` at ``at`` (stored as it is; ``public_view`` serves it)."""
    stamp = _iso(at)
    document: dict[str, Any] = {
        "community_code": community,
        "released_at": stamp,
        "next_release_at": _iso(at + timedelta(hours=hours)),
        "min_count": rules.min_count,
        "rounding_base": rules.base,
    }
    bounds: dict[str, Any] = {}
    notices: list[dict[str, Any]] = []
    for group, cells in tallies(households).items():
        before = (previous or {}).get(group)
        earlier = _released(before, (previous or {}).get(PRIVATE, {}).get(group))
        released = protect(cells, rules, earlier)
        shown = {"total": released.total, "by_building": dict(sorted(released.cells.items()))}
        document[group] = {**shown, "changed_at": _changed_at(before, shown, stamp)}
        bounds[group] = {c: list(b) for c, b in released.bounds.items()}
        if before is not None and before.get("total") != released.total:
            notices.append({"figure": group, "from": before.get("total"), "to": released.total})
    document["renovation_projects"] = _projects(projects, previous, stamp, notices)
    document["notices"] = notices
    document[PRIVATE] = bounds
    return document


def public_view(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored release as it is served: without what only the next release may read."""
    return {k: v for k, v in stored.items() if k != PRIVATE}


def _released(before: Mapping[str, Any] | None, bounds: Mapping[str, Any] | None) -> Released:
    if before is None:
        return Released({}, None)
    return Released(
        dict(before.get("by_building", {})),
        before.get("total"),
        {
            c: (int(low), None if high is None else int(high))
            for c, (low, high) in (bounds or {}).items()
        },
    )


def _changed_at(before: Mapping[str, Any] | None, shown: Mapping[str, Any], stamp: str) -> str:
    if before is not None and all(before.get(k) == v for k, v in shown.items()):
        return str(before["changed_at"])
    return stamp


def _projects(
    projects: Mapping[str, Mapping[str, Any]],
    previous: Mapping[str, Any] | None,
    stamp: str,
    notices: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    earlier = {p["project_id"]: p for p in (previous or {}).get("renovation_projects", [])}
    found = []
    for project_id, progress in sorted(projects.items()):
        shown = {
            "project_id": project_id,
            "stage": progress.get("stage"),
            "percent": progress.get("percent"),
            "buildings": sorted(progress.get("buildings") or []),
        }
        before = earlier.get(project_id)
        if previous is not None and (before is None or before["stage"] != shown["stage"]):
            notices.append(
                {
                    "figure": "renovation_stage",
                    "project_id": project_id,
                    "from": before["stage"] if before else None,
                    "to": shown["stage"],
                }
            )
        found.append({**shown, "changed_at": _changed_at(before, shown, stamp)})
    return found


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
