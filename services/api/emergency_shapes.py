"""The OpenAPI shapes of ``/emergencies``: the declaration, renewal and end bodies, the
emergency as answered, and the statuses each route answers (``emergency_routes.py``)."""

from __future__ import annotations

from typing import Any

from services.access.emergency import MAX_HOURS
from services.access.emergency_rules import MAX_AUDIENCES, MAX_NAMES, MAX_REASON_CHARS

EMERGENCIES = "/emergencies"
RENEW = "/emergencies/{id}/renew"
END = "/emergencies/{id}/end"
ROUTES = frozenset({EMERGENCIES, RENEW, END})

_REF = "#/components/schemas/"
_REASON = {"type": "string", "minLength": 1, "maxLength": MAX_REASON_CHARS}
_HOURS = {"type": "integer", "minimum": 1, "maximum": MAX_HOURS}
_NAMES = {"type": "array", "maxItems": MAX_NAMES, "uniqueItems": True, "items": {"type": "string"}}
_OPENING = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "communities": {
            "description": 'extra communities: codes, or "*" for every community',
            "anyOf": [{"const": "*"}, _NAMES],
        },
        "views": {
            "type": "object",
            "description": "view -> the extra fields (and, for alerts, alert types) it opens",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"fields": _NAMES, "alert_types": _NAMES},
            },
        },
    },
}

COMPONENTS: dict[str, Any] = {
    "EmergencyDeclaration": {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason", "hours", "audiences"],
        "properties": {
            "reason": _REASON,
            "hours": _HOURS,
            "audiences": {
                "type": "object",
                "minProperties": 1,
                "maxProperties": MAX_AUDIENCES,
                "description": "audience -> what the emergency opens to it",
                "additionalProperties": _OPENING,
            },
        },
    },
    "Emergency": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": ["open", "ended", "expired"]},
            "declared_by": {"type": "string"},
            "reason": {"type": "string"},
            "opened_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": "string", "format": "date-time"},
            "ended_at": {"type": ["string", "null"], "format": "date-time"},
            "ended_by": {"type": ["string", "null"]},
            "end_reason": {"type": ["string", "null"]},
            "audiences": {"type": "object", "additionalProperties": _OPENING},
        },
    },
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def request_body(method: str, path: str) -> dict[str, Any] | None:
    """The body of an emergency route, or None."""
    if method != "POST":
        return None
    if path == EMERGENCIES:
        return {"required": True, **_json({"$ref": f"{_REF}EmergencyDeclaration"})}
    fields: dict[str, Any] = {"reason": _REASON}
    if path == RENEW:
        fields["hours"] = _HOURS
    if path in (RENEW, END):
        schema = {
            "type": "object",
            "additionalProperties": False,
            "required": sorted(fields),
            "properties": fields,
        }
        return {"required": True, **_json(schema)}
    return None


def responses(method: str, path: str, error: dict[str, Any]) -> dict[str, Any]:
    """The statuses of an emergency route beyond 401 and 403 (``error``: a refusal's shape)."""
    one = _json({"$ref": f"{_REF}Emergency"})
    if method == "GET":
        listing = {"type": "object", "properties": {"items": {"type": "array", "items": {
            "$ref": f"{_REF}Emergency"}}}}  # fmt: skip
        return {"200": {"description": "every emergency, newest first", **_json(listing)}}
    refusals = {
        "400": {"description": "the body is malformed (the field is named)", **error},
        "403": {"description": "not the caller's to declare, renew or end", **error},
        "413": {"description": "the body is over 64 KiB", **error},
    }
    if path == EMERGENCIES:
        return {
            "201": {"description": "declared: open at once", **one},
            "409": {"description": "an audience is already under an open emergency", **error},
            **refusals,
        }
    return {
        "200": {"description": "renewed or ended", **one},
        "404": {"description": "no such emergency", **error},
        "409": {"description": "the emergency is closed", **error},
        **refusals,
    }
