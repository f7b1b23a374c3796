"""What an authenticated reader may see of a view, in the form the live routes use it.

The sharing policy decides (``services.access``); the routes only need a record filter and
a way to notice that the reader's token was revoked while its stream is open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

# The part of a rendered record the reader may read, or None when the row is not its to see
# (outside its communities). A record with only the key and ``community_code`` asks whether
# the reader may learn that the row was deleted.
RecordFilter = Callable[[Mapping[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class Reader:
    """One reader of one view."""

    record_filter: RecordFilter
    still_allowed: Callable[[], Awaitable[bool]]


# Resolves the request's reader for a view; raises HTTPException(401/403) when refused.
Authorize = Callable[[Request, str], Awaitable[Reader]]


def share_everything(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The filter of a reader every field and community is shared with."""
    return dict(record)


async def _always() -> bool:
    return True


async def open_to_everyone(_: Request, __: str) -> Reader:
    """A reader that sees everything (an API without sharing policies)."""
    return Reader(share_everything, _always)
