"""The sharing policy as the live routes (subscriptions, the dashboard's history) apply it.

Each request goes through ``ReadAccess.authorize`` like every other read path: an audience
token, the view, ``?community=`` and ``?fields=`` inside its grant. Records are filtered
by the resulting ``ReadScope``. A subscription is audited once, when it ends, with the
number of events it delivered (operation ``subscribe``); a history read with its points
(``history``); a refusal at once, like a refused read.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from services.access.audit import AuditSink
from services.api.authentication import Authenticator
from services.api.read_access import ReadAccess
from services.api.readers import Authorize, LiveReader


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
            audit([scope.audit_entry(operation=operation, key=key, query=query, rows=rows)])

        return LiveReader(scope.filter, still_allowed, record_read)

    return authorize


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
    entry = access.refusal_entry(
        request, view, status=exc.status_code, operation=operation, query=query
    )
    if entry is not None:
        audit([entry])
