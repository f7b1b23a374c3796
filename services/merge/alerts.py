"""Alert rules: pure functions from view state to the alerts that should be open now.

An alert is open exactly while its rule holds over the current state, so re-evaluating
on a replay or in another order finds the same alerts; its id is derived from the rule and
the subject (and the delivery), never from the event that happened to open it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.merge.derive import family, provenance_of, resident_visible
from services.merge.merge import RowState
from services.merge.rules import DELIVERY, HOSTED, MEMBER

WELFARE_SILENCE_MS = 24 * 3600 * 1000
Alert = dict[str, Any]  # the alert record without provenance, plus "provenance"


def alert_id(alert_type: str, subject: str) -> str:
    """The deterministic id of the alert a rule raises about a subject."""
    return f"{alert_type.lower()}:{subject}"


def _alert(  # noqa: PLR0917 - one argument per field of the alert record
    alert_type: str,
    subject_kind: str,
    subject_key: str,
    household: Mapping[str, Any],
    opened_at: int,
    reason: str,
    source: list[Any] | None,
    delivery_id: str | None = None,
) -> Alert:
    return {
        "alert_id": alert_id(alert_type, delivery_id or subject_key),
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
        "reason": reason,
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
    hours = (read_at - used_at) // 3_600_000
    since = _time(used_at)
    return [
        _alert(
            "WELFARE_CHECK",
            "PERSON",
            person_key,
            household,
            used_at + WELFARE_SILENCE_MS,
            f"elderly resident living alone: no water use for {hours} hours (since {since})",
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
            f"home quarantine where no one can isolate apart: all {household['resident_count']}"
            " residents are isolated together",
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
        when = f", due {_time(due)}" if due is not None else ""
        alerts.append(
            _alert(
                "QUARANTINE_DELIVERY",
                "DWELLING",
                household["dwelling_id"],
                household,
                request["requested_at"],
                f"delivery to a quarantined household not yet fulfilled{when}",
                request.get("source"),
                delivery_id=delivery_id,
            )
        )
    return alerts


def _time(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


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
            "RED_STATUS", "PERSON", person_key, where, opened, "health status turned RED", source
        )
    ]


def household_alerts(state: RowState, household: Mapping[str, Any]) -> dict[str, Alert]:
    """Every alert the state of one dwelling (and the residents in it) calls for."""
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
    return {a["alert_id"]: a for a in alerts}


def welfare_alerts(state: RowState, household: Mapping[str, Any]) -> dict[str, Alert]:
    """The welfare checks of one dwelling: the only rule water readings alone can change."""
    return {a["alert_id"]: a for a in welfare_checks(household, family(state, MEMBER))}


def homeless_alerts(resident: RowState) -> dict[str, Alert]:
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
    return {a["alert_id"]: a for a in alerts}
