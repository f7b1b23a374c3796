"""The sharing policy as the live routes (subscriptions, the dashboard's history) apply it.

Each request goes through ``ReadAccess.authorize`` like every other read path: an audience
token, the view, ``?community=`` and ``?fields=`` inside its grant. Records are filtered
with ``filter_record``. A subscription is audited once, when it ends, with the number of
events it delivered; a history read with its points; a refusal at once, like a refused read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from services.access.audit import ReadEntry
from services.access.policy import filter_record
from services.api.auth import QUERY_TOKEN, Authenticator, Principal, ReadAccess, ReadScope
from services.api.readers import Authorize, LiveReader

AuditSink = Callable[[Sequence[ReadEntry]], None]
OPERATION = "subscribe"


def policy_readers(access: ReadAccess, authenticator: Authenticator, audit: AuditSink) -> Authorize:
    """Resolve each live request's reader under the policy."""

    async def authorize(request: Request, view: str, community: str | None) -> LiveReader:
        fields = request.query_params.get("fields")
        query = {k: v for k, v in {"community": community, "fields": fields}.items() if v}
        try:
            scope = await access.authorize(request, view, community=community, fields=fields)
        except HTTPException as exc:
            operation = OPERATION if request.url.path.startswith("/subscribe/") else "history"
            refusal = partial(
                _audit_refusal, access, audit, request, view=view, operation=operation, query=query
            )
            await asyncio.to_thread(refusal, exc)
            raise
        secret = _secret(request)

        async def still_allowed() -> bool:
            return await asyncio.to_thread(authenticator.identify, secret) is not None

        def record_read(operation: str, key: str | None, rows: int) -> None:
            # A blocking write: a stream may be being cancelled, no awaiting then.
            audit([_entry(scope, operation, key, query, rows)])

        return LiveReader(_record_filter(scope), still_allowed, record_read)

    return authorize


def _record_filter(scope: ReadScope) -> Callable[[Mapping[str, Any]], dict[str, Any] | None]:
    communities = scope.communities

    def record_filter(record: Mapping[str, Any]) -> dict[str, Any] | None:
        if communities is not None and record.get("community_code") not in communities:
            return None
        return filter_record(scope.grant, record)

    return record_filter


def _secret(request: Request) -> str:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return secret.strip()
    return request.query_params.get(QUERY_TOKEN, "").strip()


def _entry(
    scope: ReadScope, operation: str, key: str | None, query: dict[str, Any], rows: int
) -> ReadEntry:
    reader = scope.reader
    return ReadEntry(
        token_id=reader.token_id,
        token_name=reader.token_name,
        audience=reader.audience,
        purpose=reader.purpose,
        view=scope.grant.view,
        operation=operation,
        key=key,
        query=query,
        rows=rows,
        status=200,
    )


def _audit_refusal(
    access: ReadAccess,
    audit: AuditSink,
    request: Request,
    exc: HTTPException,
    *,
    view: str,
    operation: str,
    query: dict[str, Any],
) -> None:
    """Audit a refused subscription of a known view by a known token (as the reads do)."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal) or view not in access.views:
        return
    grant = access.policy.grant(principal.audience or "", view)
    audit(
        [
            ReadEntry(
                token_id=principal.token_id,
                token_name=principal.name,
                audience=principal.audience or f"department:{principal.department}",
                purpose=grant.purpose if grant else "",
                view=view,
                operation=operation,
                key=None,
                query=query,
                rows=0,
                status=exc.status_code,
            )
        ]
    )
