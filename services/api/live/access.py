"""What a subscriber may see of a view, and how the sharing policy decides it.

The live routes need, per request, a ``LiveReader``: a record filter, a way to notice that
the reader's token was revoked while its stream is open, and somewhere to report how a
read ended (the read audit). ``Authorize`` resolves one, or refuses the request.

``policy_readers`` is the ``Authorize`` of the API: each request goes through
``ReadAccess.authorize`` like every other read path (an audience token, the view,
``?community=`` and ``?fields=`` inside its grant), and records are filtered by the
resulting ``ReadScope``. A subscription is audited once, when it ends, with the number of
events it delivered (operation ``subscribe``); the dashboard's history read, which is
authorised the same way, with its points (``history``); a refusal at once, like a refused
read. ``open_to_everyone`` is the ``Authorize`` of an API without sharing policies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from services.api.audit_log import AuditLog
from services.api.authentication import Authenticator
from services.api.read_access import ReadAccess

# The part of a rendered record the reader may read, or None when the row is not its to see
# (outside its communities). A record with only the key and ``community_code`` asks whether
# the reader may learn that the row was deleted.
RecordFilter = Callable[[Mapping[str, Any]], dict[str, Any] | None]


async def _always() -> bool:
    return True


async def _unaudited(_key: str | None, _rows: int) -> None:
    return None


async def _unaudited_answer(_key: str | None, _rows: int, _query: Mapping[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class LiveReader:
    """One reader of one view."""

    record_filter: RecordFilter
    still_allowed: Callable[[], Awaitable[bool]] = _always
    # Records the read (key, rows) in the read audit, returning once it is committed even
    # while the stream is being cancelled: a subscription when it ends.
    record_read: Callable[[str | None, int], Awaitable[None]] = field(default=_unaudited)
    # Records a read answered at once (key, rows, query), returning once it is committed:
    # the history, before its answer.
    record_answer: Callable[[str | None, int, Mapping[str, Any]], Awaitable[None]] = field(
        default=_unaudited_answer
    )


# Resolves the reader of a request: (request, view, community or None for every one it may
# read, operation as the audit names it); raises HTTPException (401, 403, 404) when refused.
Authorize = Callable[[Request, str, str | None, str], Awaitable[LiveReader]]


def share_everything(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The filter of a reader every field and community is shared with."""
    return dict(record)


async def open_to_everyone(
    _request: Request, _view: str, _community: str | None, _operation: str
) -> LiveReader:
    """A reader that sees everything (an API without sharing policies)."""
    return LiveReader(share_everything)


def policy_readers(access: ReadAccess, authenticator: Authenticator, audit: AuditLog) -> Authorize:
    """Resolve each live request's reader under the policy."""

    async def authorize(
        request: Request, view: str, community: str | None, operation: str
    ) -> LiveReader:
        fields = request.query_params.get("fields")
        query = {k: v for k, v in {"community": community, "fields": fields}.items() if v}
        try:
            scope = await access.authorize(request, view, community=community, fields=fields)
        except HTTPException as exc:
            # A community named in the path (the history's) is a path segment the client made
            # up, not a query: a refusal does not keep it (``ReadAccess.refusal_entry``).
            if "community" not in request.query_params:
                query.pop("community", None)
            entry = access.refusal_entry(
                request, view, status=exc.status_code, operation=operation, query=query
            )
            if entry is not None:
                await audit.record([entry])
            raise
        principal = await authenticator.principal(request)  # known by now: remembered

        async def still_allowed() -> bool:
            # The token still holds, and so does every grant and emergency the stream
            # reads under.
            if not await authenticator.still_live(principal):
                return False
            try:
                return await access.still_covers(scope) and await access.layers_hold(scope)
            except HTTPException:
                return False  # the grants cannot be read: fail closed, the client reconnects

        async def record_read(key: str | None, rows: int) -> None:
            entry = scope.audit_entry(operation=operation, key=key, query=query, rows=rows)
            await audit.record_ending([entry])

        async def record_answer(key: str | None, rows: int, asked: Mapping[str, Any]) -> None:
            entry = scope.audit_entry(operation=operation, key=key, query=dict(asked), rows=rows)
            await audit.record([entry])

        # The shape, not the bound method: equal shapes let the fan-out filter and encode
        # each change once for all of them.
        return LiveReader(scope.shape, still_allowed, record_read, record_answer)

    return authorize
