"""Reading the views over HTTP: one row, a page of rows, or an export, each under the policy.

- ``GET /views/{view}/{key}``: one row; 404 when absent or outside the audience's communities
  (so a reader cannot learn that a key exists elsewhere).
- ``GET /views/{view}?community=&limit=&cursor=&fields=``: ``{"items": [...], "next_cursor":
  c}`` in (community_code, key) order; ``next_cursor`` is null on the last page.
- ``GET /export/{view}?community=&fields=``: every row as JSON lines, streamed page by page.

Every path renders a row with ``json_record``, keeps what ``filter_record`` allows, and
writes one ``read_audit`` record (refused reads by a known token included): committed before
the answer is sent (an export's when its stream ends, with the rows it sent). A row's key
is recorded only when the row is returned.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from schemas.json_bounds import JsonDepthError, loads_bounded
from services.access.policy import filter_record
from services.api.audit_log import AuditLog
from services.api.errors import ApiError
from services.api.json_records import json_record
from services.api.params import MAX_COMMUNITY_CHARS, MAX_KEY_CHARS, bounded_number, bounded_text
from services.api.read_access import ReadAccess, ReadScope
from services.store.database import autocommit, once_more_if_dead
from services.store.models import ViewRow
from services.store.views import ShownRow, shown_row, visible_page

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
EXPORT_PAGE = 500
# A cursor names a view, a community code and a key: a few hundred characters at most.
MAX_CURSOR_CHARS = 2048
JSON_LINES = "application/x-ndjson"


def view_routes(engine: sa.Engine, access: ReadAccess, audit: AuditLog) -> list[Route]:
    """The read routes; ``audit`` commits each read's record before its answer."""
    reads = _Reads(engine, access, audit)
    return [
        Route("/views/{view}", reads.page, methods=["GET"]),
        Route("/views/{view}/{key}", reads.row, methods=["GET"]),
        Route("/export/{view}", reads.export, methods=["GET"]),
    ]


class _Reads:
    def __init__(self, engine: sa.Engine, access: ReadAccess, audit: AuditLog) -> None:
        self.engine, self.access, self.audit = engine, access, audit

    async def row(self, request: Request) -> Response:
        """One row of a view by key, with the fields the audience may read."""
        view, key = request.path_params["view"], request.path_params["key"]
        query = _present(fields=request.query_params.get("fields"))
        try:
            scope = await self.access.authorize(request, view, fields=query.get("fields"))
            bounded_text(key, "key", MAX_KEY_CHARS)
            row = await asyncio.to_thread(self._row, view, key)
            record = None
            if row is not None and scope.allows(row.community_code):
                # None for a row the reader may not know of (an alert of a type it is not
                # granted): absent for it, as a row outside its communities is.
                rendered = json_record(
                    self.access.key_fields[view], row.key, row.data, row.provenance
                )
                record = filter_record(scope.grant, rendered)
            if record is None:
                raise ApiError(404, f"{view} has no row with key {key!r}", view=view, key=key)
        except HTTPException as exc:
            await self._refused(request, exc, operation="row", query=query)
            raise
        entry = scope.audit_entry(operation="row", key=key, query=query, rows=1, status=200)
        await self.audit.record([entry])
        return JSONResponse(record)

    async def page(self, request: Request) -> Response:
        """A page of a view's rows in (community_code, key) order, with the next page's cursor."""
        view = request.path_params["view"]
        params = request.query_params
        query = _present(
            community=params.get("community") or None,
            limit=params.get("limit"),
            cursor=params.get("cursor"),
            fields=params.get("fields"),
        )
        try:
            scope = await self.access.authorize(
                request, view, community=query.get("community"), fields=query.get("fields")
            )
            limit = _limit(query.get("limit"))
            after = _decode_cursor(query["cursor"], view) if "cursor" in query else None
            rows = await asyncio.to_thread(self._page, view, scope, after, limit + 1)
        except HTTPException as exc:
            await self._refused(request, exc, operation="list", query=query)
            raise
        # Rows the reader may not know of are left out; the cursor still follows the rows read.
        shaped = (filter_record(scope.grant, self._render(view, r)) for r in rows[:limit])
        items = [record for record in shaped if record is not None]
        last = rows[limit - 1] if len(rows) > limit else None
        body = {
            "items": items,
            "next_cursor": _encode_cursor(view, last.community_code, last.key) if last else None,
        }
        entry = scope.audit_entry(
            operation="list", key=None, query=query, rows=len(items), status=200
        )
        await self.audit.record([entry])
        return JSONResponse(body)

    async def export(self, request: Request) -> Response:
        """Every row of a view the audience may read, as JSON lines, streamed."""
        view = request.path_params["view"]
        params = request.query_params
        query = _present(community=params.get("community") or None, fields=params.get("fields"))
        try:
            scope = await self.access.authorize(
                request, view, community=query.get("community"), fields=query.get("fields")
            )
        except HTTPException as exc:
            await self._refused(request, exc, operation="export", query=query)
            raise
        return StreamingResponse(self._lines(view, scope, query), media_type=JSON_LINES)

    async def _lines(
        self, view: str, scope: ReadScope, query: dict[str, Any]
    ) -> AsyncIterator[str]:
        sent, complete = 0, False
        try:
            after: tuple[str | None, str] | None = None
            while True:
                # Each page in its own short transaction: an export holds no lock for long.
                rows = await asyncio.to_thread(self._page, view, scope, after, EXPORT_PAGE)
                for row in rows:
                    record = filter_record(scope.grant, self._render(view, row))
                    if record is None:
                        continue
                    yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
                    sent += 1
                if len(rows) < EXPORT_PAGE:
                    break
                after = (rows[-1].community_code, rows[-1].key)
            complete = True
        finally:
            # Audited however the export ended (a client may hang up halfway), and committed
            # before the stream is closed, without blocking the event loop.
            status = 200 if complete else 499
            entry = scope.audit_entry(
                operation="export", key=None, query=query, rows=sent, status=status
            )
            await self.audit.record_ending([entry])

    async def _refused(
        self,
        request: Request,
        exc: HTTPException,
        *,
        operation: str,
        query: dict[str, Any],
    ) -> None:
        """Audit a refused or failed read of a view when the caller's token is known."""
        view = request.path_params["view"]
        entry = self.access.refusal_entry(
            request, view, status=exc.status_code, operation=operation, query=query
        )
        if entry is not None:
            await self.audit.record([entry])

    def _render(self, view: str, row: ViewRow) -> dict[str, Any]:
        return json_record(self.access.key_fields[view], row.key, row.data, row.provenance)

    def _row(self, view: str, key: str) -> ShownRow | None:
        # A core SELECT on a pooled connection: no ORM session or state on the hot path, no
        # transaction around it (one round trip), and no ping before it (a connection found
        # dead is replaced and the read done again).
        def select() -> ShownRow | None:
            with autocommit(self.engine) as connection:
                return shown_row(connection, view, key)

        return once_more_if_dead(select)

    def _page(
        self, view: str, scope: ReadScope, after: tuple[str | None, str] | None, limit: int
    ) -> list[ViewRow]:
        kinds = scope.grant.derived.alert_types  # alerts of other types are not its

        def select() -> list[ViewRow]:
            with Session(self.engine) as session:
                return visible_page(
                    session, view, scope.communities, after, limit, alert_types=kinds
                )

        return once_more_if_dead(select)


def _present(**params: str | None) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _limit(value: str | None) -> int:
    return DEFAULT_LIMIT if value is None else bounded_number(value, "limit", 1, MAX_LIMIT)


def _encode_cursor(view: str, community: str | None, key: str) -> str:
    """An opaque position: the last row's (community_code, key), bound to its view."""
    raw = json.dumps({"v": view, "c": community, "k": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, view: str) -> tuple[str | None, str]:
    bad = ApiError(
        400, "cursor is not one this API gave out; start again without it", parameter="cursor"
    )
    bounded_text(cursor, "cursor", MAX_CURSOR_CHARS)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        # The cursor comes back from the client: bounded like any JSON from outside.
        position = loads_bounded(raw, max_depth=1)
    except (binascii.Error, ValueError, JsonDepthError):
        raise bad from None
    if (
        not isinstance(position, dict)
        or not isinstance(position.get("k"), str)
        or not isinstance(position.get("c"), str | None)
        or len(position["k"]) > MAX_KEY_CHARS
        or len(position.get("c") or "") > MAX_COMMUNITY_CHARS
    ):
        raise bad
    if position.get("v") != view:
        raise ApiError(
            400, f"cursor belongs to a list of another view, not {view}", parameter="cursor"
        )
    return position["c"], position["k"]
