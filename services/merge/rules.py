"""The views' merge state: which department owns each field, and which events write what.

Three views are merged from events: ``resident_profile`` (by person), ``household`` (by
dwelling) and ``community_situation`` (by community). Their rows hold merge state; the view
records readers get are rendered from it (``records.py``), together with what is derived
across rows (``derive.py``) and the alerts (``alerts.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.merge.merge import ANY_DEPARTMENT, Ownership, Provenance, Update

PUBLIC_SECURITY = "public-security"
HEALTH = "health"
CIVIL_AFFAIRS = "civil-affairs"
HOUSING = "housing"
COMMERCE = "commerce"
UTILITIES = "utilities"
GRID = "grid"

# Hidden merge-state families (never part of a view record).
FRESH = "fresh"  # fresh/<department>: newest event_time seen from that department
QUARANTINE = "quarantine"  # on a resident: quarantine/<id> -> open order, None once lifted
DELIVERY = "delivery"  # on a household: delivery/<id> -> open request, None once fulfilled
WATER = "water"  # on a household: water/<meter_id> -> [highest value, first seen at, last read at]
RENOVATION = "renovation"  # on a community: renovation/<project_id> -> latest progress
MEMBER = "member"  # on a household, derived: member/<person_key> -> what the household needs
HOSTED = "hosted"  # on a household, derived: hosted/<quarantine_id> -> an order served here
COUNT = "count"  # on a community, derived: count/<figure> -> a count kept by deltas
# On a community, derived: latest/<department> -> newest event time over the rows in it.
LATEST = "latest"


@dataclass(frozen=True)
class ViewSpec:
    """A merged view: the owner of each field, and its rendered fields. Its key field is
    its contract's (``datong.key``): the merge never states one of its own."""

    name: str
    ownership: Ownership
    hidden: frozenset[str] = frozenset()  # named merge-state fields left out of the record
    date_fields: frozenset[str] = frozenset()  # stored as ISO strings, Avro `date` on the wire

    @property
    def owners(self) -> Mapping[str, str]:
        """Field (or ``family/*``) -> owning department."""
        return self.ownership.owners


def newest(old: Any, new: Any) -> Any:
    """The lattice of a department's freshness: the newest event time."""
    return max(old, new)


def meter(old: list[Any], new: list[Any]) -> list[Any]:
    """Combine water readings [value, first_at, last_at] into the highest register value,
    the earliest time it was seen at, and the latest reading time.

    Registers only go up, so "when the current highest value was first read" is the last
    time water was used, whatever order the readings arrive in.
    """
    value, first, last = old
    new_value, new_first, new_last = new
    if new_value > value:
        value, first = new_value, new_first
    elif new_value == value:
        first = min(first, new_first)
    return [value, first, max(last, new_last)]


_FRESHNESS = {f"{FRESH}/*": ANY_DEPARTMENT}

RESIDENT_PROFILE = ViewSpec(
    name="resident_profile",
    ownership=Ownership(
        {
            # "registered" is the lifecycle flag: a row is shown only while it is true.
            "registered": PUBLIC_SECURITY,
            # The community a resident was last registered in, following community_code's
            # newest value; an erasure keeps it (a code, not personal data) so that the
            # resident's events stay credited to that community's freshness, whatever order
            # they arrive in.
            "last_community": PUBLIC_SECURITY,
            # When the resident was last erased: no entry older than that comes back.
            "erased": PUBLIC_SECURITY,
            "community_code": PUBLIC_SECURITY,
            "dwelling_id": PUBLIC_SECURITY,
            "address": PUBLIC_SECURITY,
            "household_no": PUBLIC_SECURITY,
            "name_masked": PUBLIC_SECURITY,
            "gender": PUBLIC_SECURITY,
            "birth_date": PUBLIC_SECURITY,
            "phone_masked": PUBLIC_SECURITY,
            "health_status": HEALTH,
            # The latest test and vaccination, each pair written together by one event, so
            # the newest event's result and time stay together.
            "latest_test_result": HEALTH,
            "latest_test_at": HEALTH,
            "vaccination_doses": HEALTH,
            "last_vaccinated_at": HEALTH,
            "elderly_living_alone": CIVIL_AFFAIRS,
            "disability_grade": CIVIL_AFFAIRS,
            "subsistence_allowance": CIVIL_AFFAIRS,
            f"{QUARANTINE}/*": HEALTH,
            **_FRESHNESS,
        },
        {f"{FRESH}/*": newest},
        kept=frozenset({"last_community", "erased"}),
        mirrors={"community_code": "last_community"},
        erased="erased",
    ),
    hidden=frozenset({"registered", "last_community", "erased"}),
    date_fields=frozenset({"birth_date"}),
)

HOUSEHOLD = ViewSpec(
    name="household",
    ownership=Ownership(
        {
            "registered": HOUSING,
            "community_code": HOUSING,
            "grid_id": HOUSING,
            "building": HOUSING,
            "unit": HOUSING,
            "room_number": HOUSING,
            "floor": HOUSING,
            "has_lift": HOUSING,
            "address": HOUSING,
            "rooms": HOUSING,
            "has_separate_bathroom": HOUSING,
            f"{DELIVERY}/*": COMMERCE,
            f"{WATER}/*": UTILITIES,
            **_FRESHNESS,
        },
        {f"{FRESH}/*": newest, f"{WATER}/*": meter},
    ),
    hidden=frozenset({"registered"}),
)

COMMUNITY_SITUATION = ViewSpec(
    name="community_situation",
    ownership=Ownership(
        {f"{RENOVATION}/*": HOUSING, **_FRESHNESS},
        {f"{FRESH}/*": newest},
    ),
)

ALERT_VIEW = "alert"

VIEWS: dict[str, ViewSpec] = {
    spec.name: spec for spec in (RESIDENT_PROFILE, HOUSEHOLD, COMMUNITY_SITUATION)
}


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
