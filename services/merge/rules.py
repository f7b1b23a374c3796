"""The views' merge state: which department owns each field, and how fields combine.

Three views are merged from events: ``resident_profile`` (by person), ``household`` (by
dwelling) and ``community_situation`` (by community). What each event writes into them is
``feeds.py``. Their rows hold merge state; the view records readers get are rendered from
it (``records.py``), together with what is derived across rows (``derive.py``) and the
alerts (``alerts.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.merge.merge import ANY_DEPARTMENT, Ownership

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
