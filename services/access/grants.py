"""Grants layered over the base policy: what granted requests (and, the same way, any later
layer such as emergencies) let an audience read beyond the YAML.

``layered(base, extras, now)`` is the policy every read path uses: the base policy with
each live extra grant's fields added to its audience's grant of the view (or, where the
base grants none, a new grant of the view's unconditional fields and the extra ones, in the
extra's communities). An extra widens fields, never communities. It is computed at read
time from the store's grants, so a grant or a revocation takes effect on the next read,
and an expired one is gone without anyone removing it.

A ``not_shared`` field is never added, whatever a grant says: ``layered`` leaves it out,
and ``unshareable`` names such grants so the hub refuses to start with one. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from services.access.policy import NOT_SHARED, UNCONDITIONAL, Audience, Grant, Policy


@dataclass(frozen=True)
class ExtraGrant:
    """Fields of a view one audience reads beyond the base policy, until ``expires_at``.

    ``source`` names where it comes from (``request:<id>``), for the catalogue and audit.
    """

    source: str
    audience: str
    view: str
    fields: frozenset[str]
    communities: frozenset[str] | None
    purpose: str
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        """Whether it still holds at ``now``."""
        return now < self.expires_at


def layered(base: Policy, extras: Iterable[ExtraGrant], now: datetime) -> Policy:
    """``base`` with every live extra grant added; unknown audiences or views and
    ``not_shared`` fields are left out."""
    audiences = dict(base.audiences)
    for extra in extras:
        audience = audiences.get(extra.audience)
        contract = base.views.get(extra.view)
        if audience is None or contract is None or not extra.live(now):
            continue
        fields = frozenset(
            f for f in extra.fields if contract.classes.get(f) not in (None, NOT_SHARED)
        )
        present = audience.grants.get(extra.view)
        if present is not None:
            grant = replace(present, fields=present.fields | fields)
        else:
            grant = Grant(
                audience=extra.audience,
                purpose=extra.purpose,
                view=extra.view,
                fields=contract.of_class(UNCONDITIONAL) | fields,
                communities=extra.communities,
            )
        audiences[extra.audience] = _with_grant(audience, grant)
    return replace(base, audiences=audiences)


def unshareable(base: Policy, extras: Iterable[ExtraGrant]) -> list[str]:
    """Each extra grant naming a field that is ``not_shared`` (or no longer exists), in words."""
    problems = []
    for extra in extras:
        classes = base.views[extra.view].classes if extra.view in base.views else {}
        for name in sorted(extra.fields):
            if classes.get(name) in (None, NOT_SHARED):
                problems.append(f"{extra.source} grants {extra.view}.{name} to {extra.audience}")
    return problems


def _with_grant(audience: Audience, grant: Grant) -> Audience:
    return replace(audience, grants={**audience.grants, grant.view: grant})
