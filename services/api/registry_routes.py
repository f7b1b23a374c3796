"""The embedded schema registry's REST face: the Confluent Schema Registry API under /registry.

Any Confluent-compatible client (confluent-kafka, Karapace tools, Kafka Connect converters)
can point its ``schema.registry.url`` at ``<api>/registry``. Answers use Confluent's
content type and error bodies ``{"error_code": 40401, "message": "..."}``. The store and
its rules live in ``services.store.registry_store``; this module only speaks HTTP.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from schemas.errors import RegistryError
from schemas.json_bounds import JsonDepthError, loads_bounded
from schemas.registry.errors import (
    InvalidCompatibilityLevelError,
    InvalidSchemaError,
    InvalidSubjectError,
    InvalidVersionError,
    RegistryRequestError,
    SchemaNotFoundError,
)
from schemas.registry.port import SubjectVersion
from services.api.params import ascii_number
from services.store.registry_store import SqlRegistry

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
MAX_VERSION = 2**31 - 1
MAX_SUBJECT_CHARS = 255  # the store's column
MAX_SCHEMA_ID = 2**31 - 1  # Confluent's ids are 32-bit, and so is the store's column
# The catalog's largest schema is about 5 KiB; lookups need no token, so the body a caller
# can make the API hold is bounded.
MAX_BODY_BYTES = 256 * 1024

Endpoint = Callable[[Request], Awaitable[Response]]


class RegistryResponse(JSONResponse):
    """JSON with Confluent's content type."""

    media_type = MEDIA_TYPE


def registry_routes(
    registry: SqlRegistry, gate: Callable[[str, ASGIApp], ASGIApp] | None = None
) -> Mount:
    """The registry's routes, to mount into the API: ``routes=[..., registry_routes(r)]``.

    ``gate(path, app)`` wraps each route (the API's: writes scoped to their department and
    audited, ``services.api.registry_writes``).
    """
    api = _Endpoints(registry)
    mount = Mount(
        "/registry",
        routes=[
            Route("/subjects", api.subjects, methods=["GET"]),
            Route("/subjects/{subject}/versions", api.versions, methods=["GET", "POST"]),
            Route("/subjects/{subject}/versions/{version}", api.version, methods=["GET", "DELETE"]),
            Route("/subjects/{subject}/versions/{version}/schema", api.raw_version),
            Route("/subjects/{subject}", api.subject, methods=["POST", "DELETE"]),
            Route("/schemas/ids/{schema_id}", api.schema_by_id),
            Route("/schemas/ids/{schema_id}/schema", api.raw_schema_by_id),
            Route("/schemas/types", api.schema_types),
            Route("/compatibility/subjects/{subject}/versions", api.compatible, methods=["POST"]),
            Route(
                "/compatibility/subjects/{subject}/versions/{version}",
                api.compatible,
                methods=["POST"],
            ),
            Route("/config", api.config, methods=["GET", "PUT"]),
            Route("/config/{subject}", api.subject_config, methods=["GET", "PUT", "DELETE"]),
        ],
    )
    for route in mount.routes:
        if gate is not None and isinstance(route, Route):
            route.app = gate(route.path, route.app)
    return mount


def _confluent(endpoint: Callable[[Any, Request], Awaitable[Any]]) -> Any:
    """Answer with the endpoint's value as JSON, and registry errors as Confluent bodies."""

    @functools.wraps(endpoint)
    async def wrapper(self: Any, request: Request) -> Response:
        try:
            result = await endpoint(self, request)
        except RegistryRequestError as exc:
            return _error(exc.http_status, exc.error_code, str(exc))
        except RegistryError as exc:
            return _error(500, 50001, f"schema registry store failed: {exc}")
        return result if isinstance(result, Response) else RegistryResponse(result)

    return wrapper


class _Endpoints:
    """One method per route; blocking store calls run in a worker thread."""

    def __init__(self, registry: SqlRegistry) -> None:
        self.registry = registry

    async def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(method, *args)

    @_confluent
    async def subjects(self, request: Request) -> Any:
        return await self._call(self.registry.subjects, _flag(request, "deleted"))

    @_confluent
    async def versions(self, request: Request) -> Any:
        subject = _subject(request)
        if request.method == "POST":
            text = await _schema_body(request)
            return {"id": await self._call(self.registry.register, subject, text)}
        found = await self._call(self.registry.subject_versions, subject, _flag(request, "deleted"))
        return [v.version for v in found]

    @_confluent
    async def version(self, request: Request) -> Any:
        subject, version = _subject(request), _version(request)
        if request.method == "DELETE":
            permanent = _flag(request, "permanent")
            return await self._call(self.registry.delete_version, subject, version, permanent)
        deleted = _flag(request, "deleted")
        return _described(await self._call(self.registry.version, subject, version, deleted))

    @_confluent
    async def raw_version(self, request: Request) -> Any:
        subject, version = _subject(request), _version(request)
        found = await self._call(self.registry.version, subject, version, _flag(request, "deleted"))
        return Response(found.schema_text, media_type=MEDIA_TYPE)

    @_confluent
    async def subject(self, request: Request) -> Any:
        subject = _subject(request)
        if request.method == "DELETE":
            permanent = _flag(request, "permanent")
            return await self._call(self.registry.delete_subject, subject, permanent)
        text = await _schema_body(request)
        deleted = _flag(request, "deleted")
        return _described(await self._call(self.registry.lookup, subject, text, deleted))

    @_confluent
    async def schema_by_id(self, request: Request) -> Any:
        return {"schema": await self._schema_text(request)}

    @_confluent
    async def raw_schema_by_id(self, request: Request) -> Any:
        return Response(await self._schema_text(request), media_type=MEDIA_TYPE)

    async def _schema_text(self, request: Request) -> str:
        raw = request.path_params["schema_id"]
        schema_id = ascii_number(raw)
        if schema_id is None or schema_id > MAX_SCHEMA_ID:
            raise SchemaNotFoundError(
                f"schema id {raw[:40]!r} is not a schema id (a whole number in ASCII digits, "
                f"at most {MAX_SCHEMA_ID})"
            )
        text: str = await self._call(self.registry.schema_text, schema_id)
        return text

    @_confluent
    async def schema_types(self, _: Request) -> Any:
        return ["AVRO"]

    @_confluent
    async def compatible(self, request: Request) -> Any:
        subject = _subject(request)
        version = _version(request) if "version" in request.path_params else None
        text = await _schema_body(request)
        found = await self._call(self.registry.test_compatibility, subject, text, version)
        answer: dict[str, Any] = {"is_compatible": not found}
        if _flag(request, "verbose"):
            answer["messages"] = [str(i) for i in found]
        return answer

    @_confluent
    async def config(self, request: Request) -> Any:
        if request.method == "PUT":
            level = await _level_body(request)
            return {"compatibility": await self._call(self.registry.set_compatibility, level)}
        return {"compatibilityLevel": await self._call(self.registry.compatibility)}

    @_confluent
    async def subject_config(self, request: Request) -> Any:
        subject = _subject(request)
        if request.method == "PUT":
            level = await _level_body(request)
            set_level = self.registry.set_compatibility
            return {"compatibility": await self._call(set_level, level, subject)}
        if request.method == "DELETE":
            previous = await self._call(self.registry.delete_compatibility, subject)
            return {"compatibilityLevel": previous}
        return {"compatibilityLevel": await self._call(self.registry.compatibility, subject)}


def _error(status: int, code: int, message: str) -> Response:
    return RegistryResponse({"error_code": code, "message": message}, status_code=status)


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


def _subject(request: Request) -> str:
    """The subject path parameter, refused (422) when the store could not hold it."""
    subject: str = request.path_params["subject"]
    if len(subject) > MAX_SUBJECT_CHARS:
        raise InvalidSubjectError(f"a subject is at most {MAX_SUBJECT_CHARS} characters")
    return subject


def _version(request: Request) -> int | None:
    """A version path parameter: a number from 1, or "latest" / -1 (None)."""
    raw = request.path_params["version"]
    if raw in ("latest", "-1"):
        return None
    version = ascii_number(raw)
    if version is not None and 1 <= version <= MAX_VERSION:
        return version
    raise InvalidVersionError(
        f"the specified version {raw[:40]!r} is not a valid version id; allowed values are "
        f'between [1, {MAX_VERSION}] and the string "latest"'
    )


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = loads_bounded(await _bounded_body(request) or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RegistryRequestError(f"the request body is not JSON: {exc}", 400) from exc
    except JsonDepthError as exc:
        raise RegistryRequestError(f"the request body is {exc}", 400) from None
    if not isinstance(body, dict):
        raise RegistryRequestError("the request body must be a JSON object", 400)
    return body


async def _bounded_body(request: Request) -> bytes:
    """The body, refused with 413 past ``MAX_BODY_BYTES`` before more of it is read."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RegistryRequestError(f"the request body is over {MAX_BODY_BYTES} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _schema_body(request: Request) -> str:
    """The ``schema`` of a registration, lookup or compatibility request (Avro only)."""
    body = await _json_body(request)
    schema, schema_type = body.get("schema"), body.get("schemaType", "AVRO")
    if schema_type != "AVRO":
        raise InvalidSchemaError(f"schemaType {schema_type!r} is not supported; only AVRO is")
    if body.get("references"):
        raise InvalidSchemaError("schema references are not supported; inline the named types")
    if not isinstance(schema, str) or not schema.strip():
        raise InvalidSchemaError('the body needs "schema": the Avro schema as a JSON string')
    return schema


async def _level_body(request: Request) -> str:
    level = (await _json_body(request)).get("compatibility")
    if not isinstance(level, str):
        raise InvalidCompatibilityLevelError(
            'the body needs "compatibility": a level such as "FULL"'
        )
    return level


def _described(found: SubjectVersion) -> dict[str, Any]:
    return {
        "subject": found.subject,
        "version": found.version,
        "id": found.schema_id,
        "schema": found.schema_text,
    }
