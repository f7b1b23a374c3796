"""``/emergencies``: break-glass access declared, renewed, ended and listed over HTTP.

The health department's token declares for epidemic response (``POST /emergencies``), within
what ``emergency_rules.check_declarer`` lets it open, and renews or ends the emergencies it
declared; the hub operator does all of that, for any emergency, with ``datong emergency``.
Any valid token lists them (``GET /emergencies``): who may read what, and why, is no secret
from those it concerns. Bodies are read strictly: 400 naming the field, 403 for what the
caller may not open, 404 for an unknown id, 409 for an audience already under one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from schemas.json_bounds import JsonDepthError, loads_bounded
from services.access.emergencies import (
    declare_emergency,
    end_emergency,
    get_emergency,
    list_emergencies,
    renew_emergency,
)
from services.access.emergency_rules import (
    Actor,
    EmergencyError,
    check_declarer,
    check_openings,
    parse_declaration,
    parse_hours,
    parse_reason,
)
from services.access.policy import Policy
from services.api.authentication import Authenticator
from services.api.errors import ApiError

EMERGENCIES_ROUTE = "/emergencies"
MAX_BODY_BYTES = 64 * 1024  # a declaration of every audience and field fits many times over
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def emergency_routes(
    engine: sa.Engine,
    policy: Policy,
    owners: Mapping[str, Mapping[str, str]],
    authenticator: Authenticator,
    *,
    clock: Callable[[], datetime],
    changed: Callable[[], None],
) -> list[Route]:
    """The emergency routes; ``owners`` is each view field's owning department; ``changed``
    is called after each change (the API's own reads take it at once)."""

    async def actor(request: Request) -> Actor:
        principal = await authenticator.principal(request)
        if principal.department is None:
            raise ApiError(
                403,
                "an emergency is declared by the health department's token, or by the hub "
                "operator with `datong emergency declare`",
            )
        return Actor(f"department:{principal.department}", principal.token_id, principal.name)

    async def declare(request: Request) -> JSONResponse:
        """declare an emergency (health department token): extra fields and communities"""
        by = await actor(request)
        body = await _json_body(request)
        try:
            declaration = parse_declaration(body)
            check_openings(policy, declaration.openings)
            check_declarer(by, declaration.openings, owners, policy.derivation)
            emergency = await asyncio.to_thread(declare_emergency, engine, declaration, by, clock())
        except EmergencyError as exc:
            raise _refusal(exc) from None
        changed()
        return JSONResponse(emergency.as_json(clock()), status_code=201)

    async def listing(_: Request) -> JSONResponse:
        """every emergency, newest first, with its status"""
        now = clock()
        found = await asyncio.to_thread(list_emergencies, engine)
        return JSONResponse({"items": [e.as_json(now) for e in found]})

    async def renew(request: Request) -> JSONResponse:
        """keep an open emergency open from now (hours, at most 72) with a new reason"""
        by, emergency_id = await actor(request), _emergency_id(request)
        body = await _json_body(request)
        try:
            _only(body, {"reason", "hours"})
            hours, reason = parse_hours(body.get("hours")), parse_reason(body.get("reason"))
            await _declared_by(engine, emergency_id, by)
            emergency = await asyncio.to_thread(
                lambda: renew_emergency(
                    engine, emergency_id, hours=hours, reason=reason, by=by, now=clock()
                )
            )
        except EmergencyError as exc:
            raise _refusal(exc) from None
        changed()
        return JSONResponse(emergency.as_json(clock()))

    async def end(request: Request) -> JSONResponse:
        """end an emergency at once, with a reason"""
        by, emergency_id = await actor(request), _emergency_id(request)
        body = await _json_body(request)
        try:
            _only(body, {"reason"})
            reason = parse_reason(body.get("reason"))
            await _declared_by(engine, emergency_id, by)
            emergency = await asyncio.to_thread(
                end_emergency, engine, emergency_id, reason, by, clock()
            )
        except EmergencyError as exc:
            raise _refusal(exc) from None
        changed()
        return JSONResponse(emergency.as_json(clock()))

    return [
        Route(EMERGENCIES_ROUTE, declare, methods=["POST"]),
        Route(EMERGENCIES_ROUTE, listing, methods=["GET"]),
        Route(f"{EMERGENCIES_ROUTE}/{{id}}/renew", renew, methods=["POST"]),
        Route(f"{EMERGENCIES_ROUTE}/{{id}}/end", end, methods=["POST"]),
    ]


async def _declared_by(engine: sa.Engine, emergency_id: str, by: Actor) -> None:
    """A department renews or ends only the emergencies it declared (the operator any)."""
    emergency = await asyncio.to_thread(get_emergency, engine, emergency_id)
    if emergency.declared_by != by.who:
        raise EmergencyError(
            f"emergency {emergency_id} was declared by {emergency.declared_by}; only it or the "
            "hub operator (`datong emergency`) may renew or end it",
            "id",
            403,
        )


def _emergency_id(request: Request) -> str:
    value = str(request.path_params["id"])
    if not 1 <= len(value) <= 32 or not set(value) <= _ID_CHARS:
        raise ApiError(404, "no such emergency; see GET /emergencies", field="id")
    return value


def _only(body: Any, allowed: set[str]) -> None:
    if not isinstance(body, dict):
        raise EmergencyError(f"the body must be a JSON object with {', '.join(sorted(allowed))}")
    unknown = sorted(str(k) for k in body if k not in allowed)
    if unknown:
        raise EmergencyError(f"{unknown[0]}: unknown key", unknown[0])


def _refusal(exc: EmergencyError) -> ApiError:
    if exc.field is None:
        return ApiError(exc.status, str(exc))
    return ApiError(exc.status, str(exc), field=exc.field)


async def _json_body(request: Request) -> Any:
    """The JSON body, bounded in size and nesting; 400 or 413 otherwise."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isascii() or not declared.isdigit()):
        raise ApiError(400, "Content-Length must be ASCII digits")
    if declared and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the body is at most {MAX_BODY_BYTES} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"the body is at most {MAX_BODY_BYTES} bytes")
    try:
        return loads_bounded(body, max_depth=6)
    except (JsonDepthError, ValueError):
        raise ApiError(400, "the body must be JSON (an object, nested at most 6 deep)") from None
