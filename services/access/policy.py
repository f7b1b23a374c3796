"""Sharing policies: who may read which fields of which views, in which communities, and why.

Policies are data (YAML, see ``services/policies/``), loaded and checked once at start:

- ``field_classes.yaml`` gives every field of every view contract a sharing class:
  ``unconditional`` (any audience granted the view reads it), ``conditional`` (only an
  audience whose policy names it) or ``not_shared`` (never leaves the hub).
- the policy file (``DATONG_POLICY_FILE``) names each audience's purpose, communities and,
  per view, the conditional fields it may read.

Anything not granted is denied. Every read path (single row, list, export, subscriptions)
goes through the same three calls::

    grant = policy.grant(audience, view)          # None: the view is not shared with it
    allows_community(grant, row_community_code)   # False: the row is outside its communities
    filter_record(grant, json_record(...))        # only the granted fields, provenance too

Derived data inherits the sharing class of its inputs (``derivation.py``): a policy that
grants a derived field or an alert type without what it is made of is refused at load, an
alert of a type not granted is not there for the reader (``filter_record`` answers None),
and a reason is rendered with only the values the reader may see (``reasons.py``).

This module is pure. The files are read and checked by ``policy_file.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from services.access.derivation import (
    ALERT_TYPE_FIELD,
    Derivation,
    DerivedGrant,
)
from services.access.reasons import render_reason
from services.errors import ConfigError

UNCONDITIONAL = "unconditional"
CONDITIONAL = "conditional"
NOT_SHARED = "not_shared"
SHARING_CLASSES = (UNCONDITIONAL, CONDITIONAL, NOT_SHARED)

ALL_COMMUNITIES = "*"
PROVENANCE = "provenance"

REASON_CODE, REASON_PARAMS, REASON = "reason_code", "reason_params", "reason"
REASON_ZH = "reason_zh"  # the same reason in Chinese, rendered beside ``reason``
EVENT_ID = "event_id"


class PolicyError(ConfigError):
    """A policy or field-class file is missing or malformed; the message names file and place."""


@dataclass(frozen=True)
class ViewFields:
    """The fields of one view contract with their sharing classes."""

    view: str
    key_field: str
    classes: Mapping[str, str]  # field -> sharing class, every field of the contract

    def of_class(self, sharing_class: str) -> frozenset[str]:
        """The fields of one sharing class."""
        return frozenset(f for f, c in self.classes.items() if c == sharing_class)


@dataclass(frozen=True)
class Grant:
    """What one audience may read of one view.

    ``fields`` holds the record fields it may read (``provenance`` among them when the
    provenance map is shared at all); ``communities`` is None for every community;
    ``derived`` what it reads of derived values (alert types, reason values, event ids).
    """

    audience: str
    purpose: str
    view: str
    fields: frozenset[str]
    communities: frozenset[str] | None
    derived: DerivedGrant = field(default_factory=DerivedGrant)

    @property
    def all_communities(self) -> bool:
        """True when the grant covers every community, rows without one included."""
        return self.communities is None

    def narrowed(self, fields: Iterable[str]) -> Grant:
        """The same grant limited to ``fields``; FieldNotGranted names the first one outside."""
        wanted = list(fields)
        for name in wanted:
            if name not in self.fields:
                raise FieldNotGranted(self, name)
        return replace(self, fields=frozenset(wanted))


class FieldNotGranted(Exception):  # noqa: N818 - a refusal the API turns into a 403
    """A reader asked for a field its grant does not cover."""

    def __init__(self, grant: Grant, field: str) -> None:
        super().__init__(
            f"audience {grant.audience} may not read field {field!r} of view {grant.view}"
        )
        self.grant, self.field = grant, field


@dataclass(frozen=True)
class Audience:
    """One reader of the views: its declared purpose, communities and grants by view."""

    name: str
    description: str
    purpose: str
    communities: frozenset[str] | None
    grants: Mapping[str, Grant]


@dataclass(frozen=True)
class Policy:
    """Every audience's grants over the views, checked against the view contracts."""

    source: Path
    views: Mapping[str, ViewFields]
    audiences: Mapping[str, Audience]
    derivation: Derivation = field(default_factory=Derivation)

    def grant(self, audience: str, view: str) -> Grant | None:
        """What ``audience`` may read of ``view``; None when nothing (default deny)."""
        found = self.audiences.get(audience)
        return None if found is None else found.grants.get(view)

    def fields_of(self, view: str) -> frozenset[str]:
        """Every field of the view contract (whatever its class); empty for an unknown view."""
        found = self.views.get(view)
        return frozenset(found.classes) if found else frozenset()


def filter_record(grant: Grant, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The part of a rendered record (``json_record``) that ``grant`` may read; None when
    the reader may not know the row exists (an alert of a type it is not granted).

    Fields outside the grant are dropped, unknown ones too; the provenance map keeps only
    the entries of granted fields, without event ids unless the grant shows them, and is
    dropped when provenance itself is not granted. A reason's values are cut to those
    granted, and its words (``reason``) rendered from what is left.
    """
    derived = grant.derived
    kind = record.get(ALERT_TYPE_FIELD)
    if derived.alert_types is not None and kind is not None and kind not in derived.alert_types:
        return None
    kept = {k: v for k, v in record.items() if k in grant.fields and k != PROVENANCE}
    for name, types in derived.type_counts.items():
        if isinstance(kept.get(name), Mapping):
            kept[name] = shown_counts(kept[name], types, derived.min_count)
    for name in derived.small_counts:
        if isinstance(count := kept.get(name), int) and 0 < count < derived.min_count:
            kept[name] = None  # a count this small could single a resident out
    if PROVENANCE in grant.fields and isinstance(record.get(PROVENANCE), Mapping):
        kept[PROVENANCE] = {
            k: v if derived.event_ids else {n: x for n, x in v.items() if n != EVENT_ID}
            for k, v in record[PROVENANCE].items()
            if k in grant.fields and k != PROVENANCE and derived.type_counts.get(k) is None
        }
    params = record.get(REASON_PARAMS)
    if isinstance(params, Mapping):
        shown = {k: v for k, v in params.items() if k in derived.reason_params}
        if REASON_PARAMS in kept:
            kept[REASON_PARAMS] = shown
        if kept.get(REASON_CODE) is not None:
            kept[REASON] = render_reason(str(kept[REASON_CODE]), shown)
            kept[REASON_ZH] = render_reason(str(kept[REASON_CODE]), shown, "zh")
    return kept


def shown_counts(
    counts: Mapping[str, Any], types: frozenset[str] | None, min_count: int
) -> dict[str, int | None]:
    """Counts by alert type as a reader sees them: only ``types`` (None: all), and each
    count from 1 to ``min_count - 1`` as None; 0 and larger counts as they are."""
    return {
        str(kind): None if 0 < int(n) < min_count else int(n)
        for kind, n in counts.items()
        if types is None or kind in types
    }


def allows_community(grant: Grant, community_code: str | None) -> bool:
    """Whether a row of ``community_code`` (None: unknown) is inside the grant's communities."""
    if grant.communities is None:
        return True
    return community_code is not None and community_code in grant.communities
