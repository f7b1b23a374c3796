"""The bodies of the sharing request routes, parsed strictly: every refusal names its field.

A body is a JSON object of at most ``MAX_BODY_BYTES``, with only the keys its route takes;
texts are bounded, lists too, numbers are integers (never booleans). Pure but for reading
the request's body.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from schemas.json_bounds import JsonDepthError, loads_bounded
from services.access.sharing_requests import MAX_NEEDED_DAYS, Filing
from services.api.errors import ApiError
from services.api.params import MAX_COMMUNITY_CHARS

MAX_BODY_BYTES = 16_384
MAX_TEXT = 1000  # purpose, scenario, reason
MAX_NAME = 64  # audience, view, field names
MAX_ITEMS = 100  # fields, communities
FILING_KEYS = {"audience", "view", "fields", "communities", "purpose", "scenario", "needed_days"}
STEP_KEYS = {
    "review": {"conforms", "reason"},
    "grant": {"fields", "reason"},
    "refuse": {"fields", "reason"},
    "escalate": {"fields", "reason"},
    "withdraw": {"reason"},
}


async def json_body(request: Request, keys: set[str]) -> dict[str, Any]:
    """The body as a JSON object holding only ``keys``; 400/413/422 naming what is wrong."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isascii() or not declared.isdigit()):
        raise ApiError(400, "Content-Length must be ASCII digits")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"a request body is at most {MAX_BODY_BYTES} bytes")
    try:
        document = loads_bounded(body or b"{}", max_depth=3)
    except (JsonDepthError, ValueError):
        raise ApiError(400, "the body must be a JSON object") from None
    if not isinstance(document, dict):
        raise ApiError(400, "the body must be a JSON object")
    for key in document:
        if key not in keys:
            raise ApiError(
                422,
                f"unknown field {key!r}; fields: {', '.join(sorted(keys))}",
                field=str(key)[:MAX_NAME],
            )
    return document


def filing(document: dict[str, Any], audience: str | None) -> Filing:
    """A filing from ``POST /requests``'s body; ``audience`` is the token's (the default)."""
    named = document.get("audience", audience)
    if named is None:
        raise ApiError(422, "audience is required with a department token", field="audience")
    communities = document.get("communities")
    return Filing(
        audience=text(named, "audience", MAX_NAME),
        view=text(_required(document, "view"), "view", MAX_NAME),
        fields=names(_required(document, "fields"), "fields", MAX_NAME),
        purpose=text(_required(document, "purpose"), "purpose", MAX_TEXT),
        scenario=text(_required(document, "scenario"), "scenario", MAX_TEXT),
        needed_days=days(_required(document, "needed_days")),
        communities=None
        if communities is None
        else frozenset(names(communities, "communities", MAX_COMMUNITY_CHARS)),
    )


def text(value: Any, field: str, max_chars: int) -> str:
    """A non-empty string of at most ``max_chars``, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, f"{field} must be a non-empty string", field=field)
    if len(value) > max_chars:
        raise ApiError(422, f"{field} is longer than {max_chars} characters", field=field)
    return value.strip()


def optional_text(document: dict[str, Any], field: str) -> str | None:
    """``field`` of the body as a bounded string, or None when absent or null."""
    value = document.get(field)
    return None if value is None else text(value, field, MAX_TEXT)


def names(value: Any, field: str, max_chars: int) -> tuple[str, ...]:
    """A list of 1 to ``MAX_ITEMS`` distinct non-empty strings."""
    if not isinstance(value, list) or not 0 < len(value) <= MAX_ITEMS:
        raise ApiError(422, f"{field} must be a list of 1 to {MAX_ITEMS} names", field=field)
    found = tuple(text(v, field, max_chars) for v in value)
    if len(set(found)) != len(found):
        raise ApiError(422, f"{field} names one twice", field=field)
    return found


def days(value: Any) -> int:
    """``needed_days``: an integer from 1 to ``MAX_NEEDED_DAYS``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(422, "needed_days must be an integer", field="needed_days")
    if not 0 < value <= MAX_NEEDED_DAYS:
        raise ApiError(422, f"needed_days is 1 to {MAX_NEEDED_DAYS}", field="needed_days")
    return value


def flag(document: dict[str, Any], field: str) -> bool:
    """A required boolean."""
    value = _required(document, field)
    if not isinstance(value, bool):
        raise ApiError(422, f"{field} must be true or false", field=field)
    return value


def _required(document: dict[str, Any], field: str) -> Any:
    if document.get(field) is None:
        raise ApiError(422, f"{field} is required", field=field)
    return document[field]
