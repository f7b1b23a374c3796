"""The sharing policy as the live routes (subscriptions, the dashboard's history) apply it.

Each request goes through ``ReadAccess.authorize`` like every other read path: an audience
token, the view, ``?community=`` and ``?fields=`` inside its grant. Records are filtered
by the resulting ``ReadScope``. A subscription is audited once, when it ends, with the
number of events it delivered (operation ``subscribe``); a history read with its points
(``history``); a refusal at once, like a refused read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from services.access.audit import ReadEntry
from services.api.auth import Authenticator, Principal, ReadAccess, ReadScope
from services.api.readers import Authorize, LiveReader

AuditSink = Callable[[Sequence[ReadEntry]], None]


def policy_readers(access: ReadAccess, authenticator: Authenticator, audit: AuditSink) -> Authorize:
    """Resolve each live request's reader under the policy."""

    async def authorize(
        request: Request, view: str, community: str | None, operation: str
    ) -> LiveReader:
        fields = request.query_params.get("fields")
        query = {k: v for k, v in {"community": community, "fields": fields}.items() if v}
        try:
            scope = await access.authorize(request, view, community=community, fields=fields)
        except HTTPException as exc:
            refusal = partial(
                _audit_refusal, access, audit, request, view=view, operation=operation, query=query
            )
            await asyncio.to_thread(refusal, exc)
            raise
        principal = await authenticator.principal(request)  # known by now: remembered

        async def still_allowed() -> bool:
            return await authenticator.still_live(principal)

        def record_read(key: str | None, rows: int) -> None:
            # A blocking write: a stream may be being cancelled, no awaiting then.
            audit([_entry(scope, operation, key, query, rows)])

        return LiveReader(scope.filter, still_allowed, record_read)

    return authorize


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
