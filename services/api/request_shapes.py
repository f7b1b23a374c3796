"""The OpenAPI shapes of ``/requests``: each body as ``request_bodies.py`` parses it, each
answer as ``request_documents.shown`` writes it, and each status a step may answer."""

from __future__ import annotations

from typing import Any

from services.access.sharing_requests import MAX_NEEDED_DAYS
from services.api.request_bodies import MAX_ITEMS, MAX_NAME, MAX_TEXT, STEP_KEYS

PREFIX = "/requests"
_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
_NAMES = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_ITEMS,
    "uniqueItems": True,
    "items": {"type": "string", "minLength": 1, "maxLength": MAX_NAME},
}
_DEADLINE = {
    "type": "object",
    "properties": {"day": {"type": "string", "format": "date"}, "provisional": {"type": "boolean"}},
}
FILING = {
    "type": "object",
    "additionalProperties": False,
    "required": ["view", "fields", "purpose", "scenario", "needed_days"],
    "properties": {
        "audience": {
            "type": "string",
            "maxLength": MAX_NAME,
            "description": "the audience the grant is for (an audience token's own)",
        },
        "view": {"type": "string", "maxLength": MAX_NAME},
        "fields": _NAMES,
        "communities": {**_NAMES, "description": "the audience's own (the default); no other"},
        "purpose": _TEXT,
        "scenario": _TEXT,
        "needed_days": {"type": "integer", "minimum": 1, "maximum": MAX_NEEDED_DAYS},
    },
}
_STEP_PROPERTIES: dict[str, Any] = {
    "conforms": {"type": "boolean"},
    "reason": _TEXT,
    "fields": _NAMES,
}
SHARING_REQUEST = {
    "type": "object",
    "description": "A sharing request with its answers, deadlines (working days) and history.",
    "properties": {
        "id": {"type": "string"},
        "requester": {"type": "string", "description": "audience:<name> or department:<name>"},
        "audience": {"type": "string"},
        "view": {"type": "string"},
        "state": {"enum": ["filed", "forwarded", "escalated", "resolved", "withdrawn", "expired"]},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "sharing": {"type": "string"},
                    "owner": {"type": "string"},
                    "decision": {"enum": ["pending", "granted", "refused"]},
                    "reason": {"type": ["string", "null"]},
                },
            },
        },
        "review_due": _DEADLINE,
        "provider_due": {"type": "object", "additionalProperties": _DEADLINE},
        "expires_at": {"type": "string", "format": "date-time"},
        "overdue": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "stage": {"enum": ["review", "provider"]},
                    "department": {"type": "string"},
                },
            },
        },
        "steps": {"type": "array", "items": {"type": "object"}},
    },
}


def request_shapes() -> dict[str, Any]:
    """The components ``SharingRequest`` and ``SharingRequestList``."""
    listing = {
        "type": "object",
        "properties": {
            "viewer": {"type": "object", "description": "who the token is"},
            "requests": {"type": "array", "items": {"$ref": "#/components/schemas/SharingRequest"}},
        },
    }
    return {"SharingRequest": SHARING_REQUEST, "SharingRequestList": listing}


def request_body_of(method: str, path: str) -> dict[str, Any] | None:
    """The JSON body of a request route's operation, or None."""
    if method != "POST" or not path.startswith(PREFIX):
        return None
    if path == PREFIX:
        return _body(FILING)
    step = path.rsplit("/", 1)[-1]
    keys = STEP_KEYS.get(step, set())
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {k: _STEP_PROPERTIES[k] for k in sorted(keys)},
        "required": ["conforms"] if step == "review" else ["fields"] if step == "grant" else [],
    }
    if step == "refuse":
        schema["required"] = ["fields", "reason"]
    return _body(schema)


def responses_of(method: str, path: str, error: dict[str, Any]) -> dict[str, Any] | None:
    """Every status of a request route's operation, or None for another route."""
    if not path.startswith(PREFIX):
        return None
    one = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SharingRequest"}}}
    }
    if (method, path) == ("GET", PREFIX):
        listing = {"$ref": "#/components/schemas/SharingRequestList"}
        return {
            "200": {
                "description": "the requests this token may see",
                "content": {"application/json": {"schema": listing}},
            },
            "400": {"description": "overdue is not true or false", **error},
        }
    found: dict[str, Any] = {
        "404": {"description": "no such request (or not this token's)", **error}
    }
    if method == "GET":
        return {"200": {"description": "the request", **one}, **found}
    found["422"] = {"description": "the body is invalid (the field is named)", **error}
    found["400"] = {"description": "not JSON, or a step's rule (the field is named)", **error}
    found["413"] = {"description": "the body is too large", **error}
    if path == PREFIX:
        return {"201": {"description": "filed", **one}, **found}
    found["409"] = {"description": "the request's state does not allow this step", **error}
    return {"200": {"description": "the request after the step", **one}, **found}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}
