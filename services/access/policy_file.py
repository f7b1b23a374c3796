"""Reading a sharing policy and its field classes from YAML, checked against the contracts.

Every problem is a PolicyError naming the file, the audience, the view and the field, so an
operator can fix the file from the message alone. The model it builds is ``policy.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from schemas.catalog import Catalog
from services.access.derivation import (
    ALERT_TYPE_FIELD,
    Derivation,
    DerivationError,
    derived_grants,
    load_derivation,
)
from services.access.policy import (
    ALL_COMMUNITIES,
    NOT_SHARED,
    SHARING_CLASSES,
    UNCONDITIONAL,
    Audience,
    Grant,
    Policy,
    PolicyError,
    ViewFields,
)
from services.setting_defaults import DEFAULT_MIN_SHOWN_COUNT

POLICY_DIR = Path(__file__).resolve().parents[1] / "policies"
DEFAULT_POLICY_FILE = POLICY_DIR / "sharing.yaml"
DEFAULT_FIELD_CLASSES_FILE = POLICY_DIR / "field_classes.yaml"

# Audience names travel in tokens, audit records and log lines: keep them plain.
_AUDIENCE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_AUDIENCE_KEYS = frozenset({"description", "purpose", "communities", "views"})
_GRANT_KEYS = frozenset({"fields", "alert_types"})
_POLICY_KEYS = frozenset({"audiences", "field_classes"})


def load_policy(
    path: Path | str = DEFAULT_POLICY_FILE,
    catalog: Catalog | None = None,
    *,
    min_shown_count: int = DEFAULT_MIN_SHOWN_COUNT,
) -> Policy:
    """Load and check a policy file and the field classes it refers to.

    The field classes are ``field_classes:`` of the policy file (relative to it), or the
    shipped ``services/policies/field_classes.yaml``. ``min_shown_count`` is the smallest
    alert count by type a reader sees (``DATONG_MIN_SHOWN_COUNT``). PolicyError names the
    file, audience, view and field of the first problem.
    """
    path = Path(path)
    catalog = catalog or Catalog.load()
    document = _read_yaml(path)
    _no_unknown_keys(document, _POLICY_KEYS, f"{path}")
    classes_ref = document.get("field_classes")
    if classes_ref is None:
        classes_path = DEFAULT_FIELD_CLASSES_FILE
    elif isinstance(classes_ref, str) and classes_ref:
        classes_path = path.parent / classes_ref
    else:
        raise PolicyError(f"{path}: field_classes must be the path of a YAML file")
    views, derivation = load_classes(classes_path, catalog)
    audiences = document.get("audiences")
    if not isinstance(audiences, dict) or not audiences:
        raise PolicyError(f"{path}: needs an 'audiences' mapping of audience name -> grants")
    return Policy(
        source=path,
        views=views,
        audiences={
            str(name): _audience(path, name, body, views, derivation, min_count=min_shown_count)
            for name, body in audiences.items()
        },
        derivation=derivation,
    )


def load_field_classes(path: Path, catalog: Catalog) -> dict[str, ViewFields]:
    """Load the sharing classes of every view field; PolicyError names file, view and field."""
    return load_classes(path, catalog)[0]


def load_classes(path: Path, catalog: Catalog) -> tuple[dict[str, ViewFields], Derivation]:
    """The sharing classes of every view field, and what derived values are made of
    (``derived:``); PolicyError names file, view and field of the first problem."""
    document = _read_yaml(path)
    _no_unknown_keys(document, frozenset({"views", "derived"}), f"{path}")
    views = document.get("views")
    if not isinstance(views, dict):
        raise PolicyError(f"{path}: needs a 'views' mapping of view -> field -> sharing class")
    contracts = {c.view: c for c in catalog.views() if c.view}
    for view in views:
        if view not in contracts:
            raise PolicyError(
                f"{path}: view {view!r}: no such view contract; views: {', '.join(contracts)}"
            )
    loaded: dict[str, ViewFields] = {}
    for view, contract in contracts.items():
        where = f"{path}: view {view!r}"
        classes = views.get(view)
        if not isinstance(classes, dict):
            raise PolicyError(f"{where}: missing; give every field of the view a sharing class")
        fields = contract.field_names
        for name, sharing_class in classes.items():
            if name not in fields:
                raise PolicyError(
                    f"{where}: field {name!r}: not a field of the view contract "
                    f"({contract.name}.avsc); fields: {', '.join(fields)}"
                )
            if sharing_class not in SHARING_CLASSES:
                raise PolicyError(
                    f"{where}: field {name!r}: sharing class {sharing_class!r} is not one of "
                    f"{', '.join(SHARING_CLASSES)}"
                )
        for name in fields:
            if name not in classes:
                raise PolicyError(
                    f"{where}: field {name!r}: has no sharing class; every field of the "
                    "contract needs one (nothing is shared by default)"
                )
        for name, why in (
            (contract.key_field, "it is the view's key, which paths and list cursors carry"),
            ("community_code", "list requests filter by it and list cursors carry it"),
        ):
            if name in classes and classes[name] != UNCONDITIONAL:
                raise PolicyError(f"{where}: field {name!r}: must be unconditional: {why}")
        loaded[view] = ViewFields(view, contract.key_field, dict(classes))
    return loaded, _derivation(path, document.get("derived", {}), contracts)


def _derivation(path: Path, section: Any, contracts: Mapping[str, Any]) -> Derivation:
    view_fields = {view: tuple(c.field_names) for view, c in contracts.items()}
    try:
        return load_derivation(str(path), section, view_fields, _alert_types(contracts))
    except DerivationError as exc:
        raise PolicyError(str(exc)) from exc


def _alert_types(contracts: Mapping[str, Any]) -> list[str]:
    """The symbols of the ``alert_type`` enum of the views that have one."""
    found: list[str] = []
    for contract in contracts.values():
        for item in contract.parsed["fields"]:
            if item["name"] == ALERT_TYPE_FIELD and isinstance(item["type"], dict):
                found += [s for s in item["type"].get("symbols", []) if s not in found]
    return found


def _audience(
    path: Path,
    name: Any,
    body: Any,
    views: Mapping[str, ViewFields],
    derivation: Derivation,
    *,
    min_count: int,
) -> Audience:
    where = f"{path}: audience {name!r}"
    if not isinstance(name, str) or not _AUDIENCE_NAME.fullmatch(name):
        raise PolicyError(
            f"{where}: the name must be lowercase letters, digits, '.', '_' or '-' "
            "(at most 64), starting with a letter or digit"
        )
    if not isinstance(body, dict):
        raise PolicyError(f"{where}: must be a mapping with purpose, communities and views")
    _no_unknown_keys(body, _AUDIENCE_KEYS, where)
    purpose = body.get("purpose")
    if not isinstance(purpose, str) or not purpose.strip():
        raise PolicyError(f"{where}: field 'purpose': the declared purpose of reads is required")
    description = body.get("description", "")
    if not isinstance(description, str):
        raise PolicyError(f"{where}: field 'description': must be text")
    communities = _communities(where, body.get("communities"))
    granted = body.get("views")
    if not isinstance(granted, dict) or not granted:
        raise PolicyError(f"{where}: field 'views': must map at least one view to its grant")
    fields, alert_types = {}, {}
    for view, grant in granted.items():
        if view not in views:
            raise PolicyError(f"{where}: view {view!r}: no such view; views: {', '.join(views)}")
        fields[view] = _grant_fields(f"{where}: view {view!r}", grant, views[view])
        named = _grant_alert_types(f"{where}: view {view!r}", grant, views[view])
        if named is not None:
            alert_types[view] = named
    try:
        derived = derived_grants(where, derivation, fields, alert_types, min_count)
    except DerivationError as exc:
        raise PolicyError(str(exc)) from exc
    grants = {
        view: Grant(name, purpose.strip(), view, fields[view], communities, derived[view])
        for view in fields
    }
    return Audience(name, description, purpose.strip(), communities, grants)


def _grant_alert_types(where: str, grant: Any, view: ViewFields) -> list[str] | None:
    """The alert types a grant names: required of a view of alerts, refused elsewhere."""
    named = (grant or {}).get("alert_types")
    if ALERT_TYPE_FIELD not in view.classes:
        if named is not None:
            raise PolicyError(f"{where}: 'alert_types': the view has no alert types")
        return None
    if not isinstance(named, list) or not named or not all(isinstance(t, str) for t in named):
        raise PolicyError(
            f"{where}: 'alert_types': name the alert types the audience reads (a list); "
            "each needs the fields that raise it granted"
        )
    if len(set(named)) != len(named):
        raise PolicyError(f"{where}: 'alert_types': lists an alert type twice")
    return named


def _communities(where: str, value: Any) -> frozenset[str] | None:
    if value == ALL_COMMUNITIES:
        return None
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(c, str) and c.strip() for c in value)
    ):
        numbers = isinstance(value, list) and any(isinstance(c, int) for c in value)
        hint = " (quote the codes: YAML reads 110105001001 as a number)" if numbers else ""
        raise PolicyError(
            f"{where}: field 'communities': must be \"*\" or a non-empty list of community "
            f"codes, got {value!r}{hint}"
        )
    if len(set(value)) != len(value):
        raise PolicyError(f"{where}: field 'communities': lists a community twice")
    return frozenset(value)


def _grant_fields(where: str, grant: Any, view: ViewFields) -> frozenset[str]:
    if grant is None:
        grant = {}
    if not isinstance(grant, dict):
        raise PolicyError(f"{where}: must be a mapping, e.g. {{fields: [...]}} or {{}}")
    _no_unknown_keys(grant, _GRANT_KEYS, where)
    named = grant.get("fields", [])
    if not isinstance(named, list) or not all(isinstance(f, str) for f in named):
        raise PolicyError(f"{where}: 'fields' must be a list of field names")
    seen: set[str] = set()
    for name in named:
        sharing_class = view.classes.get(name)
        if sharing_class is None:
            raise PolicyError(
                f"{where}: field {name!r}: not a field of the view; "
                f"fields: {', '.join(view.classes)}"
            )
        if sharing_class == NOT_SHARED:
            raise PolicyError(
                f"{where}: field {name!r}: is not_shared in the field classes; no policy can "
                "share it"
            )
        if name in seen:
            raise PolicyError(f"{where}: field {name!r}: listed twice")
        seen.add(name)
    return view.of_class(UNCONDITIONAL) | frozenset(named)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise PolicyError(f"{path}: must be a YAML mapping")
    return document


def _no_unknown_keys(body: Mapping[Any, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in body if k not in allowed)
    if unknown:
        raise PolicyError(
            f"{where}: unknown key {unknown[0]!r}; expected one of {', '.join(sorted(allowed))}"
        )
