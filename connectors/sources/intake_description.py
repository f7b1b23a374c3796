"""What the HTTP intake takes, served beside it: ``GET /ingest/{department}`` lists a
department's events and their schema links, ``GET /ingest/{department}/{event}/schema``
serves one event's JSON Schema (``schemas.ingest_schema``).

Both are open, like the schema registry's reads and ``/asyncapi.yaml``: they describe
contracts, never data, and a department codes against them before it has a token.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from schemas.catalog import Catalog, Contract
from schemas.ingest_schema import body_schema, ingest_schema, standalone

DEPARTMENT_ROUTE = "/ingest/{department}"
SCHEMA_ROUTE = "/ingest/{department}/{event}/schema"
SCHEMA_MEDIA_TYPE = "application/schema+json"


def event_paths(department: str, event: str) -> dict[str, str]:
    """Where an event is pushed and where its schema is read."""
    return {
        "ingest": f"/ingest/{department}/{event}",
        "schema": f"/ingest/{department}/{event}/schema",
    }


def department_listing(catalog: Catalog, department: str) -> dict[str, Any]:
    """``GET /ingest/{department}``'s answer: the department's events and their links."""
    return {
        "department": department,
        "events": [
            {
                "event": contract.event,
                "name": contract.name,
                "topic": contract.topic,
                "description": contract.schema.get("doc", ""),
                **event_paths(department, str(contract.event)),
            }
            for contract in catalog.sources(department)
        ],
    }


def description_routes(catalog: Catalog, max_records: int) -> list[Route]:
    """The two routes, over ``catalog``; a body holds at most ``max_records`` records."""
    departments = set(catalog.departments())
    listings = {d: department_listing(catalog, d) for d in departments}
    schemas: dict[tuple[str, str], dict[str, Any]] = {}

    def schema_of(contract: Contract) -> dict[str, Any]:
        key = (str(contract.department), str(contract.event))
        if key not in schemas:
            body = body_schema({"$ref": "#/$defs/record"}, max_records)
            body["$defs"] = {"record": ingest_schema(contract)}
            body["title"] = f"{contract.name}: a record or an array of records"
            schemas[key] = standalone(body, event_paths(*key)["schema"])
        return schemas[key]

    def unknown_department(department: str) -> JSONResponse:
        message = f"no department {department!r}; departments: {', '.join(sorted(departments))}"
        return JSONResponse({"error": message, "status": 404}, status_code=404)

    async def listing(request: Request) -> JSONResponse:
        """the events a department may push, with their schema links (no token)"""
        department = request.path_params["department"]
        if department not in listings:
            return unknown_department(department)
        return JSONResponse(listings[department])

    async def schema(request: Request) -> JSONResponse:
        """the JSON Schema of an event's request body (no token)"""
        department, event = request.path_params["department"], request.path_params["event"]
        if department not in listings:
            return unknown_department(department)
        owned = {c.event: c for c in catalog.sources(department)}
        if event not in owned:
            events = ", ".join(sorted(str(e) for e in owned))
            message = f"{department} has no event {event!r}; its events: {events}"
            return JSONResponse({"error": message, "status": 404}, status_code=404)
        return JSONResponse(schema_of(owned[event]), media_type=SCHEMA_MEDIA_TYPE)

    return [Route(DEPARTMENT_ROUTE, listing), Route(SCHEMA_ROUTE, schema)]
