"""household: each dwelling with the residents living there, from the final folded state.

A household is shown once housing registered the dwelling or a registered resident lives
there. Its residents, the quarantine orders served there (the order's dwelling, or the
resident's own for a HOME order), its open deliveries, renovation and water use are all
recomputed from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.oracle.fold import Fields, Folded, Meter
from tests.support.oracle.residents import open_orders, provenance, registered, value
from tests.support.oracle.writes import COMMUNITY, DWELLING, DWELLING_FIELDS


@dataclass(frozen=True)
class Hosted:
    """An open quarantine order served in a dwelling."""

    person_key: str
    order: dict[str, Any]
    source: list[Any]


@dataclass(frozen=True)
class Household:
    """A shown household: its record, and what the alert rules look at."""

    key: str
    data: dict[str, Any]
    provenance: dict[str, list[Any]]
    members: dict[str, Fields]
    hosted: dict[str, Hosted]
    deliveries: dict[str, tuple[dict[str, Any], list[Any]]]


ORDER_FIELDS = ("kind", "starts_at", "planned_end_at")
WATER_FIELDS = ("last_water_reading", "last_water_reading_at", "last_water_activity_at")


def newest(sources: list[list[Any]]) -> list[Any] | None:
    """The provenance with the highest version (event_time, then event_id)."""
    return max(sources, key=lambda s: (s[2], s[1])) if sources else None


def household_rows(folded: Folded) -> dict[str, Household]:
    """Every shown household."""
    residents = registered(folded)
    members: dict[str, dict[str, Fields]] = {}
    hosted: dict[str, dict[str, Hosted]] = {}
    for person, fields in sorted(residents.items()):
        home = value(fields, "dwelling_id")
        if home:
            members.setdefault(home, {})[person] = fields
        for quarantine_id, (order, source) in open_orders(fields).items():
            # Only a HOME order is served in a dwelling; a CENTRALIZED one (whose dwelling_id
            # the contract says is null) is served at its facility.
            served = (order["dwelling_id"] or home) if order["kind"] == "HOME" else None
            if served:
                hosted.setdefault(served, {})[quarantine_id] = Hosted(person, order, source)
    dwellings = folded.subjects[DWELLING]
    shown = {k for k, fields in dwellings.items() if value(fields, "registered")} | set(members)
    return {
        key: _household(
            folded, key, dwellings.get(key, {}), members.get(key, {}), hosted.get(key, {})
        )
        for key in sorted(shown)
    }


def _household(
    folded: Folded, key: str, fields: Fields, members: dict[str, Fields], hosted: dict[str, Hosted]
) -> Household:
    data: dict[str, Any] = {name: value(fields, name) for name in DWELLING_FIELDS}
    sources = {name: provenance(fields, name) for name in DWELLING_FIELDS}
    if data["community_code"] is None:  # not registered by housing: where its residents are
        communities = sorted(c for m in members.values() if (c := value(m, "community_code")))
        data["community_code"] = communities[0] if communities else None
    count = len(members)
    # One resident (or none: nobody to isolate from), or two rooms and a separate bathroom.
    rooms, bathroom = data["rooms"], data["has_separate_bathroom"]
    suitable = (
        None if rooms is None or bathroom is None else count <= 1 or (rooms >= 2 and bathroom)
    )
    quarantines = {
        qid: {"person_key": h.person_key, **{k: h.order[k] for k in ORDER_FIELDS}}
        for qid, h in sorted(hosted.items())
    }
    deliveries = _entries(fields, "delivery/")
    # The Household contract: "at least one open HOME quarantine order" isolates the household.
    data |= {
        "isolation_suitable": suitable,
        "resident_person_keys": sorted(members),
        "resident_count": count,
        "quarantined": any(q["kind"] == "HOME" for q in quarantines.values()),
        "quarantine_planned_end_at": max(
            (q["planned_end_at"] for q in quarantines.values()), default=None
        ),
        "quarantines": quarantines,
        "open_delivery_count": len(deliveries),
        "open_deliveries": {d: request["requested_at"] for d, (request, _) in deliveries.items()},
    }
    sources["quarantines"] = newest([h.source for h in hosted.values()])
    sources["open_deliveries"] = newest([source for _, source in deliveries.values()])
    data |= _renovation(folded, data["community_code"], data["building"], sources)
    data |= _water(fields, sources)
    kept = {name: p for name, p in sources.items() if p is not None and data[name] is not None}
    return Household(key, data, kept, members, hosted, deliveries)


def _entries(fields: Fields, prefix: str) -> dict[str, tuple[Any, list[Any]]]:
    """The live entries of a family, by id, with their provenance."""
    return {
        name[len(prefix) :]: (held.value, held.source.stored())
        for name, held in sorted(fields.items())
        if name.startswith(prefix) and held.value is not None
    }


def _renovation(
    folded: Folded, community: str | None, building: str | None, sources: dict[str, Any]
) -> dict[str, Any]:
    """The latest reported project covering the building (no buildings: the whole community)."""
    projects = _entries(folded.subjects[COMMUNITY].get(community or "", {}), "renovation/")
    covering = [
        (source, pid, progress)
        for pid, (progress, source) in projects.items()
        if not progress["buildings"] or building in progress["buildings"]
    ]
    if not covering:
        return {"renovation_project_id": None, "renovation_stage": None, "renovation_percent": None}
    source, pid, progress = max(covering, key=lambda c: (c[0][2], c[0][1], c[1]))
    for name in ("renovation_project_id", "renovation_stage", "renovation_percent"):
        sources[name] = source
    return {
        "renovation_project_id": pid,
        "renovation_stage": progress["stage"],
        "renovation_percent": progress["percent"],
    }


def _water(fields: Fields, sources: dict[str, Any]) -> dict[str, Any]:
    """The latest reading (of the meter read last) and the last time any meter went up."""
    meters: dict[str, tuple[Meter, list[Any]]] = _entries(fields, "water/")
    if not meters:
        return dict.fromkeys(WATER_FIELDS)
    latest = max(meters, key=lambda m: (meters[m][0].read_at, m))
    used = max(meters, key=lambda m: (meters[m][0].used_at, m))
    sources["last_water_reading"] = sources["last_water_reading_at"] = meters[latest][1]
    sources["last_water_activity_at"] = meters[used][1]
    return {
        "last_water_reading": meters[latest][0].value,
        "last_water_reading_at": meters[latest][0].read_at,
        "last_water_activity_at": meters[used][0].used_at,
    }
