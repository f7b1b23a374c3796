"""HTTP push: ``POST /ingest/{department}/{event}`` for departments that can make an HTTP call.

- Authentication: ``Authorization: Bearer <token>``; the hub stores only the SHA-256 of each
  department's token (``DATONG_INGEST_TOKENS``). No or an unknown token: 401. A token of
  another department, or an event type that is not the department's own: 403. An event
  type no department has: 404.
- Body: one JSON object or an array of them, in the contract of ``json_contract``; over
  ``max_body_bytes`` or over ``max_records`` records: 413; not JSON at all: 400.
- A batch is all or nothing: if any record is invalid, none is published and the answer is
  422 with ``{"errors": [{"index": i, "field": f, "reason": r}, ...]}`` naming every problem.
  The department fixes the records and sends the same batch again; there is no partial
  state to reconcile. Event ids are the department's own, so resending a batch after a
  timeout or a 503 (the broker did not acknowledge) publishes the same events, which the
  merge recognises.
- Accepted: 202 with ``{"event_ids": [...]}`` once the broker acknowledged every record.
- What to send is served beside it (``intake_description``): ``GET /ingest/{department}``
  lists the event names, ``GET /ingest/{department}/{event}/schema`` each one's JSON Schema.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.base import Event
from connectors.errors import ConnectorError, RecordError
from connectors.sources.json_contract import JsonContract
from schemas.catalog import Catalog
from schemas.json_bounds import JsonDepthError, loads_bounded

ROUTE = "/ingest/{department}/{event}"
_DIGITS = re.compile(r"[0-9]{1,19}")


class EventSink(Protocol):
    """What the intake publishes through (``KafkaPublisher``)."""

    def check(self, event: Event) -> bytes:
        """Raise RecordError when ``event`` does not fit its schema."""
        ...

    def publish_all(self, events: Sequence[Event], timeout_s: float = 30.0) -> None:
        """Send ``events``; return once the broker acknowledged all of them."""
        ...


class Incrementable(Protocol):
    """One labelled child of a counter."""

    def inc(self, amount: float = 1) -> None:
        """Add ``amount``."""
        ...


class LabelledCounter(Protocol):
    """A Prometheus counter labelled ``department, status`` (``ApiMetrics.ingest``)."""

    def labels(self, *values: str) -> Incrementable:
        """The child for these label values."""
        ...


@dataclass(frozen=True)
class IngestLimits:
    """Request size limits (413 beyond them)."""

    max_body_bytes: int = 1 << 20
    max_records: int = 1000


class IngestRefused(Exception):  # noqa: N818 - an answer to give, raised by an authorizer too
    """Answer the request with ``status`` and ``body`` now."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": message, "status": status, **extra}


# Whether a request may publish a department's events: None, or the refusal (status, reason).
Authorize = Callable[[Request, str], Awaitable[tuple[int, str] | None]]


def ingest_routes(
    sink: Callable[[], EventSink],
    catalog: Catalog,
    hmac_key: bytes,
    *,
    tokens: Mapping[str, str] | None = None,
    authorize: Authorize | None = None,
    limits: IngestLimits | None = None,
    requests: LabelledCounter | None = None,
) -> list[Route]:
    """The intake's routes.

    Args:
        sink: makes the publisher on the first request (so the API starts without a broker).
        catalog: the contracts; a department may publish only its own source events.
        hmac_key: the hub's key of ``person_key``.
        tokens: department -> lowercase hex SHA-256 of its bearer token.
        authorize: decides instead of ``tokens`` (the hub's token store, say): None to let
            the request publish, or its refusal as (401 or 403, the reason).
        limits: body and batch size limits.
        requests: ``datong_ingest_requests_total{department,status}`` (``ApiMetrics.ingest``).
    """
    intake = HttpIntake(
        sink,
        catalog,
        hmac_key,
        tokens=tokens or {},
        authorize=authorize,
        limits=limits or IngestLimits(),
        requests=requests,
    )
    return intake.routes()


class HttpIntake:
    """The intake: its route, and ``publish`` for the hub's own forms that post a
    department's events (the grid office's work on an alert) through the same checks."""

    def __init__(
        self,
        sink: Callable[[], EventSink],
        catalog: Catalog,
        hmac_key: bytes,
        *,
        tokens: Mapping[str, str],
        authorize: Authorize | None,
        limits: IngestLimits,
        requests: LabelledCounter | None,
    ) -> None:
        self._make_sink = sink
        self._sink: EventSink | None = None
        self._sink_lock = threading.Lock()
        self._catalog, self._hmac_key = catalog, hmac_key
        self._limits, self._requests = limits, requests
        self._departments = set(catalog.departments())
        self._tokens = _token_digests(tokens, self._departments)
        self._hook = authorize
        self._contracts: dict[tuple[str, str], JsonContract] = {}

    def routes(self) -> list[Route]:
        """``POST /ingest/{department}/{event}``."""
        return [Route(ROUTE, self.ingest, methods=["POST"])]

    async def publish(self, department: str, event: str, records: list[Any]) -> list[str]:
        """Publish ``records`` as a POST of them would once authorized: converted, checked
        and acknowledged all or none, counted alike; IngestRefused carries the answer."""
        status = 202
        try:
            contract = self._contract(department, event)
            return await asyncio.to_thread(self._accept, contract, records)
        except IngestRefused as refused:
            status = refused.status
            raise
        finally:
            if self._requests is not None:
                self._requests.labels(department, str(status)).inc()

    async def ingest(self, request: Request) -> JSONResponse:
        department = request.path_params["department"]
        try:
            status, body = await self._handle(request, department, request.path_params["event"])
        except IngestRefused as reject:
            status, body = reject.status, reject.body
        if self._requests is not None:
            label = department if department in self._departments else "unknown"
            self._requests.labels(label, str(status)).inc()
        headers = {"WWW-Authenticate": 'Bearer realm="datong ingest"'} if status == 401 else None
        return JSONResponse(body, status_code=status, headers=headers)

    async def _handle(
        self, request: Request, department: str, event: str
    ) -> tuple[int, dict[str, Any]]:
        if self._hook is not None:
            refusal = await self._hook(request, department)
            if refusal is not None:
                raise IngestRefused(*refusal)
        else:
            self._authorize(request, department)
        contract = self._contract(department, event)
        records = _records(await self._body(request), self._limits.max_records)
        return 202, {"event_ids": await asyncio.to_thread(self._accept, contract, records)}

    def _accept(self, contract: JsonContract, records: list[Any]) -> list[str]:
        """Convert and check every record, then publish all or none (in a worker thread)."""
        converted = [_event(contract, record) for record in records]
        _raise_invalid(converted)
        events = [e for e in converted if isinstance(e, Event)]
        try:
            sink = self._get_sink()
            _raise_invalid([_checked(sink, e) for e in events])
            sink.publish_all(events)
        except RecordError:
            raise
        except ConnectorError as exc:  # the producer cannot connect, or was not acknowledged
            raise IngestRefused(503, f"the broker did not acknowledge the records: {exc}") from exc
        return [e.event_id for e in events]

    def _authorize(self, request: Request, department: str) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise IngestRefused(401, "a department bearer token is required")
        digest = hashlib.sha256(token.strip().encode()).digest()
        # Compare with every stored hash, so the time taken says nothing about which matched.
        owners = [d for d, h in self._tokens.items() if hmac.compare_digest(digest, h)]
        if not owners:
            raise IngestRefused(401, "the bearer token is not valid")
        if department not in owners:
            raise IngestRefused(403, f"this token may publish only {owners[0]}'s events")

    def _contract(self, department: str, event: str) -> JsonContract:
        owners = [c.department for c in self._catalog.sources() if c.event == event]
        if not owners:
            raise IngestRefused(404, f"no event type {event!r}; see /asyncapi.yaml")
        if department not in owners:
            raise IngestRefused(403, f"{event} is not an event of {department}")
        key = (department, event)
        if key not in self._contracts:
            self._contracts[key] = JsonContract(self._catalog.event(*key), self._hmac_key)
        return self._contracts[key]

    async def _body(self, request: Request) -> bytes:
        limit = self._limits.max_body_bytes
        declared = request.headers.get("content-length", "")
        # ASCII digits only (``str.isdigit`` passes digits ``int`` refuses); the server
        # has already refused a malformed length, this only spares reading a long body.
        if _DIGITS.fullmatch(declared) and int(declared) > limit:
            raise IngestRefused(413, f"the body is {declared} bytes, at most {limit}")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise IngestRefused(413, f"the body is over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _get_sink(self) -> EventSink:
        with self._sink_lock:
            if self._sink is None:
                self._sink = self._make_sink()
            return self._sink


def _records(body: bytes, max_records: int) -> list[Any]:
    try:
        data = loads_bounded(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise IngestRefused(400, f"the body is not JSON: {detail}") from None
    except JsonDepthError as exc:
        raise IngestRefused(400, f"the body is {exc}", errors=[_body_error(str(exc))]) from None
    if not isinstance(data, list | dict):
        reason = "must be a JSON object or an array of objects"
        raise IngestRefused(422, f"the body {reason}", errors=[_body_error(reason)])
    records = data if isinstance(data, list) else [data]
    if not records:
        raise IngestRefused(
            422, "the body is an empty array", errors=[_body_error("is an empty array")]
        )
    if len(records) > max_records:
        raise IngestRefused(413, f"the batch has {len(records)} records, at most {max_records}")
    return records


def _checked(sink: EventSink, event: Event) -> Event | list[RecordError]:
    try:
        sink.check(event)
    except RecordError as error:
        return [error]
    return event


def _event(contract: JsonContract, record: Any) -> Event | list[RecordError]:
    if not isinstance(record, dict):
        return [RecordError("(record)", "must be a JSON object", "not_object")]
    return contract.to_event(record)


def _raise_invalid(results: Sequence[Event | list[RecordError]]) -> None:
    """422 listing every field error of every record, when there is any."""
    errors = [
        {"index": index, "field": e.field, "reason": e.reason}
        for index, result in enumerate(results)
        if not isinstance(result, Event)
        for e in result
    ]
    if errors:
        bad = len({e["index"] for e in errors})
        message = f"{bad} of {len(results)} records are invalid; none was published"
        raise IngestRefused(422, message, errors=errors)


def _body_error(reason: str) -> dict[str, Any]:
    return {"index": None, "field": "(body)", "reason": reason}


def _token_digests(tokens: Mapping[str, str], departments: set[str]) -> dict[str, bytes]:
    digests = {}
    for department, digest in tokens.items():
        if department not in departments:
            raise ConnectorError(
                f"ingest token for unknown department {department!r}; "
                f"departments: {', '.join(sorted(departments))}"
            )
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ConnectorError(f"the ingest token hash of {department} is not 64 hex digits")
        digests[department] = bytes.fromhex(digest)
    return digests
