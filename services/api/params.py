"""Numbers from the outside: path segments, query parameters and headers.

A number is ASCII digits and nothing else, within bounds. ``str.isdigit()`` is not the test:
it passes ``²`` and other Unicode digits that ``int()`` refuses, and ``int()`` of thousands
of digits is slow or refused. Anything else is answered 400 naming the parameter (every
route parses its numbers here, so they all refuse alike).
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.errors import ApiError

# 19 digits hold every Kafka offset and every 64-bit id, and keep ``int()`` cheap.
MAX_DIGITS = 19
# Text that is looked up in the view store is no longer than its column (PostgreSQL refuses
# to compare a longer value instead of finding nothing).
MAX_KEY_CHARS = 128
MAX_COMMUNITY_CHARS = 64
_DIGITS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")


def ascii_number(text: str) -> int | None:
    """The value of ``text`` when it is 1 to ``MAX_DIGITS`` ASCII digits, else None."""
    return int(text) if _DIGITS.fullmatch(text) else None


def bounded_number(text: str, parameter: str, low: int, high: int) -> int:
    """``text`` as a whole number from ``low`` to ``high``; 400 naming ``parameter`` if not."""
    value = ascii_number(text)
    if value is None or not low <= value <= high:
        raise ApiError(
            400,
            f"{parameter} must be a whole number from {low} to {high} in ASCII digits, "
            f"got {text[:40]!r}",
            parameter=parameter,
        )
    return value


def bounded_text(text: str, parameter: str, max_chars: int) -> str:
    """``text`` when at most ``max_chars`` long; 400 naming ``parameter`` if longer."""
    if len(text) > max_chars:
        raise ApiError(
            400, f"{parameter} is longer than {max_chars} characters", parameter=parameter
        )
    return text


class RefuseNul:
    """ASGI middleware: 400 for a NUL character anywhere in the path or the query string.

    No key, code, subject or parameter of ours holds one, and PostgreSQL cannot store or
    compare one (the driver raises instead of answering): refused at the door, for every
    route at once.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").lower()
            where = "path" if "\x00" in scope["path"] else None
            if b"%00" in query or b"\x00" in query:
                where = "query string"
            if where is not None:
                body = json.dumps(
                    {
                        "error": f"the {where} holds a NUL character",
                        "status": 400,
                        "parameter": where,
                    }
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
