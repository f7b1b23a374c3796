"""Sharing requests (共享申请): a department asks for fields, and the answers are due in time.

The lifecycle, as the district rules under the State Council's data sharing regulation set it
(the working-day limits are counted by ``working_days.py``):

- **filed** by a requester (an audience's or a department's token) for one audience: view,
  fields, purpose, scenario, how long it is needed. A ``not_shared`` (不予共享) field is
  refused at once, with the reason; the hub operator's conformity review is due within
  ``REVIEW_DAYS`` working days.
- **reviewed** by the operator: a request that does not conform is refused whole (a reason is
  required); otherwise its ``unconditional`` fields are granted there and then, and its
  ``conditional`` ones are **forwarded** to each owning department, which answers within
  ``PUBLISHED_DAYS`` working days when some audience already reads the field, or
  ``UNPUBLISHED_DAYS`` when the department must first publish it.
- each owning department **grants** or **refuses** its fields; a refusal needs a reason. When
  no field is pending the request is **resolved**.
- the requester (or a provider) may **escalate** a refusal to the operator for coordination:
  the refused fields are pending again, the operator's to decide.
- the requester may **withdraw** it at any time: what it granted ends.
- a request is **expired** once the time it was needed for has passed: its grants end.

Every change is a ``Step``: who, when, what and why. Pure: requests are values, each
transition returns a new one or raises ``RequestError`` saying why (and the HTTP status).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas.catalog import HUB_OWNER
from services.access.working_days import Deadline, is_overdue
from services.errors import ServiceError

REVIEW_DAYS, PUBLISHED_DAYS, UNPUBLISHED_DAYS = 2, 5, 10
FILED, FORWARDED, ESCALATED, RESOLVED, WITHDRAWN, EXPIRED = (
    "filed",
    "forwarded",
    "escalated",
    "resolved",
    "withdrawn",
    "expired",
)
OPEN_STATES = frozenset({FILED, FORWARDED, ESCALATED})
PENDING, GRANTED, REFUSED = "pending", "granted", "refused"
REVIEW_STAGE, PROVIDER_STAGE = "review", "provider"
MAX_NEEDED_DAYS = 366
NOT_SHARED_REASON = "不予共享 not shared: the field's sharing class never lets it leave the hub"


class RequestError(ServiceError):
    """A request or a step of it cannot be taken; ``status`` is the HTTP answer, ``field``
    the input at fault (if one is)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.field = status, field


@dataclass(frozen=True)
class Actor:
    """Who takes a step: a token's holder. The hub operator's token is the hub's own
    department (``datong``, the owner of what the hub derives)."""

    token_id: str
    name: str  # as the record shows it: the token's name
    audience: str | None
    department: str | None

    @property
    def operator(self) -> bool:
        """Whether this is the hub operator (the data authority)."""
        return self.department == HUB_OWNER

    @property
    def party(self) -> str:
        """The requesting party a token stands for: ``audience:<a>`` or ``department:<d>``."""
        return f"audience:{self.audience}" if self.audience else f"department:{self.department}"


@dataclass(frozen=True)
class FieldAsk:
    """One field asked for, and its answer."""

    name: str
    sharing: str
    owner: str
    already_shared: bool  # some audience reads it under the base policy today
    # Fields of this request it is derived from: granted only once they are.
    inputs: tuple[str, ...] = ()
    decision: str = PENDING
    reason: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class Step:
    """One change of a request: who, when, what, why, and the fields it touched."""

    action: str
    by: str
    at: datetime
    reason: str | None = None
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Filing:
    """A request as a requester files it (already parsed: names and bounds checked)."""

    audience: str
    view: str
    fields: tuple[str, ...]
    purpose: str
    scenario: str
    needed_days: int
    communities: frozenset[str] | None = None  # None: the audience's own


@dataclass(frozen=True)
class SharingRequest:
    """A request with its answers so far, its deadlines and its history."""

    id: str
    requester: str  # Actor.party of who filed it
    audience: str
    view: str
    communities: frozenset[str] | None
    purpose: str
    scenario: str
    needed_days: int
    filed_at: datetime
    state: str
    fields: tuple[FieldAsk, ...]
    review_due: Deadline
    provider_due: Mapping[str, Deadline] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()

    @property
    def expires_at(self) -> datetime:
        """When what it grants ends: the time it was needed for, from filing."""
        return self.filed_at + timedelta(days=self.needed_days)

    def state_at(self, now: datetime) -> str:
        """The state as shown at ``now``: ``expired`` once the time it was needed for passed."""
        if self.state != WITHDRAWN and now >= self.expires_at:
            return EXPIRED
        return self.state

    def granted(self) -> tuple[str, ...]:
        """The fields granted so far."""
        return tuple(f.name for f in self.fields if f.decision == GRANTED)


def overdue_stages(request: SharingRequest, now: datetime) -> list[tuple[str, str]]:
    """``(stage, department)`` of each answer overdue at ``now``: the operator's review, or
    each owning department with a pending field past its deadline."""
    state = request.state_at(now)
    if state == FILED and is_overdue(request.review_due.day, now):
        return [(REVIEW_STAGE, HUB_OWNER)]
    if state != FORWARDED:
        return []
    pending = {f.owner for f in request.fields if f.decision == PENDING}
    return sorted(
        (PROVIDER_STAGE, owner)
        for owner, due in request.provider_due.items()
        if owner in pending and is_overdue(due.day, now)
    )


def overdue_counts(
    requests: Iterable[SharingRequest], departments: Iterable[str], now: datetime
) -> dict[tuple[str, str], int]:
    """How many requests owe a late answer, by ``(stage, department)``: every stage a
    department can owe is there, 0 when nothing is late (a series never vanishes)."""
    counts = {(REVIEW_STAGE, HUB_OWNER): 0}
    counts.update({(PROVIDER_STAGE, d): 0 for d in departments})
    for request in requests:
        for late in overdue_stages(request, now):
            counts[late] = counts.get(late, 0) + 1
    return counts
