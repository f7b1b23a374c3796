"""Emergency access (break-glass): extra fields and communities opened to audiences at once,
for a stated reason and a bounded time, then closed again by themselves.

An emergency is a layer over the base policy (``layering.py``): while it is open, each
audience it names reads the extra fields and communities it opens, and every read that
takes something only the emergency gives is flagged in the read audit with its id. It
closes at ``expires_at`` (at most 72 hours after it was opened or last renewed) or when it
is ended, whichever comes first; nothing has to run for it to close, as every read asks
whether it is still open at that read's time. Pure: plain data, the time handed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.access.layering import Extension

LAYER = "emergency"
MAX_HOURS = 72
MAX_DURATION = timedelta(hours=MAX_HOURS)
OPEN, ENDED, EXPIRED = "open", "ended", "expired"


@dataclass(frozen=True)
class Opening:
    """What an emergency opens to one audience: extra fields and alert types by view, and
    extra communities (None: every community; empty: none beyond its own)."""

    audience: str
    fields: Mapping[str, frozenset[str]] = field(default_factory=dict)
    alert_types: Mapping[str, frozenset[str]] = field(default_factory=dict)
    communities: frozenset[str] | None = frozenset()

    def as_json(self) -> dict[str, Any]:
        """The opening as stored and shown (the declaration's form)."""
        views = {
            view: {
                "fields": sorted(self.fields.get(view, frozenset())),
                **(
                    {"alert_types": sorted(self.alert_types[view])}
                    if view in self.alert_types
                    else {}
                ),
            }
            for view in sorted(set(self.fields) | set(self.alert_types))
        }
        communities: Any = "*" if self.communities is None else sorted(self.communities)
        return {"communities": communities, "views": views}


@dataclass(frozen=True)
class Emergency:
    """One declared emergency, as stored."""

    id: str
    declared_by: str
    reason: str
    opened_at: datetime
    expires_at: datetime
    openings: Mapping[str, Opening]  # by audience
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None

    def is_open(self, now: datetime) -> bool:
        """Whether reads at ``now`` are made under it."""
        return self.opened_at <= now < self.closed_at()

    def status(self, now: datetime) -> str:
        """``open``, ``ended`` (by someone) or ``expired`` (by itself) at ``now``."""
        if self.ended_at is not None and self.ended_at < self.expires_at:
            return ENDED
        return OPEN if self.is_open(now) else EXPIRED

    def closed_at(self) -> datetime:
        """When it closed or will close: ended, or its expiry, whichever is first."""
        if self.ended_at is not None:
            return min(self.ended_at, self.expires_at)
        return self.expires_at

    def extensions(self) -> tuple[Extension, ...]:
        """The layer it lays over the base policy, one extension per audience."""
        return tuple(
            Extension(LAYER, self.id, o.audience, o.fields, o.alert_types, o.communities)
            for o in self.openings.values()
        )

    def as_json(self, now: datetime) -> dict[str, Any]:
        """The emergency as listed by the CLI and ``GET /emergencies``."""
        return {
            "id": self.id,
            "status": self.status(now),
            "declared_by": self.declared_by,
            "reason": self.reason,
            "opened_at": self.opened_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "ended_by": self.ended_by,
            "end_reason": self.end_reason,
            "audiences": {a: o.as_json() for a, o in sorted(self.openings.items())},
        }


def open_extensions(emergencies: Iterable[Emergency], now: datetime) -> tuple[Extension, ...]:
    """The extensions of the emergencies open at ``now``."""
    return tuple(x for e in emergencies if e.is_open(now) for x in e.extensions())
