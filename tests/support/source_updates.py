"""A small community's source events, checked against their contracts, as the view updates
they make: factories for the pure specifications of the alert rules and the household view.

The cast: residents ELDER, SPOUSE, CHILD and LODGER, dwellings HOME and ELSEWHERE in
COMMUNITY and GRID. Times are hours after T0 (``at``) or their epoch milliseconds (``ms``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import fastavro

from schemas.catalog import Catalog
from services.merge import feeds
from services.merge.merge import Update

CATALOG = Catalog.load()
SUBJECTS = feeds.subject_views(CATALOG.view_key_fields())
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
ELDER = "e1" * 32
SPOUSE = "5a" * 32
CHILD = "c4" * 32
LODGER = "10" * 32  # registered without a dwelling
HOME = "D-0101"
ELSEWHERE = "D-0202"
COMMUNITY = "C001"
GRID = "G-07"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ms(hours: float) -> int:
    return feeds.to_millis(at(hours))


# --- factories: decoded source events (checked against their contracts) -> updates ----------


def event(full_name: str, when: datetime, tag: str = "", **fields: Any) -> list[Update]:
    """The updates of one source event; the record must fit its source contract."""
    contract = CATALOG.by_name(full_name)
    assert contract.department is not None
    key = fields[contract.key_field]
    record = {
        "event_id": f"{contract.name}:{key}:{tag}:{when.isoformat()}",
        "event_time": when,
        "department": contract.department,
        **fields,
    }
    fastavro.validate(record, contract.parsed, raise_errors=True)
    return feeds.updates_for(full_name, contract.department, contract.key_field, record, SUBJECTS)


def registered(
    person: str, when: datetime, dwelling: str | None = HOME, *, community: str = COMMUNITY
) -> list[Update]:
    return event(
        "gov.public_security.ResidentRegistered",
        when,
        person_key=person,
        community_code=community,
        dwelling_id=dwelling,
        address="幸福里3号楼1单元101",
        household_no="H0001",
        name_masked="张*",
        gender="FEMALE",
        birth_date=date(1940, 5, 1),
        phone_masked=None,
    )


def moved(
    person: str, when: datetime, dwelling: str | None, *, community: str = COMMUNITY
) -> list[Update]:
    return event(
        "gov.public_security.ResidentMoved",
        when,
        person_key=person,
        dwelling_id=dwelling,
        community_code=community,
        address=None,
    )


def deregistered(person: str, when: datetime) -> list[Update]:
    return event(
        "gov.public_security.ResidentDeregistered", when, person_key=person, reason="DEATH"
    )


def health(person: str, status: str, when: datetime) -> list[Update]:
    return event(
        "gov.health.HealthStatusChanged", when, person_key=person, status=status, reason=None
    )


def assessed(
    person: str, when: datetime, living_alone: bool = True, *, disability: str = "NONE"
) -> list[Update]:
    return event(
        "gov.civil_affairs.CareNeedAssessed",
        when,
        person_key=person,
        elderly_living_alone=living_alone,
        disability_grade=disability,
        subsistence_allowance=False,
        subsistence_allowance_fen=None,
        next_review_date=None,
    )


def dwelling(
    when: datetime,
    rooms: int = 1,
    separate_bathroom: bool = False,
    dwelling_id: str = HOME,
    *,
    community: str = COMMUNITY,
    building: str = "3号楼",
) -> list[Update]:
    return event(
        "gov.housing.DwellingRegistered",
        when,
        dwelling_id=dwelling_id,
        community_code=community,
        grid_id=GRID,
        building=building,
        unit="1单元",
        room_number="101",
        floor=1,
        has_lift=False,
        rooms=rooms,
        has_separate_bathroom=separate_bathroom,
        address={
            "province": "北京市",
            "city": "北京市",
            "district": "朝阳区",
            "street": "幸福街道",
            "community": "幸福里社区",
            "building": building,
            "unit": "1单元",
            "room": "101",
            "full_text": f"幸福里{building}1单元101",
        },
    )


def quarantine(
    person: str,
    quarantine_id: str,
    when: datetime,
    *,
    kind: str = "HOME",
    dwelling_id: str | None = None,
    starts: datetime | None = None,
    days: int = 14,
) -> list[Update]:
    return event(
        "gov.health.QuarantineOrdered",
        when,
        quarantine_id,
        person_key=person,
        quarantine_id=quarantine_id,
        kind=kind,
        dwelling_id=dwelling_id,
        facility_code="F-01" if kind == "CENTRALIZED" else None,
        starts_at=starts or when,
        planned_end_at=(starts or when) + timedelta(days=days),
        reason="close contact",
    )


def lifted(person: str, quarantine_id: str, when: datetime) -> list[Update]:
    return event(
        "gov.health.QuarantineLifted",
        when,
        quarantine_id,
        person_key=person,
        quarantine_id=quarantine_id,
        dwelling_id=None,
        outcome="COMPLETED",
    )


def requested(
    delivery_id: str, when: datetime, for_quarantine: bool = False, *, dwelling_id: str = HOME
) -> list[Update]:
    return event(
        "gov.commerce.DeliveryRequested",
        when,
        delivery_id,
        dwelling_id=dwelling_id,
        delivery_id=delivery_id,
        items_summary="rice 5kg",
        for_quarantine=for_quarantine,
        due_at=when + timedelta(hours=4),
        store_code=None,
        amount_fen=None,
    )


def fulfilled(delivery_id: str, when: datetime, *, dwelling_id: str = HOME) -> list[Update]:
    return event(
        "gov.commerce.DeliveryFulfilled",
        when,
        delivery_id,
        dwelling_id=dwelling_id,
        delivery_id=delivery_id,
        outcome="LEFT_AT_DOOR",
    )


def water(
    value: float,
    when: datetime,
    meter_id: str = "W-1",
    read_at: datetime | None = None,
    *,
    kind: str = "WATER",
    dwelling_id: str = HOME,
) -> list[Update]:
    return event(
        "gov.utilities.MeterReading",
        when,
        meter_id,
        dwelling_id=dwelling_id,
        meter_id=meter_id,
        kind=kind,
        value=value,
        unit="CUBIC_METRE" if kind == "WATER" else "KILOWATT_HOUR",
        read_at=read_at or when,
    )


def renovation(
    project_id: str,
    when: datetime,
    buildings: list[str],
    stage: str = "CONSTRUCTION",
    percent: int = 40,
) -> list[Update]:
    return event(
        "gov.housing.RenovationProgressReported",
        when,
        project_id,
        community_code=COMMUNITY,
        project_id=project_id,
        buildings=buildings,
        stage=stage,
        percent=percent,
        works="pipes",
        budget_fen=None,
    )


def millis_of(value: Any) -> Any:
    """``value`` with every datetime as epoch milliseconds (the wire's timestamp-millis)."""
    if isinstance(value, datetime):
        return feeds.to_millis(value)
    if isinstance(value, dict):
        return {k: millis_of(v) for k, v in value.items()}
    if isinstance(value, list):
        return [millis_of(v) for v in value]
    return value
