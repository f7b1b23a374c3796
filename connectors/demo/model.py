"""The demo community as plain data: who lives where, and what each department saw happen.

Everything holds raw personal data (ID numbers, names, phones) on purpose: it is what the
departments' exports contain, and what the connectors must never let through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

ELDERLY_AGE = 60  # civil affairs counts residents from 60 as elderly


def age_of(born: date, as_of: datetime) -> int:
    """Age in completed years on ``as_of``."""
    today = as_of.date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@dataclass(frozen=True, slots=True)
class Address:
    """A structured address, down to the room."""

    province: str
    city: str
    district: str
    street: str
    community: str
    building: str
    unit: str
    room: str

    @property
    def full_text(self) -> str:
        """The address as one line, the way a clerk types it: 北京市朝阳区…3号楼2单元301室."""
        city = "" if self.city == self.province else self.city
        return (
            f"{self.province}{city}{self.district}{self.street}{self.community}"
            f"{self.building}号楼{self.unit}单元{self.room}室"
        )


@dataclass(frozen=True, slots=True)
class Community:
    """A residents' committee (社区居委会) with its 12-digit statistical area code."""

    code: str
    name: str
    province: str
    city: str
    district: str
    street: str
    grid_ids: tuple[str, ...]
    store_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Dwelling:
    """One home in the housing registry; ``dwelling_id`` is the unified house code."""

    dwelling_id: str
    community_code: str
    grid_id: str
    building: str
    unit: str
    room_number: str
    floor: int
    has_lift: bool
    rooms: int
    has_separate_bathroom: bool
    area_m2: float
    built_year: int
    address: Address


@dataclass(frozen=True, slots=True)
class Resident:
    """A registered resident with the identity data only the registry export carries."""

    id_number: str
    name: str
    gender: str  # MALE or FEMALE, agreeing with the ID's sequence digit
    birth_date: date
    phone: str | None
    household_no: str
    relation: str  # 户主, 配偶, 子女, 父母, 孙子女
    dwelling_id: str
    community_code: str
    registered_at: datetime
    disability_grade: str  # NONE or GRADE_1 (most severe) .. GRADE_4
    subsistence_allowance: bool
    living_alone: bool


@dataclass(frozen=True, slots=True)
class Household:
    """A household booklet (户) living in one dwelling."""

    household_no: str
    dwelling_id: str
    community_code: str
    kind: str
    members: tuple[str, ...]  # ID numbers, head first


@dataclass(frozen=True, slots=True)
class Quarantine:
    """A quarantine order of the health commission, lifted or still open at ``as_of``."""

    quarantine_id: str
    id_number: str
    kind: str  # HOME or CENTRALIZED
    dwelling_id: str | None
    facility: str | None
    reason: str
    ordered_at: datetime
    starts_at: datetime
    planned_end_at: datetime
    lifted_at: datetime | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class HealthStatus:
    """A health-code colour change."""

    id_number: str
    status: str
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class TestResult:
    """A laboratory or rapid test result."""

    test_id: str
    id_number: str
    test_type: str
    result: str
    sampled_at: datetime
    reported_at: datetime
    lab: str


@dataclass(frozen=True, slots=True)
class Vaccination:
    """A vaccine dose given at a community health centre."""

    record_id: str
    id_number: str
    vaccine: str
    dose: int
    batch_no: str
    site_code: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CareAssessment:
    """Civil affairs' assessment of a resident's care needs."""

    id_number: str
    elderly_living_alone: bool
    disability_grade: str
    subsistence_allowance: bool
    allowance_fen: int | None
    next_review: date | None
    assessed_at: datetime


@dataclass(frozen=True, slots=True)
class CareVisit:
    """A visit or call to a resident who needs care."""

    visit_id: str
    id_number: str
    kind: str
    outcome: str
    visitor_org: str
    notes: str
    at: datetime


@dataclass(frozen=True, slots=True)
class MeterReading:
    """A cumulative water (m³) or electricity (kWh) meter value."""

    meter_id: str
    dwelling_id: str
    kind: str  # WATER or ELECTRICITY
    value: float
    read_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery order to a dwelling; unfulfilled when ``fulfilled_at`` is None."""

    delivery_id: str
    dwelling_id: str
    store_code: str
    items: str
    for_quarantine: bool
    recipient_name: str
    recipient_phone: str | None
    amount_fen: int
    requested_at: datetime
    due_at: datetime
    fulfilled_at: datetime | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class StockReport:
    """A store's stock of one supply item."""

    community_code: str
    store_code: str
    item: str
    quantity: float
    unit: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RenovationReport:
    """One progress report of an old-community renovation project (老旧小区改造)."""

    project_id: str
    community_code: str
    buildings: tuple[str, ...]
    stage: str
    percent: int
    works: str
    budget_fen: int
    at: datetime


@dataclass(frozen=True, slots=True)
class GridReport:
    """A grid worker's report: a round, an incident, or a visit."""

    report_id: str
    community_code: str
    grid_id: str
    kind: str  # INSPECTION, INCIDENT, VISIT
    dwelling_id: str | None
    id_number: str | None
    summary: str
    follow_up: bool
    reporter: str
    at: datetime


@dataclass(frozen=True, slots=True)
class GridTask:
    """A task the grid office assigned; open when ``completed_at`` is None."""

    task_id: str
    community_code: str
    grid_id: str
    kind: str
    dwelling_id: str | None
    id_number: str | None
    assignee: str
    summary: str
    assigned_at: datetime
    due_at: datetime
    completed_at: datetime | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class Population:
    """Everything the demo generator knows, as of ``as_of``."""

    seed: int
    as_of: datetime
    communities: tuple[Community, ...]
    dwellings: tuple[Dwelling, ...]
    households: tuple[Household, ...]
    residents: tuple[Resident, ...]
    quarantines: tuple[Quarantine, ...]
    health_statuses: tuple[HealthStatus, ...]
    tests: tuple[TestResult, ...]
    vaccinations: tuple[Vaccination, ...]
    assessments: tuple[CareAssessment, ...]
    visits: tuple[CareVisit, ...]
    readings: tuple[MeterReading, ...]
    deliveries: tuple[Delivery, ...]
    stock: tuple[StockReport, ...]
    renovations: tuple[RenovationReport, ...]
    grid_reports: tuple[GridReport, ...]
    grid_tasks: tuple[GridTask, ...]
