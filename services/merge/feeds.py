"""What each source event writes: its record turned into updates of the merged views.

A feed maps a decoded record to writes (view, key, values; None erases the row); besides
those, every event refreshes its department's freshness on the row of its subject. Who
owns the fields written is the views' business (``rules.py``), applied by ``merge.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.merge.alert_tasks import task_assigned, task_completed
from services.merge.merge import Provenance, Update
from services.merge.rules import (
    COMMUNITY_SITUATION,
    DELIVERY,
    FRESH,
    HOUSEHOLD,
    QUARANTINE,
    RENOVATION,
    RESIDENT_PROFILE,
    VIEWS,
    WATER,
)


def subject_views(view_key_fields: Mapping[str, str]) -> dict[str, str]:
    """A source event's key field -> the merged view whose row the event is about: the one
    its contract keys by that field. ``view_key_fields`` is ``Catalog.view_key_fields()``.

    Every event refreshes its department's freshness on that row (``updates_for``).
    """
    return {view_key_fields[name]: name for name in VIEWS}


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_millis(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime, exactly (no float rounding)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _millis(value: datetime | None) -> int | None:
    return None if value is None else to_millis(value)


def _json_value(value: Any) -> Any:
    """Store values as JSON-native types: dates as ISO strings."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


Write = tuple[str, str, Mapping[str, Any] | None]  # (view, key, values; None = erasure)
Feed = Callable[[Mapping[str, Any]], list[Write]]


def _person(fields: tuple[str, ...], **fixed: Any) -> Feed:
    def feed(r: Mapping[str, Any]) -> list[Write]:
        values = {f: _json_value(r[f]) for f in fields} | fixed
        return [(RESIDENT_PROFILE.name, r["person_key"], values)]

    return feed


def _quarantine_ordered(r: Mapping[str, Any]) -> list[Write]:
    order = {
        "kind": r["kind"],
        "dwelling_id": r["dwelling_id"],
        "starts_at": to_millis(r["starts_at"]),
        "planned_end_at": to_millis(r["planned_end_at"]),
    }
    return [(RESIDENT_PROFILE.name, r["person_key"], {f"{QUARANTINE}/{r['quarantine_id']}": order})]


def _quarantine_lifted(r: Mapping[str, Any]) -> list[Write]:
    return [(RESIDENT_PROFILE.name, r["person_key"], {f"{QUARANTINE}/{r['quarantine_id']}": None})]


def _dwelling_registered(r: Mapping[str, Any]) -> list[Write]:
    fields = (
        "community_code", "grid_id", "building", "unit", "room_number", "floor", "has_lift",
        "address", "rooms", "has_separate_bathroom",
    )  # fmt: skip
    values = {f: r[f] for f in fields} | {"registered": True}
    return [(HOUSEHOLD.name, r["dwelling_id"], values)]


def _delivery_requested(r: Mapping[str, Any]) -> list[Write]:
    request = {
        "for_quarantine": r["for_quarantine"],
        "requested_at": to_millis(r["event_time"]),
        "due_at": _millis(r["due_at"]),
    }
    return [(HOUSEHOLD.name, r["dwelling_id"], {f"{DELIVERY}/{r['delivery_id']}": request})]


def _delivery_fulfilled(r: Mapping[str, Any]) -> list[Write]:
    return [(HOUSEHOLD.name, r["dwelling_id"], {f"{DELIVERY}/{r['delivery_id']}": None})]


def _meter_reading(r: Mapping[str, Any]) -> list[Write]:
    if r["kind"] != "WATER":
        return []
    # Ordered by event_time (when the utility received it), as the contract says; read_at
    # is the meter's own clock, which drifts and is reset.
    received = to_millis(r["event_time"])
    reading = [float(r["value"]), received, received]
    return [(HOUSEHOLD.name, r["dwelling_id"], {f"{WATER}/{r['meter_id']}": reading})]


def _renovation(r: Mapping[str, Any]) -> list[Write]:
    progress = {"stage": r["stage"], "percent": r["percent"], "buildings": sorted(r["buildings"])}
    key = r["community_code"]
    return [(COMMUNITY_SITUATION.name, key, {f"{RENOVATION}/{r['project_id']}": progress})]


def _test_result(r: Mapping[str, Any]) -> list[Write]:
    # Ordered by event_time (the report): a corrected result reports the sample again later.
    # Its time is the sampling's when known: what "tested within 48 h" asks about.
    taken = r["sampled_at"] or r["event_time"]
    values = {"latest_test_result": r["result"], "latest_test_at": to_millis(taken)}
    return [(RESIDENT_PROFILE.name, r["person_key"], values)]


def _vaccination(r: Mapping[str, Any]) -> list[Write]:
    values = {
        "vaccination_doses": r["dose_number"],
        "last_vaccinated_at": to_millis(r["event_time"]),
    }
    return [(RESIDENT_PROFILE.name, r["person_key"], values)]


def _grid_report(r: Mapping[str, Any]) -> list[Write]:
    # A grid worker who finds a resident at a dwelling claims a field public security owns:
    # recorded as a conflict for the two offices to reconcile, never applied.
    if r["person_key"] and r["dwelling_id"]:
        return [(RESIDENT_PROFILE.name, r["person_key"], {"dwelling_id": r["dwelling_id"]})]
    return []


FEEDS: dict[str, Feed] = {
    "gov.public_security.ResidentRegistered": _person(
        (
            "community_code",
            "dwelling_id",
            "address",
            "household_no",
            "name_masked",
            "gender",
            "birth_date",
            "phone_masked",
        ),
        registered=True,
    ),
    "gov.public_security.ResidentMoved": _person(("community_code", "dwelling_id", "address")),
    "gov.public_security.ResidentDeregistered": lambda r: [
        (RESIDENT_PROFILE.name, r["person_key"], None)
    ],
    "gov.health.HealthStatusChanged": lambda r: [
        (RESIDENT_PROFILE.name, r["person_key"], {"health_status": r["status"]})
    ],
    "gov.health.TestResultReported": _test_result,
    "gov.health.VaccinationRecorded": _vaccination,
    "gov.health.QuarantineOrdered": _quarantine_ordered,
    "gov.health.QuarantineLifted": _quarantine_lifted,
    "gov.civil_affairs.CareNeedAssessed": _person(
        ("elderly_living_alone", "disability_grade", "subsistence_allowance")
    ),
    "gov.housing.DwellingRegistered": _dwelling_registered,
    "gov.housing.RenovationProgressReported": _renovation,
    "gov.commerce.DeliveryRequested": _delivery_requested,
    "gov.commerce.DeliveryFulfilled": _delivery_fulfilled,
    "gov.utilities.MeterReading": _meter_reading,
    "gov.grid.GridReportFiled": _grid_report,
    "gov.grid.TaskAssigned": task_assigned,
    "gov.grid.TaskCompleted": task_completed,
}


def updates_for(
    full_name: str,
    department: str,
    key_field: str,
    record: Mapping[str, Any],
    subjects: Mapping[str, str],
) -> list[Update]:
    """The updates one decoded source event makes.

    Besides what its feed writes, every event refreshes its department's freshness on the
    row of its subject (the person, dwelling or community it is keyed by): ``key_field`` is
    the event contract's key, ``subjects`` the view each key addresses (``subject_views``).
    """
    source = Provenance(department, str(record["event_id"]), to_millis(record["event_time"]))
    subject = (subjects[key_field], str(record[key_field]))
    freshness = {f"{FRESH}/{department}": source.event_time_ms}
    updates = []
    feed = FEEDS.get(full_name)
    for view, key, values in feed(record) if feed else []:
        if values is None:
            updates.append(Update(view, key, source, erase=True))
        elif (view, key) == subject and freshness:
            # One update of the subject's row: its fields and its freshness, applied together.
            updates.append(Update(view, key, source, {**values, **freshness}))
            freshness = {}
        else:
            updates.append(Update(view, key, source, values))
    if freshness:
        updates.append(Update(*subject, source, freshness))
    return updates
