"""Alert rules: pure functions from view state to the alerts that should be open now.

An alert is open exactly while its rule holds over the current state, so re-evaluating
on a replay or in another order finds the same alerts. The rules key each alert by its
identity, the rule and the subject (or the delivery), never by the event that happened to
open it. That identity names a person, dwelling or delivery, so it never leaves the merge:
the stored id is ``alert_id``, a keyed hash of it (derived data is as sensitive as what it
is derived from). A reason is a code with the values it cites, never words embedding them:
the API renders it for each audience with only the values that audience is granted.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from services.merge.derive import family, provenance_of, resident_visible
from services.merge.merge import RowState
from services.merge.rules import DELIVERY, HOSTED, MEMBER

WELFARE_SILENCE_MS = 24 * 3600 * 1000
Alert = dict[str, Any]  # the alert record without provenance, plus "provenance"
ALERT_ID_DOMAIN = "alert-id:"  # keeps alert ids apart from person_keys made with the same key
ALERT_ID_HEX_DIGITS = 32


def alert_identity(alert_type: str, subject: str) -> str:
    """What an alert is about, inside the merge: the rule and its subject (or delivery)."""
    return f"{alert_type}:{subject}"


def alert_id(key: bytes, identity: str) -> str:
    """The opaque id an alert is stored and published under: deterministic, so a replay
    finds the same alert, but only the hub key can tie it to the subject it is about."""
    message = (ALERT_ID_DOMAIN + identity).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:ALERT_ID_HEX_DIGITS]


def _alert(  # noqa: PLR0917 - one argument per field of the alert record
    alert_type: str,
    subject_kind: str,
    subject_key: str,
    household: Mapping[str, Any],
    opened_at: int,
    reason: tuple[str, dict[str, int]],
    source: list[Any] | None,
    delivery_id: str | None = None,
) -> Alert:
    code, params = reason
    return {
        "identity": alert_identity(alert_type, delivery_id or subject_key),
        "alert_type": alert_type,
        "status": "OPEN",
        "subject_kind": subject_kind,
        "subject_key": subject_key,
        "dwelling_id": household.get("dwelling_id"),
        "community_code": household.get("community_code"),
        "grid_id": household.get("grid_id"),
        "delivery_id": delivery_id,
        "opened_at": opened_at,
        "closed_at": None,
        "reason": "",  # the contract's field of free words, kept empty for older readers
        "reason_code": code,
        "reason_params": params,
        "provenance": {"opened_at": source} if source else {},
    }


def welfare_checks(household: Mapping[str, Any], members: Mapping[str, Any]) -> list[Alert]:
    """An elderly resident living alone whose dwelling shows no water use for 24 hours.

    Measured in event time: from the last reading that went up to the latest reading, so
    a late feed neither raises nor clears the alert by itself.
    """
    used_at, read_at = (
        household.get("last_water_activity_at"),
        household.get("last_water_reading_at"),
    )
    if used_at is None or read_at is None or read_at - used_at < WELFARE_SILENCE_MS:
        return []
    if not any(member["elderly_living_alone"] for member in members.values()):
        return []
    reason = ("NO_WATER_USE", {"hours": (read_at - used_at) // 3_600_000, "since": used_at})
    return [
        _alert(
            "WELFARE_CHECK",
            "PERSON",
            person_key,
            household,
            used_at + WELFARE_SILENCE_MS,
            reason,
            household.get("provenance", {}).get("last_water_activity_at"),
        )
        for person_key, member in sorted(members.items())
        if member["elderly_living_alone"]
    ]


def isolation_risk(household: Mapping[str, Any], hosted: Mapping[str, Any]) -> list[Alert]:
    """A home quarantine in a dwelling without a separate room and bathroom."""
    home = [order for order in hosted.values() if order["kind"] == "HOME"]
    if not home or household.get("isolation_suitable") is not False:
        return []
    first = min(home, key=lambda order: (order["starts_at"], order["person_key"]))
    return [
        _alert(
            "ISOLATION_RISK",
            "DWELLING",
            household["dwelling_id"],
            household,
            first["starts_at"],
            ("NO_SEPARATE_ROOM", {"resident_count": household["resident_count"]}),
            first["source"],
        )
    ]


def quarantine_deliveries(
    household: Mapping[str, Any], deliveries: Mapping[str, Any]
) -> list[Alert]:
    """A delivery requested by a quarantined household stays open until fulfilled.

    It follows the household's quarantine state, not the request's ``for_quarantine``
    flag (informational, as the DeliveryRequested contract says).
    """
    if not household.get("quarantined"):
        return []
    alerts = []
    for delivery_id, request in sorted(deliveries.items()):
        due = request.get("due_at")
        params = {} if due is None else {"due_at": due}
        alerts.append(
            _alert(
                "QUARANTINE_DELIVERY",
                "DWELLING",
                household["dwelling_id"],
                household,
                request["requested_at"],
                ("DELIVERY_NOT_FULFILLED", params),
                request.get("source"),
                delivery_id=delivery_id,
            )
        )
    return alerts


def red_status(
    person_key: str, member: Mapping[str, Any], household: Mapping[str, Any]
) -> list[Alert]:
    """A resident whose health status is RED: the grid office of their grid is alerted."""
    if member.get("health_status") != "RED":
        return []
    source = member.get("health_source")
    opened = source[2] if source else 0
    where = {
        **household,
        "community_code": household.get("community_code") or member.get("community_code"),
    }
    return [
        _alert(
            "RED_STATUS",
            "PERSON",
            person_key,
            where,
            opened,
            ("HEALTH_STATUS_RED", {}),
            source,
        )
    ]


def household_alerts(state: RowState, household: Mapping[str, Any]) -> dict[str, Alert]:
    """Every alert the state of one dwelling (and the residents in it) calls for, by identity."""
    members = family(state, MEMBER)
    deliveries = {
        delivery_id: {**request, "source": provenance_of(state, f"{DELIVERY}/{delivery_id}")}
        for delivery_id, request in family(state, DELIVERY).items()
    }
    alerts = [
        *welfare_checks(household, members),
        *isolation_risk(household, family(state, HOSTED)),
        *quarantine_deliveries(household, deliveries),
    ]
    for person_key, member in sorted(members.items()):
        alerts += red_status(person_key, member, household)
    return {a["identity"]: a for a in alerts}


def welfare_alerts(state: RowState, household: Mapping[str, Any]) -> dict[str, Alert]:
    """The welfare checks of one dwelling: the only rule water readings alone can change."""
    return {a["identity"]: a for a in welfare_checks(household, family(state, MEMBER))}


def resident_alerts_without_dwelling(resident: RowState) -> dict[str, Alert]:
    """Alerts about a registered resident with no dwelling (who no household speaks for)."""
    if not resident_visible(resident) or resident.values.get("dwelling_id"):
        return {}
    p = resident.provenance.get("health_status")
    member = {
        "health_status": resident.values.get("health_status"),
        "health_source": None if p is None else [p.department, p.event_id, p.event_time_ms],
        "community_code": resident.values.get("community_code"),
    }
    alerts = red_status(resident.key, member, {})
    return {a["identity"]: a for a in alerts}
