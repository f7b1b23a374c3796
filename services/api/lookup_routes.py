"""``POST /views/resident_profile/lookup``: a resident found by ID number, never kept.

A grid worker knows a resident's ID number, not their ``person_key``. The number comes in a
POST body so that it never appears in a URL, a proxy's log or a browser's history; it is
checked (GB 11643 check digit) and turned into the ``person_key`` at once, and the answer
is exactly ``GET /views/resident_profile/{person_key}``'s: the same policy, the same 404
outside the reader's communities, the same audit record (which holds the key). The number
is never stored, logged, counted or echoed back, in an answer or an error. Lookups are
rate-limited per token (429 beyond), because each one tests a guess.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message

from schemas.json_bounds import JsonDepthError, loads_bounded
from services.api.authentication import Authenticator
from services.api.errors import ApiError
from services.api.rate_limit import RateLimit

VIEW = "resident_profile"
LOOKUP_ROUTE = f"/views/{VIEW}/lookup"
FIELD = "id_number"
# {"id_number": "<18 characters>"} with room for spaces; anything longer is not a lookup.
MAX_BODY_BYTES = 256

RowEndpoint = Callable[[Request], Awaitable[Response]]


class IdNumberError(ValueError):
    """The ID number is malformed; the message says why without repeating it."""


def lookup_routes(
    row: RowEndpoint,
    authenticator: Authenticator,
    pseudonymize: Callable[[str], str],
    limit: RateLimit,
) -> list[Route]:
    """The lookup route: ``row`` answers for the key that ``pseudonymize`` makes of the number
    (raising IdNumberError for a malformed one)."""

    async def lookup(request: Request) -> Response:
        """a resident_profile row by ID number in a POST body (audience token; rate-limited)"""
        principal = await authenticator.principal(request)
        wait = limit.take(principal.token_id)
        if wait > 0:
            raise ApiError(
                429,
                f"too many lookups with this token: at most {limit.per_minute} a minute",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        try:
            key = pseudonymize(await _id_number(request))
        except IdNumberError as exc:
            raise ApiError(422, f"{FIELD}: {exc}", field=FIELD) from None
        # Answered as the row route answers its key: the same policy, 404 and audit record.
        forwarded = {**request.scope, "method": "GET", "path_params": {"view": VIEW, "key": key}}
        return await row(Request(forwarded, _no_body))

    return [Route(LOOKUP_ROUTE, lookup, methods=["POST"])]


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _id_number(request: Request) -> str:
    """The ID number of a lookup's body; 400/413/422 naming the field, never its value."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isascii() or not declared.isdigit()):
        raise ApiError(400, "Content-Length must be ASCII digits")
    if declared and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"a lookup body is at most {MAX_BODY_BYTES} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"a lookup body is at most {MAX_BODY_BYTES} bytes")
    try:
        document = loads_bounded(body, max_depth=2)
    except (JsonDepthError, ValueError):
        raise ApiError(400, 'the body must be JSON: {"id_number": "<18 characters>"}') from None
    if not isinstance(document, dict) or set(document) != {FIELD}:
        raise ApiError(
            422, 'the body must be exactly {"id_number": "<18 characters>"}', field=FIELD
        )
    value = document[FIELD]
    if not isinstance(value, str):
        raise ApiError(422, f"{FIELD} must be a string", field=FIELD)
    return value
