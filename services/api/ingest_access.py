"""The connectors' HTTP intake, checked with the API's department tokens.

The intake (``connectors.sources.http_intake``) asks one question of each request: may it
publish this department's events? The answer comes from the same tokens as every other
route, so database-made department tokens publish beside the ``DATONG_INGEST_TOKENS``
ones, and revocations apply at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request

from services.api.authentication import Authenticator


def ingest_authorizer(
    authenticator: Authenticator,
) -> Callable[[Request, str], Awaitable[tuple[int, str] | None]]:
    """The intake's check: a live department token (database or ``DATONG_INGEST_TOKENS``) of
    the department whose events are posted; revocations take effect at once. Returns None,
    or the refusal as (status, reason)."""

    async def authorize(request: Request, department: str) -> tuple[int, str] | None:
        try:
            principal = await authenticator.principal(request)
        except HTTPException as exc:
            return exc.status_code, str(exc.detail)
        if principal.department is None:
            return 403, (
                f"the token of audience {principal.audience} reads views; publishing needs "
                "a department token"
            )
        if principal.department != department:
            return 403, f"this token may publish only {principal.department}'s events"
        return None

    return authorize
