"""View records rendered from merge state: what the view store and the view topics hold.

A record holds the view contract's fields as JSON-native values (timestamps in epoch
milliseconds, dates as ISO strings) and, apart, its provenance: field -> [department,
event_id, event_time_ms]. Merge state (versions of cleared fields, derived entries,
counters) never reaches a record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any

from schemas.catalog import Contract
from services.merge.derive import family, provenance_of, resident_visible, water
from services.merge.epidemic import EpidemicWindow, without_negative_test
from services.merge.merge import RowState
from services.merge.rules import (
    COUNT,
    DELIVERY,
    HOSTED,
    LATEST,
    MEMBER,
    RENOVATION,
    RESIDENT_PROFILE,
)

Provenances = dict[str, list[Any]]
RESIDENT_FIELDS = [
    n for n in RESIDENT_PROFILE.owners if "/" not in n and n not in RESIDENT_PROFILE.hidden
]
HOUSING_FIELDS = [
    "community_code", "grid_id", "building", "unit", "room_number", "floor", "has_lift",
    "address", "rooms", "has_separate_bathroom",
]  # fmt: skip
_COUNTS = (
    "residents", "households", "elderly_living_alone", "disabled_residents",
    "quarantined_households", "pending_deliveries", "elderly_alone_unvaccinated",
)  # fmt: skip


def _sourced(row: RowState, names: list[str]) -> Provenances:
    """The provenance of each of ``names`` that holds a value."""
    values, provenance = row.values, row.provenance
    found: Provenances = {}
    for name in names:
        if values.get(name) is not None and (p := provenance.get(name)) is not None:
            found[name] = [p.department, p.event_id, p.event_time_ms]
    return found


def _newest(sources: list[list[Any] | None]) -> list[Any] | None:
    present = [s for s in sources if s]
    return max(present, key=lambda s: (s[2], s[1])) if present else None


def resident_record(row: RowState) -> tuple[dict[str, Any], Provenances] | None:
    """The resident_profile record of a row, or None while it is not shown."""
    if not resident_visible(row):
        return None
    fields = {n: row.values.get(n) for n in RESIDENT_FIELDS}
    return fields, _sourced(row, RESIDENT_FIELDS)


def household_record(
    row: RowState, projects: Mapping[str, tuple[dict[str, Any], list[Any] | None]]
) -> tuple[dict[str, Any], Provenances] | None:
    """The household record of a dwelling, given its community's renovation projects."""
    members = family(row, MEMBER)
    if not row.values.get("registered") and not members:
        return None
    fields: dict[str, Any] = {n: row.values.get(n) for n in HOUSING_FIELDS}
    provenance = _sourced(row, HOUSING_FIELDS)
    if fields["community_code"] is None:
        communities = sorted(m["community_code"] for m in members.values() if m["community_code"])
        fields["community_code"] = communities[0] if communities else None
    count = len(members)
    if fields["rooms"] is None or fields["has_separate_bathroom"] is None:
        suitable = None
    else:
        suitable = count <= 1 or (fields["rooms"] >= 2 and fields["has_separate_bathroom"])
    hosted = family(row, HOSTED)
    quarantines = {
        qid: {k: order[k] for k in ("person_key", "kind", "starts_at", "planned_end_at")}
        for qid, order in sorted(hosted.items())
    }
    deliveries = family(row, DELIVERY)
    water_fields, water_provenance = _water_part(row)
    renovation = _renovation_of(fields.get("building"), projects)
    fields.update(
        isolation_suitable=suitable,
        resident_person_keys=sorted(members),
        resident_count=count,
        quarantined=bool(quarantines),
        quarantine_planned_end_at=max(
            (q["planned_end_at"] for q in quarantines.values()), default=None
        ),
        quarantines=quarantines,
        open_delivery_count=len(deliveries),
        open_deliveries={d: r["requested_at"] for d, r in sorted(deliveries.items())},
        renovation_project_id=renovation[0] if renovation else None,
        renovation_stage=renovation[1]["stage"] if renovation else None,
        renovation_percent=renovation[1]["percent"] if renovation else None,
        **water_fields,
    )
    derived: dict[str, list[Any] | None] = {
        "quarantines": _newest([o["source"] for o in hosted.values()]),
        "open_deliveries": _newest([provenance_of(row, f"{DELIVERY}/{d}") for d in deliveries]),
    }
    if renovation:
        derived["renovation_project_id"] = renovation[2]
        derived["renovation_stage"] = renovation[2]
        derived["renovation_percent"] = renovation[2]
    provenance.update({k: v for k, v in derived.items() if v and fields.get(k) is not None})
    provenance.update(water_provenance)
    return fields, provenance


_WATER_FIELDS = ("last_water_reading", "last_water_reading_at", "last_water_activity_at")


def _water_part(row: RowState) -> tuple[dict[str, Any], Provenances]:
    """The household fields its water readings make, and their provenance."""
    value, read_at, used_at, read_source, used_source = water(row)
    fields = dict(zip(_WATER_FIELDS, (value, read_at, used_at), strict=True))
    sources = dict(zip(_WATER_FIELDS, (read_source, read_source, used_source), strict=True))
    found: Provenances = {}
    for name, value in fields.items():
        source = sources[name]
        if source and value is not None:
            found[name] = source
    return fields, found


def with_water(
    shown: tuple[dict[str, Any], Provenances], row: RowState
) -> tuple[dict[str, Any], Provenances]:
    """A shown household record after only its water readings changed: the same as
    ``household_record`` of ``row``, without rendering the parts that cannot have changed."""
    fields, provenance = shown
    water_fields, water_provenance = _water_part(row)
    kept = {k: v for k, v in provenance.items() if k not in water_fields}
    return {**fields, **water_fields}, kept | water_provenance


def _renovation_of(
    building: str | None, projects: Mapping[str, tuple[dict[str, Any], list[Any] | None]]
) -> tuple[str, dict[str, Any], list[Any] | None] | None:
    """The most recently reported project covering a building (no buildings = all of them)."""
    covering = [
        (pid, progress, source)
        for pid, (progress, source) in projects.items()
        if not progress["buildings"] or (building is not None and building in progress["buildings"])
    ]
    if not covering:
        return None
    return max(covering, key=lambda p: ((p[2] or [0, "", 0])[2], (p[2] or [0, ""])[1], p[0]))


def renovation_projects(row: RowState | None) -> dict[str, tuple[dict[str, Any], list[Any] | None]]:
    """A community's renovation projects with the provenance of each one's latest report."""
    if row is None:
        return {}
    return {
        pid: (progress, provenance_of(row, f"{RENOVATION}/{pid}"))
        for pid, progress in family(row, RENOVATION).items()
    }


def community_record(
    row: RowState, window: EpidemicWindow | None = None
) -> tuple[dict[str, Any], Provenances] | None:
    """The community_situation record of a community, or None while nothing is known of it;
    with an epidemic's ``window``, rendered at its time (the count without a recent negative
    test is null without one)."""
    counts = Counter({k: int(v) for k, v in family(row, COUNT).items()})
    projects = renovation_projects(row)
    if not any(counts.values()) and not projects:
        return None
    fields: dict[str, Any] = {name: counts[name] for name in _COUNTS}
    fields["residents_without_negative_test"] = (
        None if window is None else without_negative_test(counts, window)
    )
    fields["health_status_counts"] = _by_prefix(counts, "health/")
    fields["open_alerts"] = _by_prefix(counts, "alerts/")
    fields["renovation_projects"] = {pid: p for pid, (p, _) in sorted(projects.items())}
    fields["department_freshness"] = dict(sorted(_latest(row).items()))
    provenance: Provenances = {}
    newest = _newest([source for _, source in projects.values()])
    if newest:
        provenance["renovation_projects"] = newest
    return fields, provenance


def _latest(row: RowState) -> dict[str, int]:
    return {name: int(value) for name, value in family(row, LATEST).items()}


def _by_prefix(counts: Counter[str], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: n for k, n in sorted(counts.items()) if k.startswith(prefix) and n}


_DATE_FIELDS = {RESIDENT_PROFILE.name: frozenset(RESIDENT_PROFILE.date_fields)}


def avro_record(
    contract: Contract, key: str, data: Mapping[str, Any], provenance: Mapping[str, Any]
) -> dict[str, Any]:
    """The record to encode with the view ``contract``: the key under its key field, dates
    as ``date``; times stay epoch milliseconds, which fastavro writes as timestamp-millis
    as they are."""
    record: dict[str, Any] = {contract.key_field: key, **data}
    for name in _DATE_FIELDS.get(str(contract.view), ()):
        if record.get(name) is not None:
            record[name] = date.fromisoformat(record[name])
    record["provenance"] = {
        k: {"department": d, "event_id": e, "event_time": t} for k, (d, e, t) in provenance.items()
    }
    return record
