"""The data catalogue (目录): what the hub holds, who owns it, how it is shared and with whom.

Government data sharing starts from each department's catalogue of its data, every item
marked 无条件共享 (unconditional), 有条件共享 (conditional) or 不予共享 (not shared). The
hub's catalogue is never written by hand: it is generated from the contracts (each field's
``doc`` and ``datong.owner``), the field classes and the sharing policy, with each owning
department's observed feed (its newest event) beside the cadence it is expected to keep.
``GET /catalog`` serves it, ``/catalog`` shows it, ``datong catalog`` prints it.

Pure: plain data in, a JSON-ready dict out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from schemas.catalog import HUB_OWNER, Catalog, Contract
from schemas.data_classes import CLASS_ATTRIBUTE
from services.access.grants import ExtraGrant
from services.access.policy import ALL_COMMUNITIES, NOT_SHARED, Policy
from services.feed_schedule import FeedSchedule

# The sharing attributes as the State Council's regulation names them, and in English.
SHARING_LABELS: Mapping[str, Mapping[str, str]] = {
    "unconditional": {"zh": "无条件共享", "en": "shared unconditionally"},
    "conditional": {"zh": "有条件共享", "en": "shared on conditions (named grants only)"},
    "not_shared": {"zh": "不予共享", "en": "not shared"},
}
BASE_POLICY_GRANT = "base policy"


def build_catalog(
    contracts: Catalog,
    policy: Policy,
    schedule: FeedSchedule,
    newest_events: Mapping[str, int],
    now: datetime,
    *,
    grants: Sequence[ExtraGrant] = (),
) -> dict[str, Any]:
    """The catalogue as JSON-ready data.

    ``newest_events`` maps each department to its newest event time seen by the hub
    (epoch ms; a department never seen is absent); ``now`` dates the observation;
    ``grants`` are the grants layered over the policy (sharing requests), each reader under
    one named by its source (``request:<id>``).
    """
    departments = contracts.departments()
    return {
        "generated_at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "policy": policy.source.name,
        "sharing_classes": {k: dict(v) for k, v in SHARING_LABELS.items()},
        "departments": [
            _department(d, contracts, schedule, newest_events.get(d), now) for d in departments
        ],
        "audiences": [
            {
                "audience": audience.name,
                "description": audience.description,
                "purpose": audience.purpose,
                "communities": _communities(audience.communities),
            }
            for audience in sorted(policy.audiences.values(), key=lambda a: a.name)
        ],
        "views": [
            _view(view, policy, newest_events, schedule, now, grants=grants)
            for view in contracts.views()
        ],
        "sources": [_source(source, contracts) for source in contracts.sources()],
    }


def _department(
    department: str,
    contracts: Catalog,
    schedule: FeedSchedule,
    newest_ms: int | None,
    now: datetime,
) -> dict[str, Any]:
    owned = [
        f"{view.view}.{name}"
        for view in contracts.views()
        for name, owner in view.field_owners.items()
        if owner == department
    ]
    return {
        "department": department,
        "events": [str(c.event) for c in contracts.sources(department)],
        "owns": owned,
        **_cadence(department, schedule, newest_ms, now),
    }


def _cadence(
    department: str, schedule: FeedSchedule, newest_ms: int | None, now: datetime
) -> dict[str, Any]:
    """How often ``department`` is expected to feed, and what the hub last saw of it."""
    if newest_ms is None:
        newest, age = None, None
    else:
        seen = datetime.fromtimestamp(newest_ms / 1000, UTC)
        newest = seen.isoformat(timespec="seconds")
        age = max(0, int((now - seen).total_seconds()))
    return {
        "expected_every_s": schedule.cadence_of(department),
        "newest_event_at": newest,
        "newest_event_age_s": age,
    }


def _view(
    view: Contract,
    policy: Policy,
    newest_events: Mapping[str, int],
    schedule: FeedSchedule,
    now: datetime,
    *,
    grants: Sequence[ExtraGrant],
) -> dict[str, Any]:
    name = str(view.view)
    classes = policy.views[name].classes
    derived = {f: inputs for (v, f), inputs in policy.derivation.fields.items() if v == name}
    fields = []
    for entry in view.schema["fields"]:
        field = entry["name"]
        owner = view.field_owners[field]
        sharing = classes[field]
        fields.append(
            {
                "name": field,
                "doc": entry["doc"],
                "owner": owner,
                "sharing": sharing,
                "derived_from": [f"{v}.{f}" for v, f in derived.get(field, ())],
                "cadence": None
                if owner == HUB_OWNER
                else _cadence(owner, schedule, newest_events.get(owner), now),
                "readers": []
                if sharing == NOT_SHARED
                else _readers(policy, name, field) + _granted(grants, name, field, now),
            }
        )
    return {
        "view": name,
        "doc": view.schema["doc"],
        "key_field": view.key_field,
        "topic": view.topic,
        "fields": fields,
    }


def _readers(policy: Policy, view: str, field: str) -> list[dict[str, Any]]:
    """Every audience that reads ``field`` of ``view`` today, with the grant it reads under."""
    readers = []
    for audience in sorted(policy.audiences):
        grant = policy.grant(audience, view)
        if grant is None or field not in grant.fields:
            continue
        reader: dict[str, Any] = {
            "audience": audience,
            "purpose": grant.purpose,
            "communities": _communities(grant.communities),
            "grant": BASE_POLICY_GRANT,
        }
        if grant.derived.alert_types is not None:
            reader["alert_types"] = sorted(grant.derived.alert_types)
        readers.append(reader)
    return readers


def _granted(
    grants: Sequence[ExtraGrant], view: str, field: str, now: datetime
) -> list[dict[str, Any]]:
    """Every audience a live grant lets read ``field`` of ``view``, under that grant."""
    return [
        {
            "audience": g.audience,
            "purpose": g.purpose,
            "communities": _communities(g.communities),
            "grant": g.source,
            "expires_at": g.expires_at.astimezone(UTC).isoformat(timespec="seconds"),
        }
        for g in grants
        if g.view == view and field in g.fields and g.live(now)
    ]


def _source(source: Contract, contracts: Catalog) -> dict[str, Any]:
    department = str(source.department)
    return {
        "department": department,
        "event": source.event,
        "topic": source.topic,
        "doc": source.schema["doc"],
        # A source event is read by the hub's merge alone; what readers get of it is the
        # view fields its department owns, each shared as its own class says.
        "sharing": NOT_SHARED,
        "shared_through": [
            f"{view.view}.{name}"
            for view in contracts.views()
            for name, owner in view.field_owners.items()
            if owner == department
        ],
        # Each field's data class (identifier, name, code, time...): what may be written to it.
        "fields": [
            {"name": entry["name"], "doc": entry["doc"], "data_class": entry.get(CLASS_ATTRIBUTE)}
            for entry in source.schema["fields"]
        ],
    }


def _communities(communities: frozenset[str] | None) -> str | list[str]:
    return ALL_COMMUNITIES if communities is None else sorted(communities)
