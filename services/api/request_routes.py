"""``/requests``: sharing requests filed, followed and answered over HTTP.

- ``POST /requests``: an audience's or a department's token files a request (201).
- ``GET /requests`` (``?overdue=true`` for the late ones) and ``GET /requests/{id}``: the hub
  operator sees every request; any other token those it filed, those for its audience, and
  those asking for fields its department owns. Another's request is 404, as if absent.
- ``POST /requests/{id}/review|grant|refuse|escalate|withdraw``: the steps, each allowed to
  whom the lifecycle says (``request_steps.py``); a refusal is 403, a step the request's state
  does not allow 409, a bad body 4xx naming the field.

The hub operator's token is a token of the hub's own department (``datong tokens create
--operator``). Each step is stored with its grants and its audit record in one transaction
(``request_store.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from prometheus_client import Gauge
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Route

from schemas.catalog import Catalog
from services.access import request_steps as steps
from services.access.policy import Policy
from services.access.request_documents import shown
from services.access.request_store import (
    add_request,
    change_request,
    get_request,
    list_requests,
    new_request_id,
)
from services.access.sharing_requests import (
    OPEN_STATES,
    Actor,
    RequestError,
    SharingRequest,
    overdue_counts,
    overdue_stages,
)
from services.access.working_days import WorkingCalendar
from services.api.authentication import Authenticator
from services.api.dashboard_routes import DASHBOARD_DIR
from services.api.errors import ApiError
from services.api.request_bodies import (
    FILING_KEYS,
    STEP_KEYS,
    filing,
    flag,
    json_body,
    names,
    optional_text,
)
from services.store.database import once_more_if_dead

log = logging.getLogger(__name__)
GOVERNANCE_ROUTE = "/governance"  # the page: open, it holds no data and asks for a token
GOVERNANCE_PAGE = DASHBOARD_DIR / "governance.html"
REQUESTS_ROUTE = "/requests"
REQUEST_ROUTE = "/requests/{id}"
STEP_WORDS = {
    "review": "the operator's conformity review: conforms, or not with a reason (operator token)",
    "grant": "grant fields: their owning department (the operator under coordination)",
    "refuse": "refuse fields with a reason: their owning department (the operator under "
    "coordination)",
    "escalate": "take refused fields to the operator for coordination (requester or owner)",
    "withdraw": "withdraw the request: what it granted ends at once (requester)",
}
MAX_ID = 32


def request_routes(
    engine: sa.Engine,
    authenticator: Authenticator,
    current_policy: Callable[[float], Awaitable[Policy]],
    owners: Mapping[str, Mapping[str, str]],
    *,
    calendar: WorkingCalendar,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Route]:
    """The routes; ``owners`` maps each view to its fields' owning departments, and
    deadlines count working days on ``calendar``."""

    async def actor(request: Request) -> Actor:
        principal = await authenticator.principal(request)
        return Actor(principal.token_id, principal.name, principal.audience, principal.department)

    async def file(request: Request) -> JSONResponse:
        """file a sharing request (an audience's or department's token)"""
        by = await actor(request)
        asked = filing(await json_body(request, FILING_KEYS), by.audience)
        policy = await current_policy(0.0)
        now = clock()
        with refusals():
            made = steps.file_request(
                asked,
                by,
                policy,
                owners.get(asked.view, {}),
                new_request_id(),
                now=now,
                calendar=calendar,
            )
        await asyncio.to_thread(once_more_if_dead, partial(add_request, engine, made, by))
        return JSONResponse(shown(made, now), status_code=201)

    async def listing(request: Request) -> JSONResponse:
        """the sharing requests this token may see (``?overdue=true``: only late ones)"""
        by = await actor(request)
        overdue = request.query_params.get("overdue", "false")
        if overdue not in ("true", "false"):
            raise ApiError(400, "overdue must be true or false", parameter="overdue")
        found = await asyncio.to_thread(once_more_if_dead, partial(list_requests, engine))
        now = clock()
        seen = [r for r in found if visible(r, by)]
        if overdue == "true":
            seen = [r for r in seen if overdue_stages(r, now)]
        viewer = {
            "party": by.party,
            "audience": by.audience,
            "department": by.department,
            "operator": by.operator,
        }
        return JSONResponse({"viewer": viewer, "requests": [shown(r, now) for r in seen]})

    async def one(request: Request) -> JSONResponse:
        """one sharing request, with its answers, deadlines and history"""
        by = await actor(request)
        found = await asyncio.to_thread(
            once_more_if_dead, partial(get_request, engine, request_id(request))
        )
        if found is None or not visible(found, by):
            raise ApiError(404, "no such sharing request", field="id")
        return JSONResponse(shown(found, clock()))

    def step(name: str) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def take(request: Request) -> JSONResponse:
            by = await actor(request)
            document = await json_body(request, STEP_KEYS[name])
            change = _change(name, document, by, clock(), calendar)
            rid = request_id(request)
            found = await asyncio.to_thread(once_more_if_dead, partial(get_request, engine, rid))
            if found is None or not visible(found, by):
                raise ApiError(404, "no such sharing request", field="id")
            with refusals():
                after = await asyncio.to_thread(change_request, engine, rid, change, by, clock())
            return JSONResponse(shown(after, clock()))

        take.__doc__ = STEP_WORDS[name]
        return take

    async def page(_: Request) -> FileResponse:
        """the governance page: file, review and answer sharing requests (it asks for a token)"""
        return FileResponse(GOVERNANCE_PAGE, headers={"Cache-Control": "no-cache"})

    return [
        Route(GOVERNANCE_ROUTE, page, methods=["GET", "HEAD"]),
        Route(REQUESTS_ROUTE, file, methods=["POST"], name="file_request"),
        Route(REQUESTS_ROUTE, listing, methods=["GET"], name="list_requests"),
        Route(REQUEST_ROUTE, one, methods=["GET"]),
        *(Route(f"{REQUEST_ROUTE}/{name}", step(name), methods=["POST"]) for name in STEP_KEYS),
    ]


def visible(request: SharingRequest, by: Actor) -> bool:
    """Whether ``by`` may see ``request``: the operator, its requester and audience, and the
    departments owning a field it asks for."""
    return (
        by.operator
        or by.party == request.requester
        or (by.audience is not None and by.audience == request.audience)
        or (by.department is not None and any(f.owner == by.department for f in request.fields))
    )


def request_id(request: Request) -> str:
    """The id in the path, bounded (an id is ``req-`` and 12 hex digits)."""
    value = str(request.path_params["id"])
    if len(value) > MAX_ID:
        raise ApiError(404, "no such sharing request", field="id")
    return value


def _change(
    name: str, document: dict[str, Any], by: Actor, now: datetime, calendar: WorkingCalendar
) -> Callable[[SharingRequest], SharingRequest]:
    """The step ``name`` with its body's arguments, to apply to the stored request."""
    reason = optional_text(document, "reason")
    if name == "review":
        conforms = flag(document, "conforms")
        return lambda r: steps.review(r, by, conforms, reason, now, calendar=calendar)
    if name == "withdraw":
        return lambda r: steps.withdraw(r, by, reason, now)
    fields: tuple[str, ...] = ()
    if name != "escalate" or document.get("fields") is not None:
        fields = names(document.get("fields"), "fields", 64)
    if name == "escalate":
        return lambda r: steps.escalate(r, by, fields, reason, now)
    grant = name == "grant"
    return lambda r: steps.decide(r, by, fields, grant, reason, now=now)


@contextmanager
def refusals() -> Iterator[None]:
    """Turns a step's RequestError into the API's refusal, naming the field."""
    try:
        yield
    except RequestError as exc:
        if exc.field is None:
            raise ApiError(exc.status, str(exc)) from None
        raise ApiError(exc.status, str(exc), field=exc.field) from None


def overdue_gauge(engine: sa.Engine, gauge: Gauge, contracts: Catalog) -> Callable[[], None]:
    """Sets ``gauge`` (``datong_sharing_requests_overdue``) from the store's open requests
    (blocking: a scrape calls it on a thread)."""
    owing = sorted({o for v in contracts.views() for o in v.field_owners.values()})

    def count() -> None:
        try:
            found = once_more_if_dead(lambda: list_requests(engine, OPEN_STATES))
        except sa.exc.SQLAlchemyError:
            # The other metrics are still served; the gauge keeps its last counts.
            log.warning("counting overdue sharing requests failed", exc_info=True)
            return
        for (stage, department), n in overdue_counts(found, owing, datetime.now(UTC)).items():
            gauge.labels(stage, department).set(n)

    return count
