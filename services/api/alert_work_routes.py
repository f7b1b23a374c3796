"""``POST /alerts/{alert_id}/work``: a grid office takes an alert or records a visit.

The route checks what the intake cannot: that the token's audience is granted the alert's
type, community and subject (403 naming which is missing; an alert it may not know of is a
404, as on every read path). Then it publishes the step as the grid department's own event,
``TaskAssigned`` or ``TaskCompleted``, through the same intake as a department's push
(``publish``: converted, checked against the contract, acknowledged by the broker), and
answers 202 with the event ids. The alert view shows the step once the merge has it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from schemas.json_bounds import JsonDepthError, loads_bounded
from services.api import alert_work
from services.api.authentication import Authenticator
from services.api.errors import ApiError
from services.api.json_records import json_record
from services.api.params import MAX_KEY_CHARS, bounded_text
from services.api.read_access import ReadAccess
from services.store.database import once_more_if_dead
from services.store.views import ShownRow, shown_row, visible_records

ROUTE = "/alerts/{alert_id}/work"
LIMITS_ROUTE = "/alerts/response-hours"
ALERT_VIEW = "alert"
MAX_BODY_BYTES = 4096
# Publishes records as a department's event (department, event, records) -> event ids;
# raises ApiError with the intake's answer when it refuses them.
Publish = Callable[[str, str, list[Any]], Awaitable[list[str]]]


def alert_work_routes(
    engine: sa.Engine,
    access: ReadAccess,
    authenticator: Authenticator,
    publish: Publish,
    *,
    departments: Collection[str],
    response_hours: Mapping[str, int],
    clock: Callable[[], float] = time.time,
) -> list[Route]:
    """The route; ``publish`` is the intake's, ``response_hours`` each type's limit."""

    async def work(request: Request) -> JSONResponse:
        """take an alert for a grid worker, or record a visit (grid office's audience token)

        Body: {"action": "take", "assignee_code": "W-007"} or {"action": "visit", "outcome":
        "DONE" | "NOBODY_HOME" | "REFERRED", "referred_to": department, "note": text without
        personal data}. Published as the grid's TaskAssigned or TaskCompleted through the
        intake; a DONE visit closes the alert. Needs the alert's type, community and subject
        granted (403 naming which is missing; 404 for an alert the reader may not know of).
        """
        principal = await authenticator.principal(request)
        alert_id = request.path_params["alert_id"]
        bounded_text(alert_id, "alert_id", MAX_KEY_CHARS)
        if principal.audience is None:
            raise ApiError(
                403,
                f"the token of department {principal.department} publishes its own events; "
                "acting on an alert needs a grid office's audience token",
            )
        body = await _body(request)
        try:
            asked = alert_work.parse_work(body, departments)
        except alert_work.WorkRefused as refused:
            names: dict[str, Any] = {} if refused.field is None else {"field": refused.field}
            raise ApiError(refused.status, str(refused), **names) from None
        grant = access.policy.grant(principal.audience, ALERT_VIEW)
        if grant is None:
            raise ApiError(403, f"audience {principal.audience} is granted no alerts")
        alert = await asyncio.to_thread(_alert, engine, access, alert_id)
        # An alert of a type or community outside the grant is absent for this reader, as on
        # every read path: a 403 would tell that it exists.
        if alert is None or not alert_work.may_know(grant, alert):
            raise ApiError(404, f"alert has no row with key {alert_id!r}", key=alert_id)
        reason = alert_work.refusal(grant, principal.audience, alert)
        if reason is not None:
            raise ApiError(403, reason, key=alert_id)
        now_ms = int(clock() * 1000)
        event_id = f"alert-work-{uuid.uuid4().hex}"
        try:
            if asked.action == "take":
                task_id = f"T-{uuid.uuid4().hex[:16]}"
                event = "task-assigned"
                record = alert_work.task_assigned(
                    alert, asked, now_ms, task_id, event_id, response_hours
                )
            else:
                event = "task-completed"
                record = alert_work.task_completed(alert, asked, now_ms, event_id)
        except alert_work.WorkRefused as refused:
            raise ApiError(refused.status, str(refused), key=alert_id) from None
        event_ids = await publish(alert_work.GRID, event, [record])
        return JSONResponse({"event_ids": event_ids, "task_id": record["task_id"]}, status_code=202)

    async def limits(_: Request) -> JSONResponse:
        """each alert type's response limit in hours (any token): when an open alert is overdue"""
        return JSONResponse(dict(response_hours))

    return [Route(ROUTE, work, methods=["POST"]), Route(LIMITS_ROUTE, limits, methods=["GET"])]


def _alert(engine: sa.Engine, access: ReadAccess, alert_id: str) -> dict[str, Any] | None:
    def select() -> ShownRow | None:
        with engine.connect() as connection:
            return shown_row(connection, ALERT_VIEW, alert_id)

    row = once_more_if_dead(select)
    if row is None:
        return None
    key_field = access.key_fields[ALERT_VIEW]
    return json_record(key_field, row.key, row.data, row.provenance)


async def _body(request: Request) -> Any:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    try:
        return loads_bounded(b"".join(chunks))
    except (JsonDepthError, ValueError) as exc:
        raise ApiError(400, f"the body is not JSON: {type(exc).__name__}", field="body") from None


def overdue_alerts(
    engine: sa.Engine, response_hours: Mapping[str, int], clock: Callable[[], float] = time.time
) -> dict[str, int]:
    """Open alerts past their response limit, by type, as the store holds them now."""

    def select() -> list[dict[str, Any]]:
        with Session(engine) as session:
            return visible_records(session, ALERT_VIEW)

    return alert_work.overdue_counts(once_more_if_dead(select), response_hours, int(clock() * 1000))
