"""The API's refusals: an HTTP status, a message naming the problem, and what it names."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="datong"'}


class ApiError(HTTPException):
    """Answered as ``{"error": message, "status": N, **names}``, e.g. ``"field": "address"``."""

    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None, **names: Any
    ) -> None:
        super().__init__(status, message, headers)
        self.names = names


def unauthorized(message: str) -> ApiError:
    """401 with the Bearer challenge."""
    return ApiError(401, message, headers=dict(BEARER_CHALLENGE))


def error_body(exc: HTTPException) -> dict[str, Any]:
    """The JSON body of a refusal."""
    names = exc.names if isinstance(exc, ApiError) else {}
    return {"error": exc.detail, "status": exc.status_code, **names}
