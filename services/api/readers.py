"""What an authenticated reader may see of a view, in the form the live routes use it.

The sharing policy decides (``services.api.live_access`` adapts it); the live routes only
need a record filter, a way to notice that the reader's token was revoked while its stream
is open, and somewhere to report how a subscription ended (the read audit).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

# The part of a rendered record the reader may read, or None when the row is not its to see
# (outside its communities). A record with only the key and ``community_code`` asks whether
# the reader may learn that the row was deleted.
RecordFilter = Callable[[Mapping[str, Any]], dict[str, Any] | None]


async def _always() -> bool:
    return True


def _unaudited(_key: str | None, _rows: int) -> None:
    return None


@dataclass(frozen=True)
class LiveReader:
    """One reader of one view."""

    record_filter: RecordFilter
    still_allowed: Callable[[], Awaitable[bool]] = _always
    # Records the read (key, rows) in the read audit: a subscription when it ends.
    record_read: Callable[[str | None, int], None] = field(default=_unaudited)


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
