"""What an emergency may open, and who may open it: a declaration read strictly and checked.

A declaration (``POST /emergencies``, ``datong emergency declare``) is::

    {"reason": "...", "hours": 48,
     "audiences": {"civil-affairs": {"communities": ["610103001001"] | "*",
                                     "views": {"resident_profile": {"fields": ["health_status"]},
                                               "alert": {"fields": [...], "alert_types": [...]}}}}}

Checked here, each refusal naming the field of the declaration it is about:

- the reason is required, the duration 1 to 72 hours (renewal: 72 hours from the renewal);
- every audience is one of the policy's (an emergency widens an audience, never makes one);
- never a ``not_shared`` field (the same check runs again when the API loads an emergency,
  as the field classes may have changed since);
- derived values only with their inputs: the widened grants pass the same derivation checks
  as the base policy (an alert type needs every field that raises it, a dwelling id its
  building, unit and room);
- who: the hub operator may open anything else; the health department (its department token,
  for epidemic response) only fields its own events write (``datong.owner: health``) and
  alert types raised by those alone, for any audience and communities. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.access.derivation import ALERT_TYPE_FIELD, Derivation, DerivationError
from services.access.emergency import LAYER, MAX_HOURS, Opening
from services.access.layering import Extension, layered_grant
from services.access.policy import NOT_SHARED, Policy
from services.errors import ServiceError

OPERATOR = "operator"
HEALTH = "health"
MAX_REASON_CHARS = 500
MAX_AUDIENCES = 32
MAX_NAMES = 64  # fields, alert types or communities in one list
_CODE = re.compile(r"[0-9A-Za-z_-]{1,32}")
_DECLARATION_KEYS = frozenset({"reason", "hours", "audiences"})
_OPENING_KEYS = frozenset({"communities", "views"})
_VIEW_KEYS = frozenset({"fields", "alert_types"})


class EmergencyError(ServiceError):
    """An emergency cannot be declared, renewed or ended as asked; ``field`` names the part
    of the declaration at fault, ``status`` the HTTP answer (400, 403, 404 or 409)."""

    def __init__(self, message: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.field, self.status = field, status


@dataclass(frozen=True)
class Actor:
    """Who declares, renews or ends: ``operator`` or ``department:health``, and the token
    (or the operator's login) it was done with, as the audit names it."""

    who: str
    token_id: str
    name: str


@dataclass(frozen=True)
class Declaration:
    """A declaration read and checked: why, for how many hours, what it opens to whom."""

    reason: str
    hours: int
    openings: Mapping[str, Opening]


def parse_reason(value: Any, where: str = "reason") -> str:
    """A reason: required text of 1 to 500 characters, no control characters."""
    if not isinstance(value, str) or not value.strip():
        raise EmergencyError(f"{where}: say why (required text)", where)
    text = value.strip()
    if len(text) > MAX_REASON_CHARS:
        raise EmergencyError(f"{where}: at most {MAX_REASON_CHARS} characters", where)
    if any(ord(c) < 32 and c not in "\t\n" for c in text):
        raise EmergencyError(f"{where}: must not hold control characters", where)
    return text


def parse_hours(value: Any, where: str = "hours") -> int:
    """A duration in whole hours, 1 to 72."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_HOURS:
        raise EmergencyError(f"{where}: a whole number of hours from 1 to {MAX_HOURS}", where)
    return value


def parse_declaration(body: Any) -> Declaration:
    """A declaration's JSON read strictly (its shape only; ``check_openings`` checks it
    against the policy); EmergencyError names the field."""
    if not isinstance(body, dict):
        raise EmergencyError("the body must be a JSON object with reason, hours, audiences")
    _known(body, _DECLARATION_KEYS, "")
    reason = parse_reason(body.get("reason"))
    hours = parse_hours(body.get("hours"))
    audiences = body.get("audiences")
    if not isinstance(audiences, dict) or not 1 <= len(audiences) <= MAX_AUDIENCES:
        raise EmergencyError(
            f"audiences: map 1 to {MAX_AUDIENCES} audiences to what each gets", "audiences"
        )
    openings = {
        str(name): _opening(f"audiences.{name}", str(name), value)
        for name, value in audiences.items()
    }
    return Declaration(reason, hours, openings)


def _opening(where: str, audience: str, body: Any) -> Opening:
    if not isinstance(body, dict):
        raise EmergencyError(f"{where}: must be an object with views and communities", where)
    _known(body, _OPENING_KEYS, where)
    communities: frozenset[str] | None
    raw = body.get("communities", [])
    if raw == "*":
        communities = None
    else:
        communities = _names(f"{where}.communities", raw)
        bad = next((c for c in communities if not _CODE.fullmatch(c)), None)
        if bad is not None:
            raise EmergencyError(f"{where}.communities: {bad!r} is not a community code", where)
    views = body.get("views", {})
    if not isinstance(views, dict):
        raise EmergencyError(f"{where}.views: must map views to fields", f"{where}.views")
    fields, alert_types = {}, {}
    for view, grant in views.items():
        at = f"{where}.views.{view}"
        if not isinstance(grant, dict):
            raise EmergencyError(f"{at}: must be an object with fields (and alert_types)", at)
        _known(grant, _VIEW_KEYS, at)
        fields[str(view)] = _names(f"{at}.fields", grant.get("fields", []))
        if "alert_types" in grant:
            alert_types[str(view)] = _names(f"{at}.alert_types", grant["alert_types"])
    if not fields and communities == frozenset():
        raise EmergencyError(f"{where}: opens nothing: give views or communities", where)
    return Opening(audience, fields, alert_types, communities)


def check_openings(policy: Policy, openings: Mapping[str, Opening]) -> None:
    """Refuse an opening the policy cannot take: an unknown audience, view or field, a
    ``not_shared`` field, an alert type of a view without them, a derived value without its
    inputs. The message names the audience, view and field."""
    for audience, opening in openings.items():
        where = f"audiences.{audience}"
        if audience not in policy.audiences:
            known = ", ".join(policy.audiences)
            raise EmergencyError(f"{where}: no such audience; audiences: {known}", where)
        for view, names in opening.fields.items():
            at = f"{where}.views.{view}"
            classes = policy.views.get(view)
            if classes is None:
                raise EmergencyError(f"{at}: no such view; views: {', '.join(policy.views)}", at)
            for name in sorted(names):
                if name not in classes.classes:
                    raise EmergencyError(f"{at}.fields: {name!r}: not a field of the view", at)
                if classes.classes[name] == NOT_SHARED:
                    raise EmergencyError(
                        f"{at}.fields: {name!r}: is not_shared in the field classes; "
                        "no emergency can share it",
                        f"{at}.fields",
                    )
        for view in opening.alert_types:
            at = f"{where}.views.{view}.alert_types"
            classes = policy.views.get(view)
            if classes is None or ALERT_TYPE_FIELD not in classes.classes:
                raise EmergencyError(f"{at}: the view has no alert types", at)
        try:
            for view in opening.fields:
                layered_grant(policy, audience, view, [_extension(opening)])
        except DerivationError as exc:
            raise EmergencyError(f"{where}: {exc}", where) from None


def check_declarer(
    actor: Actor,
    openings: Mapping[str, Opening],
    owners: Mapping[str, Mapping[str, str]],
    derivation: Derivation,
) -> None:
    """Refuse (403) what ``declarer`` may not open: the operator opens anything the policy
    can take; the health department only fields it owns and alert types they alone raise."""
    if actor.who == OPERATOR:
        return
    if actor.who != f"department:{HEALTH}":
        raise EmergencyError(
            "only the hub operator or the health department may declare an emergency",
            status=403,
        )
    for audience, opening in openings.items():
        for view, names in opening.fields.items():
            for name in sorted(names):
                owner = owners.get(view, {}).get(name)
                if owner != HEALTH:
                    at = f"audiences.{audience}.views.{view}.fields"
                    raise EmergencyError(
                        f"{at}: {name!r} is owned by {owner}; the health department may open "
                        "only fields it owns (the hub operator may open more)",
                        at,
                        403,
                    )
        for view, types in opening.alert_types.items():
            for kind in sorted(types):
                inputs = derivation.alert_types.get(kind, ())
                if any(owners.get(v, {}).get(f) != HEALTH for v, f in inputs):
                    at = f"audiences.{audience}.views.{view}.alert_types"
                    raise EmergencyError(
                        f"{at}: {kind!r} is raised by fields the health department does not own",
                        at,
                        403,
                    )


def _extension(opening: Opening) -> Extension:
    return Extension(
        LAYER, "check", opening.audience, opening.fields, opening.alert_types, opening.communities
    )


def _names(where: str, value: Any) -> frozenset[str]:
    if (
        not isinstance(value, list)
        or len(value) > MAX_NAMES
        or not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value)
    ):
        raise EmergencyError(f"{where}: must be a list of at most {MAX_NAMES} names", where)
    if len(set(value)) != len(value):
        raise EmergencyError(f"{where}: names one twice", where)
    return frozenset(value)


def _known(body: Mapping[Any, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in body if k not in allowed)
    if unknown:
        at = f"{where}.{unknown[0]}" if where else unknown[0]
        raise EmergencyError(f"{at}: unknown key; expected one of {', '.join(sorted(allowed))}", at)
