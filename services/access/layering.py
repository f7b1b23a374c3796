"""Layers over the base policy: what an audience reads of a view once every layer is applied.

The YAML policy is the base. A layer (an emergency, and later a granted sharing request)
adds, for one audience, fields per view, alert types and communities, for as long as it
holds. ``layered_grant`` is the one function that composes them, at read time: the base
grant widened by every extension of the audience, with its derived values (alert types,
reason values, event ids, counts by type) worked out again from the widened fields, so a
layer never shows a derived value without its inputs.

No layer ever adds a ``not_shared`` field: each is checked when it is made and when the API
loads it (``emergency_rules.py``), and the composition here keeps out any it is handed all
the same. Pure: plain data in, a ``Grant`` out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.access.derivation import ALERT_TYPE_FIELD, derived_grants
from services.access.policy import NOT_SHARED, UNCONDITIONAL, Audience, Grant, Policy


@dataclass(frozen=True)
class Extension:
    """What one layer adds to one audience: extra fields by view, extra alert types by view,
    extra communities (None: every community; empty: none beyond its own)."""

    layer: str  # the kind of layer, e.g. "emergency"
    source_id: str  # which one of that kind (an emergency's id)
    audience: str
    fields: Mapping[str, frozenset[str]] = field(default_factory=dict)
    alert_types: Mapping[str, frozenset[str]] = field(default_factory=dict)
    communities: frozenset[str] | None = frozenset()


@dataclass(frozen=True)
class Layered:
    """A grant with the layers applied, and the base grant it widened (None: the view was
    opened by a layer alone)."""

    grant: Grant
    base: Grant | None
    extensions: tuple[Extension, ...] = ()


def layered_grant(
    policy: Policy, audience: str, view: str, extensions: Sequence[Extension]
) -> Layered | None:
    """What ``audience`` reads of ``view`` under the base policy widened by ``extensions``
    (those of other audiences are ignored); None when neither grants the view."""
    found = policy.audiences.get(audience)
    if found is None:
        return None
    own = tuple(e for e in extensions if e.audience == audience)
    base = found.grants.get(view)
    if not own:
        return None if base is None else Layered(base, base)
    fields = _widened_fields(policy, found, own)
    if view not in fields:
        return None if base is None else Layered(base, base)
    alert_types = _widened_alert_types(found, own)
    for name in fields:
        if ALERT_TYPE_FIELD in policy.views[name].classes:
            # A view of alerts opened without types shows none of them, never all.
            alert_types.setdefault(name, frozenset())
    derived = derived_grants(
        f"audience {audience!r} (layered)",
        policy.derivation,
        fields,
        {v: sorted(t) for v, t in alert_types.items()},
        _min_count(found),
    )
    communities = found.communities
    for extension in own:
        communities = _union(communities, extension.communities)
    grant = Grant(audience, found.purpose, view, fields[view], communities, derived[view])
    return Layered(grant, base, own)


def _widened_fields(
    policy: Policy, audience: Audience, extensions: Sequence[Extension]
) -> dict[str, frozenset[str]]:
    fields = {view: grant.fields for view, grant in audience.grants.items()}
    for extension in extensions:
        for view, extra in extension.fields.items():
            classes = policy.views[view]
            # Never a not_shared field, whatever a layer says (checked before it gets here).
            allowed = frozenset(
                f for f in extra if classes.classes.get(f) not in (None, NOT_SHARED)
            )
            start = fields.get(view, classes.of_class(UNCONDITIONAL))
            fields[view] = start | allowed
    return fields


def _widened_alert_types(
    audience: Audience, extensions: Sequence[Extension]
) -> dict[str, frozenset[str]]:
    types = {
        view: grant.derived.alert_types
        for view, grant in audience.grants.items()
        if grant.derived.alert_types is not None
    }
    for extension in extensions:
        for view, extra in extension.alert_types.items():
            types[view] = types.get(view, frozenset()) | extra
    return types


def _min_count(audience: Audience) -> int:
    return next((g.derived.min_count for g in audience.grants.values()), 1)


def _union(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    return None if a is None or b is None else a | b


@dataclass(frozen=True)
class LayerUse:
    """What a read took from one extension that its base grant does not give: fields, and
    communities (``every_community``: all those outside the base's)."""

    layer: str
    source_id: str
    fields: frozenset[str]
    communities: frozenset[str]
    every_community: bool = False

    def as_record(self) -> dict[str, object]:
        """The use as the read audit keeps it (JSON)."""
        shown: object = "*" if self.every_community else sorted(self.communities)
        return {"fields": sorted(self.fields), "communities": shown}


def layer_uses(
    layered: Layered, read_fields: frozenset[str], read_communities: frozenset[str] | None
) -> tuple[LayerUse, ...]:
    """What a read of ``read_fields`` in ``read_communities`` (None: all the grant covers)
    took from each extension beyond the base grant; extensions it took nothing from are
    left out, so a read the base alone allows is no read under a layer."""
    base = layered.base
    base_fields = base.fields if base is not None else frozenset()
    base_communities = base.communities if base is not None else frozenset()
    out = []
    for extension in layered.extensions:
        added = extension.fields.get(layered.grant.view, frozenset())
        fields = read_fields - base_fields if base is None else (read_fields & added) - base_fields
        every, communities = _communities_taken(
            base_communities, extension.communities, read_communities
        )
        if fields or communities or every:
            out.append(LayerUse(extension.layer, extension.source_id, fields, communities, every))
    return tuple(out)


def _communities_taken(
    base: frozenset[str] | None, added: frozenset[str] | None, read: frozenset[str] | None
) -> tuple[bool, frozenset[str]]:
    """(every community outside the base, or those communities) a read took from a layer."""
    if base is None:
        return False, frozenset()  # the base covers every community already
    if read is None:  # every community the layered grant covers
        return (True, frozenset()) if added is None else (False, added - base)
    outside = read - base
    return False, outside if added is None else outside & added
