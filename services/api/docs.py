"""The API's description: an OpenAPI 3 document at ``/openapi.json`` and a page at ``/docs``.

The document is built from the routes the app really serves (so a route cannot go
undocumented unnoticed): each operation takes its words from ``OPERATIONS``, or else from
the first line of its endpoint's docstring, and its request body, statuses, response
schemas and parameter types from ``openapi_shapes`` (the ingest bodies are the events'
JSON Schemas, built from the contracts). The page is plain HTML rendered on the server:
no script, no CDN, readable offline.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from schemas.catalog import Catalog
from services.api.openapi_shapes import (
    components,
    path_parameter,
    query_parameter,
    request_body,
    responses,
)
from services.api.route_guard import OPEN_PATHS, OPEN_READS_UNDER, registry_reads
from services.api.view_routes import DEFAULT_LIMIT, MAX_LIMIT

TITLE = "datong API"
UNDOCUMENTED = "(undocumented)"


@dataclass(frozen=True)
class Operation:
    """Words for one operation: summary, description and query parameters (name -> words)."""

    summary: str
    description: str = ""
    query: dict[str, str] = field(default_factory=dict)


_FIELDS = "comma-separated fields to return (default: every granted field); 403 outside the grant"
_COMMUNITY = "one community code (default: every community the audience's policy covers)"
_REGISTRY = "Confluent Schema Registry REST API: "

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/healthz"): Operation("liveness: the process answers"),
    ("GET", "/readyz"): Operation(
        "readiness: the view store answers (503 if not), checked at most every 2 s; "
        "the subscriptions' Kafka consumer is reported, not required"
    ),
    ("GET", "/metrics"): Operation(
        "Prometheus metrics (the bearer DATONG_METRICS_TOKEN when DATONG_METRICS_AUTH=token)"
    ),
    ("GET", "/openapi.json"): Operation("this document"),
    ("GET", "/docs"): Operation("this document as an HTML page"),
    ("GET", "/asyncapi.yaml"): Operation("AsyncAPI 3 description of every topic and its schema"),
    ("GET", "/catalog"): Operation(
        "the data catalogue (any token): every view field's owner, sharing class and readers",
        "Generated from the contracts, the field classes and the sharing policy, with each "
        "owning department's newest event beside the cadence it is expected to keep. A browser "
        "asking for HTML gets the catalogue's page instead (no token needed for the page).",
    ),
    ("GET", "/public/{name}"): Operation(
        "the release to residents of a community (no token): /public/{code}, .json or .atom",
        "Quarantined households and pending deliveries by building and in all, renovation "
        "projects with their stage and progress, and notices of change, as a page, JSON or "
        "an Atom feed. Made at fixed instants and unchanged until the next one; every count "
        "is k-anonymous (DATONG_PUBLIC_MIN_COUNT), rounded down to DATONG_PUBLIC_ROUND_BASE, "
        "withheld (null) when under k or when it could tell one that is. 404 for anything but "
        "a 12-digit community the views hold; 429 beyond DATONG_PUBLIC_PER_MINUTE per address.",
    ),
    ("POST", "/emergencies"): Operation(
        "declare an emergency (health department token): extra fields and communities, at once",
        "Break-glass access for up to 72 hours: which audiences get which extra fields (per "
        "view) and communities, and why. The health department opens only fields it owns; "
        "never a not_shared field, nor a derived value without its inputs. Every read that "
        "takes what only the emergency gives is flagged in the read audit with its id. The "
        "hub operator declares with `datong emergency declare`.",
    ),
    ("GET", "/emergencies"): Operation(
        "every emergency with its status: open, ended or expired (any token)"
    ),
    ("POST", "/emergencies/{id}/renew"): Operation(
        "keep an emergency the caller declared open, from now, with a new reason",
        "At most 72 hours from the renewal; a closed emergency is not renewed (409).",
    ),
    ("POST", "/emergencies/{id}/end"): Operation(
        "end an emergency the caller declared, at once, with a reason",
        "Its extra fields are refused on the next read, and a stream that depended on it ends.",
    ),
    ("GET", "/quality"): Operation(
        "every feed scorecard the token may read: all of them for the operator's audiences "
        "(DATONG_QUALITY_AUDIENCES), a department's own for its token",
        "Per department and China-time day: rows received, published, rejected by reason, "
        "addresses parked and resolved, conflicts, timeliness p50/p95 (event_time to arrival), "
        "freshness and the completeness of optional fields, counted from the topics by "
        '`datong quality`. Answer: {"days": N, "feeds": [scorecard, ...]}. A browser asking '
        "for HTML gets the page instead (no token needed for the page).",
    ),
    ("GET", "/quality/{department}"): Operation(
        "one department's feed scorecard (the operator's audiences, or the department itself)",
        "The scorecard of GET /quality for one department; 403 for any other token, 404 for a "
        "department the catalog does not know.",
    ),
    ("GET", "/requests"): Operation(
        "the sharing requests this token may see (any token; the operator sees all)",
        "Deadlines count working days on the State Council calendar; `overdue` lists each "
        "late answer by stage and department.",
        {"overdue": "true: only requests with a late answer"},
    ),
    ("GET", "/views/{view}"): Operation(
        "a page of a view's rows (audience token)",
        "Rows in (community_code, key) order, each filtered by the audience's sharing policy. "
        'Answer: {"items": [...], "next_cursor": "..." or null}.',
        {
            "community": _COMMUNITY,
            "limit": f"rows per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})",
            "cursor": "next_cursor of the previous page (opaque)",
            "fields": _FIELDS,
        },
    ),
    ("GET", "/subscribe/{view}"): Operation(
        "live changes of a view as Server-Sent Events (audience token)",
        "Events `change` (the record, filtered by the sharing policy) and `delete` (the key), "
        "with heartbeats as comment lines. Each event id is the reader's position in the view "
        "topic; send it back as `Last-Event-ID` to resume without missing a change. Browsers' "
        "EventSource may pass the token as `access_token`.",
        {"community": _COMMUNITY, "fields": _FIELDS, "access_token": "the bearer token"},
    ),
    ("GET", "/views/community_situation/{code}/history"): Operation(
        "a community's hourly situation snapshots (audience token)",
        "Oldest first, the current situation last.",
        {"days": "how many days back, 1 to 31 (default 7)"},
    ),
    ("GET", "/views/{view}/{key}"): Operation(
        "one row of a view by key (audience token)",
        "404 when absent or outside the audience's communities.",
        {"fields": _FIELDS},
    ),
    ("GET", "/export/{view}"): Operation(
        "every row of a view as JSON lines, streamed (audience token)",
        "The same rows and fields as the list, one JSON record per line.",
        {"community": _COMMUNITY, "fields": _FIELDS},
    ),
    ("POST", "/ingest/{department}/{event}"): Operation(
        "publish a department's events (department token)",
        "A JSON object or an array of them in the event's contract (its JSON Schema: "
        "GET /ingest/{department}/{event}/schema); 202 with the event ids, 422 naming every "
        "invalid field (none is published then).",
    ),
    ("GET", "/ingest/{department}"): Operation(
        "the events a department may push, with their schema links (no token)",
        "Open like the registry's reads: the contracts, never data.",
    ),
    ("GET", "/ingest/{department}/{event}/schema"): Operation(
        "the JSON Schema (draft 2020-12) of an event's request body (no token)",
        "One record or an array of them; 404 when the event is not the department's.",
    ),
    ("GET", "/registry/subjects"): Operation(_REGISTRY + "list subjects"),
    ("GET", "/registry/subjects/{subject}/versions"): Operation(_REGISTRY + "list versions"),
    ("POST", "/registry/subjects/{subject}/versions"): Operation(
        _REGISTRY + "register a schema (the subject's department's token)"
    ),
    ("GET", "/registry/subjects/{subject}/versions/{version}"): Operation(
        _REGISTRY + "one version"
    ),
    ("DELETE", "/registry/subjects/{subject}/versions/{version}"): Operation(
        _REGISTRY + "delete a version (the subject's department's token)"
    ),
    ("GET", "/registry/subjects/{subject}/versions/{version}/schema"): Operation(
        _REGISTRY + "one version's schema text"
    ),
    ("POST", "/registry/subjects/{subject}"): Operation(
        _REGISTRY + "look up a schema under a subject"
    ),
    ("DELETE", "/registry/subjects/{subject}"): Operation(
        _REGISTRY + "delete a subject (the subject's department's token)"
    ),
    ("GET", "/registry/schemas/ids/{schema_id}"): Operation(_REGISTRY + "a schema by id"),
    ("GET", "/registry/schemas/ids/{schema_id}/schema"): Operation(
        _REGISTRY + "a schema's text by id"
    ),
    ("GET", "/registry/schemas/types"): Operation(_REGISTRY + "supported schema types"),
    ("POST", "/registry/compatibility/subjects/{subject}/versions"): Operation(
        _REGISTRY + "test compatibility with every version"
    ),
    ("POST", "/registry/compatibility/subjects/{subject}/versions/{version}"): Operation(
        _REGISTRY + "test compatibility with one version"
    ),
    ("GET", "/registry/config"): Operation(_REGISTRY + "global compatibility level"),
    ("PUT", "/registry/config"): Operation(
        _REGISTRY + "set the global compatibility level (the hub operator's: 403 to any token)"
    ),
    ("GET", "/registry/config/{subject}"): Operation(_REGISTRY + "a subject's compatibility"),
    ("PUT", "/registry/config/{subject}"): Operation(
        _REGISTRY + "set a subject's compatibility (the subject's department's token)"
    ),
    ("DELETE", "/registry/config/{subject}"): Operation(
        _REGISTRY + "reset a subject's compatibility (the subject's department's token)"
    ),
}


@dataclass(frozen=True)
class Described:
    """What the document describes beyond the routes: the contracts of the ingest bodies
    and path parameters, and the intake's batch limit."""

    catalog: Catalog
    max_records: int = 1000


def docs_routes(
    open_paths: Collection[str] = OPEN_PATHS, described: Described | None = None
) -> list[Route]:
    """``/openapi.json`` and ``/docs``, describing whatever routes the app serves
    (``open_paths``: the paths the app serves without a token)."""
    described = described or Described(Catalog.load())

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(openapi_document(request.app.routes, open_paths, described))

    async def docs(request: Request) -> HTMLResponse:
        document = openapi_document(request.app.routes, open_paths, described)
        return HTMLResponse(render_html(document))

    return [Route("/openapi.json", openapi), Route("/docs", docs)]


def endpoints(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str, Any]]:
    """(method, path, endpoint) of every operation, mounted ones included; HEAD left out."""
    for route in routes:
        if isinstance(route, Mount):
            yield from endpoints(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            path = prefix + re.sub(r"{(\w+):[^}]*}", r"{\1}", route.path)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                yield method, path, route.endpoint


def openapi_document(
    routes: Iterable[BaseRoute],
    open_paths: Collection[str] = OPEN_PATHS,
    described: Described | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``."""
    described = described or Described(Catalog.load())
    paths: dict[str, dict[str, Any]] = {}
    for method, path, endpoint in endpoints(routes):
        operation = _operation(method, path, endpoint, open_paths, described)
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": "1",
            "description": "Shared views of a residential community's departments, read under "
            "sharing policies; department events published over HTTP.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": components(described.catalog),
        },
        "paths": paths,
    }


def _operation(
    method: str,
    path: str,
    endpoint: Any,
    open_paths: Collection[str],
    described: Described,
) -> dict[str, Any]:
    words = OPERATIONS.get((method, path)) or Operation(_first_line(endpoint))
    open_ = path in open_paths or (
        path.startswith(OPEN_READS_UNDER + "/") and method in registry_reads(path)
    )
    catalog = described.catalog
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": path_parameter(name, catalog)}
        for name in re.findall(r"{(\w+)}", path)
    ] + [
        {
            "name": name,
            "in": "query",
            "description": text,
            "schema": query_parameter(name, MAX_LIMIT, DEFAULT_LIMIT),
        }
        for name, text in words.query.items()
    ]
    operation: dict[str, Any] = {
        "summary": words.summary,
        "operationId": f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', path)}".rstrip("_"),
        "security": [] if open_ else [{"bearer": []}],
        "responses": responses(method, path, guarded=not open_),
    }
    if words.description:
        operation["description"] = words.description
    if parameters:
        operation["parameters"] = parameters
    body = request_body(method, path, catalog, described.max_records)
    if body is not None:
        operation["requestBody"] = body
    return operation


def _first_line(endpoint: Any) -> str:
    doc = (getattr(endpoint, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else UNDOCUMENTED


def render_html(document: dict[str, Any]) -> str:
    """The document as a plain HTML page: one row per operation."""
    rows = []
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            params = ", ".join(f"{p['name']} ({p['in']})" for p in op.get("parameters", []))
            auth = "bearer token" if op["security"] else "open"
            detail = op.get("description", "")
            rows.append(
                "<tr>"
                f"<td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op['summary'])}<br><small>{html.escape(detail)}</small></td>"
                f"<td>{html.escape(params)}</td><td>{auth}</td>"
                "</tr>"
            )
    title = html.escape(document["info"]["title"])
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
        "</style></head><body>"
        f"<h1>{title}</h1><p>{html.escape(document['info']['description'])}</p>"
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a> (OpenAPI "
        f"{html.escape(document['openapi'])}), events: <a href='/asyncapi.yaml'>/asyncapi.yaml"
        "</a>. Send tokens as <code>Authorization: Bearer &lt;token&gt;</code>.</p>"
        "<table><tr><th>method</th><th>path</th><th>what</th><th>parameters</th>"
        "<th>auth</th></tr>" + "".join(rows) + "</table></body></html>"
    )
