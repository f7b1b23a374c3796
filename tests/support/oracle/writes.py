"""What each source event writes, and which department owns each field (the README's table).

Three kinds of subject hold fields: a person (resident_profile), a dwelling (household) and
a community (community_situation). Families of entries are fields of their own, named
``family/<id>``: a quarantine order on a person, a delivery or a water meter on a dwelling,
a renovation project on a community.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.support.oracle.facts import Fact, json_value

PERSON = "person"
DWELLING = "dwelling"
COMMUNITY = "community"

PUBLIC_SECURITY = "public-security"
HEALTH = "health"
CIVIL_AFFAIRS = "civil-affairs"
HOUSING = "housing"
COMMERCE = "commerce"
UTILITIES = "utilities"

REGISTRATION = ("community_code", "dwelling_id", "address", "household_no", "name_masked",
                "gender", "birth_date", "phone_masked")  # fmt: skip
MOVE = ("community_code", "dwelling_id", "address")
ASSESSMENT = ("elderly_living_alone", "disability_grade", "subsistence_allowance")
TESTED = ("latest_test_result", "latest_test_at")
VACCINATED = ("vaccination_doses", "last_vaccinated_at")
DWELLING_FIELDS = ("community_code", "grid_id", "building", "unit", "room_number", "floor",
                   "has_lift", "address", "rooms", "has_separate_bathroom")  # fmt: skip

# "registered" is whether the registry (person) or the housing register (dwelling) has the
# subject: a person is shown only while it holds True.
OWNERS: dict[str, dict[str, str]] = {
    PERSON: {
        "registered": PUBLIC_SECURITY,
        **dict.fromkeys(REGISTRATION, PUBLIC_SECURITY),
        "health_status": HEALTH,
        **dict.fromkeys((*TESTED, *VACCINATED), HEALTH),
        **dict.fromkeys(ASSESSMENT, CIVIL_AFFAIRS),
        "quarantine": HEALTH,
    },
    DWELLING: {
        "registered": HOUSING,
        **dict.fromkeys(DWELLING_FIELDS, HOUSING),
        "delivery": COMMERCE,
        "water": UTILITIES,
    },
    COMMUNITY: {"renovation": HOUSING},
}
SUBJECTS = {"person_key": PERSON, "dwelling_id": DWELLING, "community_code": COMMUNITY}


def owner(subject: str, name: str) -> str:
    """The department owning a field, or a ``family/<id>`` entry through its family."""
    return OWNERS[subject][name.split("/", 1)[0]]


def is_water(name: str) -> bool:
    """Water meters merge as a lattice, not by version."""
    return name.startswith("water/")


@dataclass(frozen=True)
class Write:
    """One field of one subject set by an event (``None`` clears an entry)."""

    subject: str
    key: str
    name: str
    value: Any


def _fields(subject: str, names: tuple[str, ...], **extra: Any) -> Callable[[Fact], list[Write]]:
    def writes(fact: Fact) -> list[Write]:
        values = {n: json_value(fact.record[n]) for n in names} | extra
        return [Write(subject, fact.key, n, v) for n, v in values.items()]

    return writes


def _quarantine_ordered(fact: Fact) -> list[Write]:
    r = fact.record
    order = {
        "kind": r["kind"],
        "dwelling_id": r["dwelling_id"],
        "starts_at": json_value(r["starts_at"]),
        "planned_end_at": json_value(r["planned_end_at"]),
    }
    return [Write(PERSON, fact.key, f"quarantine/{r['quarantine_id']}", order)]


def _quarantine_lifted(fact: Fact) -> list[Write]:
    return [Write(PERSON, fact.key, f"quarantine/{fact.record['quarantine_id']}", None)]


def _delivery_requested(fact: Fact) -> list[Write]:
    r = fact.record
    request = {"requested_at": fact.source.time_ms, "due_at": json_value(r["due_at"])}
    return [Write(DWELLING, fact.key, f"delivery/{r['delivery_id']}", request)]


def _delivery_fulfilled(fact: Fact) -> list[Write]:
    return [Write(DWELLING, fact.key, f"delivery/{fact.record['delivery_id']}", None)]


def _meter_reading(fact: Fact) -> list[Write]:
    r = fact.record
    if r["kind"] != "WATER":
        return []  # electricity only counts for freshness
    return [Write(DWELLING, fact.key, f"water/{r['meter_id']}", float(r["value"]))]


def _renovation(fact: Fact) -> list[Write]:
    r = fact.record
    progress = {"stage": r["stage"], "percent": r["percent"], "buildings": sorted(r["buildings"])}
    return [Write(COMMUNITY, fact.key, f"renovation/{r['project_id']}", progress)]


def _test_result(fact: Fact) -> list[Write]:
    # The README's rule: the latest report wins; its time is when the sample was taken,
    # or the report's own time when that is unknown.
    r = fact.record
    taken = json_value(r["sampled_at"]) if r["sampled_at"] is not None else fact.source.time_ms
    return [
        Write(PERSON, fact.key, "latest_test_result", r["result"]),
        Write(PERSON, fact.key, "latest_test_at", taken),
    ]


def _vaccination(fact: Fact) -> list[Write]:
    return [
        Write(PERSON, fact.key, "vaccination_doses", fact.record["dose_number"]),
        Write(PERSON, fact.key, "last_vaccinated_at", fact.source.time_ms),
    ]


def _grid_report(fact: Fact) -> list[Write]:
    # A grid worker placing a person in a dwelling claims public security's field.
    r = fact.record
    if r["person_key"] and r["dwelling_id"]:
        return [Write(PERSON, r["person_key"], "dwelling_id", r["dwelling_id"])]
    return []


WRITES: Mapping[str, Callable[[Fact], list[Write]]] = {
    "gov.public_security.ResidentRegistered": _fields(PERSON, REGISTRATION, registered=True),
    "gov.public_security.ResidentMoved": _fields(PERSON, MOVE),
    "gov.health.HealthStatusChanged": lambda f: [
        Write(PERSON, f.key, "health_status", f.record["status"])
    ],
    "gov.health.TestResultReported": _test_result,
    "gov.health.VaccinationRecorded": _vaccination,
    "gov.health.QuarantineOrdered": _quarantine_ordered,
    "gov.health.QuarantineLifted": _quarantine_lifted,
    "gov.civil_affairs.CareNeedAssessed": _fields(PERSON, ASSESSMENT),
    "gov.housing.DwellingRegistered": _fields(DWELLING, DWELLING_FIELDS, registered=True),
    "gov.housing.RenovationProgressReported": _renovation,
    "gov.commerce.DeliveryRequested": _delivery_requested,
    "gov.commerce.DeliveryFulfilled": _delivery_fulfilled,
    "gov.utilities.MeterReading": _meter_reading,
    "gov.grid.GridReportFiled": _grid_report,
}
ERASURE = "gov.public_security.ResidentDeregistered"


def writes(fact: Fact) -> list[Write]:
    """The fields an event sets; events not listed only count for freshness."""
    found = WRITES.get(fact.name)
    return found(fact) if found else []
