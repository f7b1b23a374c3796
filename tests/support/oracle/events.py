"""Factories of source events as the connectors produce them, checked against their contracts.

Each returns a ``connectors.base.Event`` whose record holds Avro-ready values (aware
datetimes for timestamps, ``date`` for dates). An event's id is made from its contract,
subject, tag, time and a digest of its fields, so building the same event twice gives the
same event (a repeat) and two different events never share an id.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import fastavro

from connectors.base import Event
from schemas.catalog import Catalog

GRID_OF = {"C001": "G-01", "C002": "G-02", "C003": "G-03"}


@cache
def catalog() -> Catalog:
    """The contracts, loaded once."""
    return Catalog.load()


def event(full_name: str, when: datetime, tag: str = "", **fields: Any) -> Event:
    """One source event of the contract ``full_name``; the record must fit the contract."""
    contract = catalog().by_name(full_name)
    assert contract.department is not None and contract.event is not None
    key = str(fields[contract.key_field])
    digest = hashlib.sha256(repr(sorted(fields.items())).encode()).hexdigest()[:8]
    record = {
        "event_id": f"{contract.name}:{key[:12]}:{tag}:{when:%m%d%H%M}:{digest}",
        "event_time": when,
        "department": contract.department,
        **fields,
    }
    fastavro.validate(record, contract.parsed, raise_errors=True)
    return Event(contract.department, contract.event, key, record)


def registered(person: str, when: datetime, dwelling: str | None, community: str) -> Event:
    """ResidentRegistered."""
    return event(
        "gov.public_security.ResidentRegistered",
        when,
        person_key=person,
        name_masked="张*",
        gender="FEMALE",
        birth_date=date(1940, 5, 1),
        phone_masked="138****5678",
        household_no="H0001",
        dwelling_id=dwelling,
        community_code=community,
        address=f"{community} {dwelling}",
    )


def moved(person: str, when: datetime, dwelling: str | None, community: str) -> Event:
    """ResidentMoved."""
    return event(
        "gov.public_security.ResidentMoved",
        when,
        person_key=person,
        dwelling_id=dwelling,
        community_code=community,
        address=f"{community} {dwelling}",
    )


def deregistered(person: str, when: datetime) -> Event:
    """ResidentDeregistered."""
    return event(
        "gov.public_security.ResidentDeregistered", when, person_key=person, reason="MOVED_AWAY"
    )


def health(person: str, status: str, when: datetime) -> Event:
    """HealthStatusChanged."""
    return event(
        "gov.health.HealthStatusChanged",
        when,
        status,
        person_key=person,
        status=status,
        reason=None,
    )


def assessed(person: str, when: datetime, alone: bool = True, disability: str = "NONE") -> Event:
    """CareNeedAssessed."""
    return event(
        "gov.civil_affairs.CareNeedAssessed",
        when,
        person_key=person,
        elderly_living_alone=alone,
        disability_grade=disability,
        subsistence_allowance=False,
        subsistence_allowance_fen=None,
        next_review_date=None,
    )


def quarantine(  # noqa: PLR0917 - the order's own fields
    person: str,
    quarantine_id: str,
    when: datetime,
    kind: str = "HOME",
    dwelling: str | None = None,
    days: int = 14,
) -> Event:
    """QuarantineOrdered, starting when it is issued."""
    return event(
        "gov.health.QuarantineOrdered",
        when,
        quarantine_id,
        person_key=person,
        quarantine_id=quarantine_id,
        kind=kind,
        dwelling_id=dwelling,
        facility_code="F-01" if kind == "CENTRALIZED" else None,
        starts_at=when,
        planned_end_at=when + timedelta(days=days),
        reason="close contact",
    )


def lifted(person: str, quarantine_id: str, when: datetime) -> Event:
    """QuarantineLifted."""
    return event(
        "gov.health.QuarantineLifted",
        when,
        quarantine_id,
        person_key=person,
        quarantine_id=quarantine_id,
        dwelling_id=None,
        outcome="COMPLETED",
    )


def dwelling(  # noqa: PLR0917 - the attributes that matter to the views
    dwelling_id: str,
    when: datetime,
    community: str,
    building: str = "1号楼",
    rooms: int = 1,
    bathroom: bool = False,
) -> Event:
    """DwellingRegistered."""
    address = dict.fromkeys(("province", "city", "district", "street", "unit"))
    address |= {"community": community, "building": building, "room": dwelling_id}
    return event(
        "gov.housing.DwellingRegistered",
        when,
        dwelling_id=dwelling_id,
        community_code=community,
        grid_id=GRID_OF.get(community),
        building=building,
        unit=None,
        room_number=dwelling_id,
        floor=3,
        has_lift=False,
        rooms=rooms,
        has_separate_bathroom=bathroom,
        address=address | {"full_text": f"{community}{building}{dwelling_id}"},
    )


def renovation(
    community: str, project: str, when: datetime, buildings: list[str], percent: int
) -> Event:
    """RenovationProgressReported."""
    return event(
        "gov.housing.RenovationProgressReported",
        when,
        project,
        community_code=community,
        project_id=project,
        buildings=buildings,
        stage="CONSTRUCTION" if percent < 100 else "COMPLETED",
        percent=percent,
        works="pipes",
        budget_fen=None,
    )


def requested(dwelling_id: str, delivery: str, when: datetime, due: bool = True) -> Event:
    """DeliveryRequested."""
    return event(
        "gov.commerce.DeliveryRequested",
        when,
        delivery,
        dwelling_id=dwelling_id,
        delivery_id=delivery,
        items_summary="rice 5kg",
        for_quarantine=False,
        due_at=when + timedelta(hours=6) if due else None,
        store_code=None,
        amount_fen=None,
    )


def fulfilled(dwelling_id: str, delivery: str, when: datetime) -> Event:
    """DeliveryFulfilled."""
    return event(
        "gov.commerce.DeliveryFulfilled",
        when,
        delivery,
        dwelling_id=dwelling_id,
        delivery_id=delivery,
        outcome="LEFT_AT_DOOR",
    )


def reading(
    dwelling_id: str, value: float, when: datetime, meter: str = "W-1", kind: str = "WATER"
) -> Event:
    """MeterReading."""
    return event(
        "gov.utilities.MeterReading",
        when,
        meter,
        dwelling_id=dwelling_id,
        meter_id=meter,
        kind=kind,
        value=value,
        unit="CUBIC_METRE" if kind == "WATER" else "KILOWATT_HOUR",
        read_at=when,
    )


def grid_report(
    community: str, when: datetime, person: str | None = None, dwelling_id: str | None = None
) -> Event:
    """GridReportFiled; naming a person and a dwelling claims public security's field."""
    return event(
        "gov.grid.GridReportFiled",
        when,
        person or "",
        community_code=community,
        report_id=f"R-{when:%d%H%M}",
        grid_id=GRID_OF.get(community, "G-00"),
        kind="VISIT",
        dwelling_id=dwelling_id,
        person_key=person,
        summary="visited",
        follow_up_required=False,
    )


def vaccination(person: str, when: datetime, dose: int = 1) -> Event:
    """VaccinationRecorded."""
    return event(
        "gov.health.VaccinationRecorded",
        when,
        str(dose),
        person_key=person,
        vaccine="COVID-19",
        dose_number=dose,
        batch_no=None,
        site_code=None,
    )


def tested(
    person: str, result: str, when: datetime, sampled: datetime | None = None, test_id: str = "S1"
) -> Event:
    """TestResultReported: reported at ``when``, sampled at ``sampled`` if known."""
    return event(
        "gov.health.TestResultReported",
        when,
        result,
        person_key=person,
        test_id=test_id,
        test_type="PCR",
        result=result,
        sampled_at=sampled,
        lab_code=None,
    )


def task_assigned(  # noqa: PLR0917 - one argument per field a grid office fills in
    community: str,
    when: datetime,
    alert_id: str | None,
    assignee: str = "W-001",
    task: str = "T-1",
    due: datetime | None = None,
) -> Event:
    """TaskAssigned: the grid office gives a worker a task answering ``alert_id``."""
    return event(
        "gov.grid.TaskAssigned",
        when,
        task,
        community_code=community,
        task_id=task,
        grid_id=GRID_OF.get(community, "G-00"),
        kind="ALERT_RESPONSE",
        alert_id=alert_id,
        alert_type=None,
        dwelling_id=None,
        person_key=None,
        assignee_code=assignee,
        due_at=due,
        summary=None,
    )


def task_completed(  # noqa: PLR0917 - one argument per field a grid worker fills in
    community: str,
    when: datetime,
    alert_id: str | None,
    visit: str | None = "DONE",
    task: str = "T-1",
    referred_to: str | None = None,
    notes: str | None = None,
) -> Event:
    """TaskCompleted recording a visit (``visit`` None: a task closed before visits were
    recorded, DONE as its outcome)."""
    return event(
        "gov.grid.TaskCompleted",
        when,
        task,
        community_code=community,
        task_id=task,
        grid_id=GRID_OF.get(community, "G-00"),
        outcome="DONE" if visit in (None, "DONE") else "UNABLE_TO_COMPLETE",
        alert_id=alert_id,
        notes=notes,
        visit_outcome=visit,
        referred_to=referred_to,
    )
