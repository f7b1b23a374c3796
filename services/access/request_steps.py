"""The steps of a sharing request: filed, reviewed, granted or refused, escalated, withdrawn.

Each step takes a request (``sharing_requests.SharingRequest``), who takes it and when, and
returns the request after it, or raises ``RequestError`` saying why it cannot be taken and
with which HTTP status. The rules are the lifecycle's in ``sharing_requests.py``. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from schemas.catalog import HUB_OWNER
from services.access.policy import CONDITIONAL, NOT_SHARED, UNCONDITIONAL, Policy
from services.access.sharing_requests import (
    ESCALATED,
    FILED,
    FORWARDED,
    GRANTED,
    MAX_NEEDED_DAYS,
    NOT_SHARED_REASON,
    PENDING,
    PUBLISHED_DAYS,
    REFUSED,
    RESOLVED,
    REVIEW_DAYS,
    UNPUBLISHED_DAYS,
    WITHDRAWN,
    Actor,
    FieldAsk,
    Filing,
    RequestError,
    SharingRequest,
    Step,
)
from services.access.working_days import (
    Deadline,
    WorkingCalendar,
    add_working_days,
    beijing_day,
)


def file_request(
    filing: Filing,
    by: Actor,
    policy: Policy,
    owners: Mapping[str, str],
    request_id: str,
    *,
    now: datetime,
    calendar: WorkingCalendar,
) -> SharingRequest:
    """A new request, its ``not_shared`` fields refused at once; ``owners`` maps each field
    of the view to its owning department (the contract's ``datong.owner``); its review is
    due in working days on ``calendar``."""
    if by.operator:
        raise RequestError(403, "the hub operator reviews requests; a department files them")
    if by.audience is not None and by.audience != filing.audience:
        raise RequestError(
            403, f"the token of audience {by.audience} files only for itself", "audience"
        )
    audience = policy.audiences.get(filing.audience)
    if audience is None:
        known = ", ".join(sorted(policy.audiences))
        raise RequestError(400, f"no audience {filing.audience!r}; audiences: {known}", "audience")
    contract = policy.views.get(filing.view)
    if contract is None:
        raise RequestError(400, f"no view named {filing.view!r}", "view")
    if not 0 < filing.needed_days <= MAX_NEEDED_DAYS:
        raise RequestError(400, f"needed_days is 1 to {MAX_NEEDED_DAYS}", "needed_days")
    if not filing.fields or len(set(filing.fields)) != len(filing.fields):
        raise RequestError(400, "name each field asked for once, at least one", "fields")
    base = policy.grant(filing.audience, filing.view)
    communities = base.communities if base else audience.communities
    if filing.communities is not None and filing.communities != (communities or frozenset()):
        shown = "every community" if communities is None else ", ".join(sorted(communities))
        raise RequestError(
            400,
            f"a grant widens the fields audience {filing.audience} reads of {filing.view}, "
            f"not its communities ({shown}): ask for those or leave communities out",
            "communities",
        )
    asks = []
    for name in filing.fields:
        sharing = contract.classes.get(name)
        if sharing is None:
            raise RequestError(400, f"view {filing.view} has no field {name!r}", "fields")
        if base is not None and name in base.fields:
            raise RequestError(
                400, f"audience {filing.audience} already reads field {name!r}", "fields"
            )
        shared = any(
            name in a.grants[filing.view].fields
            for a in policy.audiences.values()
            if filing.view in a.grants
        )
        inputs = _inputs_asked(policy, filing, name)
        ask = FieldAsk(name, sharing, owners.get(name, HUB_OWNER), shared, inputs=inputs)
        if sharing == NOT_SHARED:
            ask = replace(
                ask, decision=REFUSED, reason=NOT_SHARED_REASON, decided_by="policy", decided_at=now
            )
        asks.append(ask)
    refused = tuple(a.name for a in asks if a.decision == REFUSED)
    steps = [Step("file", by.name, now, filing.purpose, filing.fields)]
    if refused:
        steps.append(Step("refuse", "policy", now, NOT_SHARED_REASON, refused))
    return SharingRequest(
        id=request_id,
        requester=by.party,
        audience=filing.audience,
        view=filing.view,
        communities=communities,
        purpose=filing.purpose,
        scenario=filing.scenario,
        needed_days=filing.needed_days,
        filed_at=now,
        state=FILED if len(refused) < len(asks) else RESOLVED,
        fields=tuple(asks),
        review_due=add_working_days(beijing_day(now), REVIEW_DAYS, calendar),
        steps=tuple(steps),
    )


def review(
    request: SharingRequest,
    by: Actor,
    conforms: bool,
    reason: str | None,
    now: datetime,
    *,
    calendar: WorkingCalendar,
) -> SharingRequest:
    """The operator's conformity review: refuse the whole request (with a reason), or grant
    its unconditional fields and forward the conditional ones to their owners, due in
    working days on ``calendar``."""
    _require_open(request, now, FILED)
    if not by.operator:
        raise RequestError(403, "only the hub operator reviews a request for conformity")
    if not conforms:
        if not reason:
            raise RequestError(400, "a request found not to conform needs a reason", "reason")
        fields = tuple(
            _decided(f, REFUSED, reason, by, now) if f.decision == PENDING else f
            for f in request.fields
        )
        touched = tuple(f.name for f in request.fields if f.decision == PENDING)
        step = Step("reject", by.name, now, reason, touched)
        return replace(request, fields=fields, state=RESOLVED, steps=(*request.steps, step))
    fields = tuple(
        _decided(f, GRANTED, "unconditional: granted at review", by, now)
        if f.decision == PENDING and f.sharing == UNCONDITIONAL
        else f
        for f in request.fields
    )
    day = beijing_day(now)
    due: dict[str, Deadline] = {}
    for owner in {f.owner for f in fields if f.decision == PENDING}:
        published = all(
            f.already_shared for f in fields if f.owner == owner and f.decision == PENDING
        )
        due[owner] = add_working_days(
            day, PUBLISHED_DAYS if published else UNPUBLISHED_DAYS, calendar
        )
    step = Step(
        "review", by.name, now, reason, tuple(f.name for f in fields if f.decision == PENDING)
    )
    state = FORWARDED if due else RESOLVED
    return replace(
        request, fields=fields, state=state, provider_due=due, steps=(*request.steps, step)
    )


def decide(
    request: SharingRequest,
    by: Actor,
    names: Sequence[str],
    grant: bool,
    reason: str | None,
    *,
    now: datetime,
) -> SharingRequest:
    """An owning department grants or refuses its pending fields (the operator, under
    coordination); a refusal needs a reason. No field pending: resolved."""
    _require_open(request, now, FORWARDED, ESCALATED)
    if not grant and not reason:
        raise RequestError(400, "a refusal must give its reason", "reason")
    if not names:
        raise RequestError(400, "name at least one field", "fields")
    by_name = {f.name: f for f in request.fields}
    for name in names:
        ask = by_name.get(name)
        if ask is None:
            raise RequestError(400, f"request {request.id} does not ask for {name!r}", "fields")
        if ask.decision != PENDING:
            raise RequestError(409, f"field {name!r} is already {ask.decision}", "fields")
        if ask.sharing == NOT_SHARED:  # never granted, whatever the path
            raise RequestError(403, f"field {name!r} is not shared", "fields")
        waiting = [i for i in ask.inputs if by_name[i].decision != GRANTED and i not in names]
        if grant and waiting:
            raise RequestError(
                409,
                f"field {name!r} is derived from {', '.join(waiting)}: grant those first",
                "fields",
            )
        # Under coordination the operator decides; before, each field's owner.
        answers = HUB_OWNER if request.state == ESCALATED else ask.owner
        if by.department != answers:
            raise RequestError(403, f"field {name!r} is {answers}'s to answer now", "fields")
    decision = GRANTED if grant else REFUSED
    fields = tuple(
        _decided(f, decision, reason, by, now) if f.name in names else f for f in request.fields
    )
    state = request.state if any(f.decision == PENDING for f in fields) else RESOLVED
    step = Step("grant" if grant else "refuse", by.name, now, reason, tuple(names))
    return replace(request, fields=fields, state=state, steps=(*request.steps, step))


def escalate(
    request: SharingRequest, by: Actor, names: Sequence[str], reason: str | None, now: datetime
) -> SharingRequest:
    """The requester (or an owning department) takes refused fields to the operator for
    coordination: they are pending again, the operator's to decide."""
    _require_open(request, now, FORWARDED, RESOLVED)
    owners = {f.owner for f in request.fields}
    if by.party != request.requester and by.department not in owners:
        raise RequestError(403, "only the requester or an owning department escalates")
    if not reason:
        raise RequestError(400, "an escalation must say what is disputed", "reason")
    disputable = [
        f.name for f in request.fields if f.decision == REFUSED and f.sharing == CONDITIONAL
    ]
    chosen = list(names) or disputable
    for name in chosen:
        if name not in disputable:
            raise RequestError(409, f"field {name!r} is not a refused conditional field", "fields")
    if not chosen:
        raise RequestError(409, "no refused conditional field to escalate", "fields")
    fields = tuple(
        replace(f, decision=PENDING, reason=None, decided_by=None, decided_at=None)
        if f.name in chosen
        else f
        for f in request.fields
    )
    step = Step("escalate", by.name, now, reason, tuple(chosen))
    return replace(request, fields=fields, state=ESCALATED, steps=(*request.steps, step))


def withdraw(
    request: SharingRequest, by: Actor, reason: str | None, now: datetime
) -> SharingRequest:
    """The requester withdraws its request; what it granted ends."""
    _require_open(request, now, FILED, FORWARDED, ESCALATED, RESOLVED)
    if by.party != request.requester:
        raise RequestError(403, f"only the requester ({request.requester}) withdraws it")
    step = Step("withdraw", by.name, now, reason, request.granted())
    return replace(request, state=WITHDRAWN, steps=(*request.steps, step))


def _inputs_asked(policy: Policy, filing: Filing, name: str) -> tuple[str, ...]:
    """The inputs of a derived field that the request asks for too; RequestError naming the
    field when one is neither read by the audience already nor asked for (a derived value
    is granted only with what it is made of)."""
    inputs = policy.derivation.fields.get((filing.view, name), ())
    asked = []
    for view, field in inputs:
        other = policy.grant(filing.audience, view)
        if other is not None and field in other.fields:
            continue
        if view != filing.view or field not in filing.fields:
            raise RequestError(
                400,
                f"field {name!r} is derived from {view}.{field}, which audience "
                f"{filing.audience} does not read: ask for it too (or first)",
                "fields",
            )
        asked.append(field)
    return tuple(asked)


def _require_open(request: SharingRequest, now: datetime, *states: str) -> None:
    state = request.state_at(now)
    if state not in states:
        raise RequestError(
            409, f"request {request.id} is {state}; this step needs it " + " or ".join(states)
        )


def _decided(ask: FieldAsk, decision: str, reason: str | None, by: Actor, at: datetime) -> FieldAsk:
    return replace(ask, decision=decision, reason=reason, decided_by=by.name, decided_at=at)
