"""What derived data is made of, so that it is shared only with those granted its inputs.

An alert id made from a person_key is that key; a reason that says "since 06-01 22:05"
carries the time of the last water use; a RED_STATUS alert says who is RED. The
``derived:`` section of the field classes names, for each derived value, the view fields
(``view.field``) it comes from:

- ``fields``: a view field derived from others (``dwelling_id`` spells out building, unit
  and room): an audience granted it must be granted every input too, checked at load.
- ``alert_types``: the fields that raise each alert type: an audience reads an alert only
  when its policy names the type, and may name it only with every input granted.
- ``reason_params``: each value a reason cites; shown only to audiences granted its inputs.
- ``provenance_event_ids``: per view, the fields an event id may embed (a delivery's event
  id is its delivery id); the provenance of its rows shows event ids only with all of them.
- ``counts_by_alert_type``: view fields that count alerts by type (a community's open
  alerts): an audience sees the count of a type only when it may read the type (granted
  every field that raises it), and a small count not at all (``DerivedGrant.min_count``).
- ``small_counts``: view fields that count residents by what the audience could not read of
  them one by one (residents without a recent negative test): a count from 1 to
  ``min_count - 1`` is null, as it could single a resident out.

Pure: it checks plain data and answers which derived values a set of grants covers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.errors import ConfigError

FieldRef = tuple[str, str]  # (view, field)
Inputs = tuple[FieldRef, ...]
ALERT_TYPE_FIELD = "alert_type"
_SECTIONS = frozenset(
    {
        "fields",
        "alert_types",
        "reason_params",
        "provenance_event_ids",
        "counts_by_alert_type",
        "small_counts",
    }
)


class DerivationError(ConfigError):
    """The ``derived:`` section of a field-class file is malformed; the message names where."""


@dataclass(frozen=True)
class Derivation:
    """The inputs of every derived value the views carry."""

    fields: Mapping[FieldRef, Inputs] = field(default_factory=dict)
    alert_types: Mapping[str, Inputs] = field(default_factory=dict)
    reason_params: Mapping[str, Inputs] = field(default_factory=dict)
    provenance_event_ids: Mapping[str, Inputs] = field(default_factory=dict)
    counts_by_alert_type: tuple[FieldRef, ...] = ()
    small_counts: tuple[FieldRef, ...] = ()


def load_derivation(
    where: str, section: Any, contracts: Mapping[str, tuple[str, ...]], alert_types: list[str]
) -> Derivation:
    """The ``derived:`` section checked against the view contracts.

    ``contracts`` maps each view to its fields; ``alert_types`` are the symbols of the alert
    contract's ``alert_type`` enum, each of which needs its inputs named (a new alert type
    is never shared by accident). DerivationError names the entry of the first problem.
    """
    where = f"{where}: derived"
    if not isinstance(section, dict):
        raise DerivationError(f"{where}: must map {', '.join(sorted(_SECTIONS))} to entries")
    unknown = sorted(str(k) for k in section if k not in _SECTIONS)
    if unknown:
        raise DerivationError(f"{where}: unknown key {unknown[0]!r}")

    def entries(name: str) -> dict[str, Inputs]:
        body = section.get(name) or {}
        if not isinstance(body, dict):
            raise DerivationError(f"{where}: {name}: must map each entry to its inputs")
        return {str(k): _inputs(f"{where}: {name}: {k!r}", v, contracts) for k, v in body.items()}

    fields = {_ref(f"{where}: fields", k, contracts): v for k, v in entries("fields").items()}
    raised = entries("alert_types")
    for alert_type in raised:
        if alert_type not in alert_types:
            raise DerivationError(
                f"{where}: alert_types: {alert_type!r}: not an alert type; "
                f"types: {', '.join(alert_types)}"
            )
    for alert_type in alert_types:
        if alert_type not in raised:
            raise DerivationError(
                f"{where}: alert_types: {alert_type!r}: missing; name the fields that raise it"
            )
    event_ids = entries("provenance_event_ids")
    for view in event_ids:
        if view not in contracts:
            raise DerivationError(f"{where}: provenance_event_ids: {view!r}: no such view")
    counted, small = (_refs(where, name, section, contracts) for name in _LISTS)
    return Derivation(fields, raised, entries("reason_params"), event_ids, counted, small)


_LISTS = ("counts_by_alert_type", "small_counts")


def _refs(
    where: str, name: str, section: Mapping[str, Any], contracts: Mapping[str, tuple[str, ...]]
) -> tuple[FieldRef, ...]:
    listed = section.get(name) or []
    if not isinstance(listed, list):
        raise DerivationError(f"{where}: {name}: must list view.field names")
    return tuple(_ref(f"{where}: {name}", item, contracts) for item in listed)


def first_missing(inputs: Inputs, granted: Callable[[FieldRef], bool]) -> FieldRef | None:
    """The first input not ``granted``, or None when every one is."""
    return next((ref for ref in inputs if not granted(ref)), None)


def _inputs(where: str, value: Any, contracts: Mapping[str, tuple[str, ...]]) -> Inputs:
    if not isinstance(value, list) or not value:
        raise DerivationError(f"{where}: must list the view.field names it is derived from")
    return tuple(_ref(where, item, contracts) for item in value)


def _ref(where: str, value: Any, contracts: Mapping[str, tuple[str, ...]]) -> FieldRef:
    view, _, name = str(value).partition(".")
    if view not in contracts or name not in contracts[view]:
        raise DerivationError(f"{where}: {value!r}: not a view.field of the view contracts")
    return view, name


@dataclass(frozen=True)
class DerivedGrant:
    """What one audience reads of one view's derived values.

    ``alert_types``: the alert types whose rows it reads (None: the view has none);
    ``reason_params``: the reason values it sees; ``event_ids``: whether the provenance of
    the view's rows shows event ids; ``type_counts``: per field counting alerts by type,
    the types whose counts it sees (None: every type, the field's provenance too);
    ``min_count``: the smallest count of those it sees (1 to ``min_count - 1`` is null);
    ``small_counts``: the view's counts of residents shown null from 1 to ``min_count - 1``.
    """

    alert_types: frozenset[str] | None = None
    reason_params: frozenset[str] = frozenset()
    event_ids: bool = True
    type_counts: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    min_count: int = 1
    small_counts: frozenset[str] = frozenset()


def derived_grants(
    where: str,
    derivation: Derivation,
    granted: Mapping[str, frozenset[str]],
    alert_types: Mapping[str, list[str]],
    min_count: int = 1,
) -> dict[str, DerivedGrant]:
    """Check an audience's grants against what derived values are made of.

    ``granted``: view -> the fields the audience reads of it; ``alert_types``: view -> the
    alert types its policy names; ``min_count``: the smallest alert count shown by type.
    DerivationError names the audience's view, the derived field or alert type, and the
    input it is not granted.
    """

    def has(ref: FieldRef) -> bool:
        return ref[1] in granted.get(ref[0], frozenset())

    for (view, name), inputs in derivation.fields.items():
        missing = first_missing(inputs, has) if name in granted.get(view, ()) else None
        if missing:
            raise DerivationError(
                f"{where}: view {view!r}: field {name!r}: is derived from "
                f"{'.'.join(missing)}, which the audience is not granted; grant it too"
            )
    # The alert types it may know of: those whose every raising field it reads.
    readable = frozenset(
        t for t, inputs in derivation.alert_types.items() if first_missing(inputs, has) is None
    )
    out = {}
    for view in granted:
        named = alert_types.get(view)
        types = None
        if named is not None:
            for alert_type in named:
                raisers = derivation.alert_types.get(alert_type)
                if raisers is None:
                    known = ", ".join(derivation.alert_types)
                    raise DerivationError(
                        f"{where}: view {view!r}: alert type {alert_type!r}: no such alert "
                        f"type; types: {known}"
                    )
                missing = first_missing(raisers, has)
                if missing:
                    raise DerivationError(
                        f"{where}: view {view!r}: alert type {alert_type!r}: is raised by "
                        f"{'.'.join(missing)}, which the audience is not granted"
                    )
            types = frozenset(named)
        params = frozenset(
            p
            for p, inputs in derivation.reason_params.items()
            if first_missing(inputs, has) is None
        )
        ids = derivation.provenance_event_ids.get(view, ())
        counts = {
            name: None if readable == frozenset(derivation.alert_types) else readable
            for counted_view, name in derivation.counts_by_alert_type
            if counted_view == view
        }
        small = frozenset(
            name for small_view, name in derivation.small_counts if small_view == view
        )
        out[view] = DerivedGrant(
            types, params, first_missing(ids, has) is None, counts, min_count, small
        )
    return out
