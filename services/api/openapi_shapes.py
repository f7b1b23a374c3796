"""The shapes of the API's OpenAPI document: request bodies, the statuses each operation
answers with their response schemas, and path and query parameters with their types.

The ingest bodies are the events' JSON Schemas (``schemas.ingest_schema``), one component
per event; path parameters that name a department, an event or a view are enums of the
catalog's. ``services.api.docs`` puts these on the routes the app really serves.
"""

from __future__ import annotations

from typing import Any

from schemas.catalog import Catalog
from schemas.ingest_schema import body_schema, ingest_schema, record_name
from services.api import emergency_shapes
from services.api.request_shapes import request_body_of, request_shapes, responses_of

INGEST = "/ingest/{department}/{event}"
LISTING = "/ingest/{department}"
SCHEMA = "/ingest/{department}/{event}/schema"
PUBLIC = "/public/{name}"
REQUESTS = "/requests"  # sharing requests: their shapes are request_shapes.py's
ALERT_WORK = "/alerts/{alert_id}/work"
_VIEW_READS = ("/views/{view}", "/views/{view}/{key}", "/export/{view}", "/subscribe/{view}")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], media_type: str = "application/json") -> dict[str, Any]:
    return {"content": {media_type: {"schema": schema}}}


_ERROR = _json(_ref("Error"))
# Statuses every operation of a kind may answer, by what it is.
_REFUSALS = {
    "400": {"description": "a parameter or the body is malformed (named in the answer)", **_ERROR},
    "401": {"description": "no valid bearer token", **_ERROR},
    "403": {"description": "outside what the token may do", **_ERROR},
    "404": {"description": "no such department, event, view or row", **_ERROR},
}

_TEXT_RECORD = {"type": "object", "additionalProperties": True}
_PROVENANCE = {
    "type": "object",
    "description": "field -> the event that last set it",
    "additionalProperties": {
        "type": "object",
        "properties": {
            "department": {"type": "string"},
            "event_id": {"type": "string"},
            "event_time_ms": {"type": "integer"},
        },
    },
}


def components(catalog: Catalog) -> dict[str, Any]:
    """``components.schemas``: the answers' shapes and every event's ingest record."""
    shapes: dict[str, Any] = {
        "Error": {
            "type": "object",
            "description": "A refusal; other keys name what it refuses (field, parameter, ...).",
            "required": ["error", "status"],
            "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
            "additionalProperties": True,
        },
        "IngestAccepted": {
            "type": "object",
            "required": ["event_ids"],
            "properties": {"event_ids": {"type": "array", "items": {"type": "string"}}},
        },
        "IngestRefusal": {
            "type": "object",
            "description": "422: every invalid field of every record; none was published.",
            "required": ["error", "status", "errors"],
            "properties": {
                "error": {"type": "string"},
                "status": {"type": "integer"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "reason"],
                        "properties": {
                            "index": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                            "field": {"type": "string"},
                            "reason": {"type": "string"},
                        },
                    },
                },
            },
        },
        "IngestListing": {
            "type": "object",
            "required": ["department", "events"],
            "properties": {
                "department": {"type": "string"},
                "events": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["event", "name", "topic", "ingest", "schema"],
                        "properties": {
                            name: {"type": "string"}
                            for name in (
                                "event",
                                "name",
                                "topic",
                                "description",
                                "ingest",
                                "schema",
                            )
                        },
                    },
                },
            },
        },
        "ViewRecord": {
            "type": "object",
            "description": "A view row: its key, the fields the policy grants (timestamps in "
            "epoch ms), and their provenance.",
            "properties": {"provenance": _PROVENANCE},
            "additionalProperties": True,
        },
        "ViewPage": {
            "type": "object",
            "required": ["items", "next_cursor"],
            "properties": {
                "items": {"type": "array", "items": _ref("ViewRecord")},
                "next_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
        },
    }
    shapes |= emergency_shapes.COMPONENTS
    for contract in catalog.sources():
        shapes[record_name(contract)] = ingest_schema(contract)
    return shapes | request_shapes()


def path_parameter(name: str, catalog: Catalog) -> dict[str, Any]:
    """The schema of path parameter ``name``: an enum of the catalog's where it names one."""
    enums = {
        "department": catalog.departments(),
        "event": sorted({str(c.event) for c in catalog.sources()}),
        "view": sorted(str(c.view) for c in catalog.views()),
    }
    if name in enums:
        return {"type": "string", "enum": enums[name]}
    if name == "name":  # /public/{name}: a community code, then .json, .atom or nothing
        return {"type": "string", "pattern": r"^[0-9]{12}(\.json|\.atom)?$"}
    bounds = {"key": 128, "code": 64, "subject": 255, "id": 32}
    return {"type": "string", "maxLength": bounds.get(name, 255)}


def query_parameter(name: str, max_limit: int, default_limit: int) -> dict[str, Any]:
    """The schema of query parameter ``name``: numbers are integers within their bounds."""
    numbers = {
        "limit": {"minimum": 1, "maximum": max_limit, "default": default_limit},
        "days": {"minimum": 1, "maximum": 31, "default": 7},
    }
    if name in numbers:
        return {"type": "integer", **numbers[name]}
    if name == "overdue":
        return {"type": "string", "enum": ["true", "false"], "default": "false"}
    bounds = {"cursor": 2048, "community": 64}
    return {"type": "string", "maxLength": bounds.get(name, 1024)}


def request_body(
    method: str, path: str, catalog: Catalog, max_records: int
) -> dict[str, Any] | None:
    """The request body of an operation, or None when it takes none that is described."""
    if path.startswith(REQUESTS):
        return request_body_of(method, path)
    if (method, path) == ("POST", INGEST):
        records = {"anyOf": [_ref(record_name(c)) for c in catalog.sources()]}
        body = body_schema(records, max_records)
        body["description"] = (
            "One record or an array of records of the event in the path; each event's record "
            f"is its component (e.g. {record_name(catalog.sources()[0])}), also served at "
            "GET /ingest/{department}/{event}/schema."
        )
        return {"required": True, **_json(body)}
    if path in emergency_shapes.ROUTES:
        return emergency_shapes.request_body(method, path)
    return None


def responses(method: str, path: str, guarded: bool) -> dict[str, Any]:
    """Every status the operation answers, with its schema."""
    found: dict[str, Any] = {"200": {"description": "OK"}}
    if path.startswith(REQUESTS):
        found = responses_of(method, path, _ERROR) or found
    elif (method, path) == ("POST", INGEST):
        found = {
            "202": {
                "description": "published: the broker acknowledged every record",
                **_json(_ref("IngestAccepted")),
            },
            **{s: _REFUSALS[s] for s in ("400", "401", "403", "404")},
            "413": {"description": "the body or the batch is over the limits", **_ERROR},
            "422": {
                "description": "some record is invalid; none was published",
                **_json(_ref("IngestRefusal")),
            },
            "503": {
                "description": "the broker did not acknowledge; send the batch again",
                **_ERROR,
            },
        }
    elif (method, path) == ("GET", LISTING):
        found = {
            "200": {"description": "the department's events", **_json(_ref("IngestListing"))},
            "404": _REFUSALS["404"],
        }
    elif (method, path) == ("GET", SCHEMA):
        schema = {"type": "object", "description": "a JSON Schema (draft 2020-12)"}
        found = {
            "200": {
                "description": "the body's JSON Schema",
                **_json(schema, "application/schema+json"),
            },
            "404": _REFUSALS["404"],
        }
    elif (method, path) == ("GET", PUBLIC):
        release = {"type": "object", "description": "a release: k-anonymous counts only"}
        found = {
            "200": {
                "description": "the release: a page, .json or .atom",
                "content": {
                    "text/html": {"schema": {"type": "string"}},
                    "application/json": {"schema": release},
                    "application/atom+xml": {"schema": {"type": "string"}},
                },
            },
            "404": {"description": "no such community (or no data for it)", **_ERROR},
            "429": {"description": "too many requests from this address", **_ERROR},
        }
    elif path in emergency_shapes.ROUTES:
        found = emergency_shapes.responses(method, path, _ERROR)
    elif (method, path) == ("POST", ALERT_WORK):
        found = {
            "202": {"description": "published as the grid's event; the alert view follows"},
            **{s: _REFUSALS[s] for s in ("400", "404")},
            "409": {"description": "nobody has taken the alert: take it first", **_ERROR},
            "413": {"description": "the body is over 4 KiB", **_ERROR},
            "422": {"description": "a field is invalid (named in `field`)", **_ERROR},
            "503": {"description": "the broker did not acknowledge; send it again", **_ERROR},
        }
    elif method == "GET" and (path in _VIEW_READS or path.endswith("/history")):
        found = {
            "200": {"description": "OK", **_read_answer(path)},
            **{s: _REFUSALS[s] for s in ("400", "404")},
        }
    if guarded:
        found |= {s: _REFUSALS[s] for s in ("401", "403")}
    return dict(sorted(found.items()))


def _read_answer(path: str) -> dict[str, Any]:
    if path == "/views/{view}":
        return _json(_ref("ViewPage"))
    if path == "/views/{view}/{key}":
        return _json(_ref("ViewRecord"))
    if path.endswith("/history"):
        return _json({"type": "array", "items": _ref("ViewRecord")})
    if path == "/export/{view}":
        return _json(_TEXT_RECORD, "application/x-ndjson")
    return _json({"type": "string"}, "text/event-stream")
