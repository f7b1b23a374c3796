"""alert: the alerts open in the final state, each rule read straight from the README.

| rule | open while |
| WELFARE_CHECK | an elderly resident living alone, and the dwelling's water register has not
|               | gone up for 24 h of event time, up to its latest reading |
| ISOLATION_RISK | a HOME quarantine is served in a dwelling that is not isolation_suitable |
| QUARANTINE_DELIVERY | a quarantined household has an unfulfilled delivery (one per delivery) |
| RED_STATUS | a resident's health status is RED (naming the household's grid) |

An alert's id names nobody: HMAC-SHA256 under the hub key of ``alert-id:<RULE>:<subject>``
(the delivery id instead of the subject for a delivery), its first 32 hex digits. Its reason
is a code and the values it cites, never words.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from tests.support.oracle.fold import Fields
from tests.support.oracle.households import Household
from tests.support.oracle.residents import Shown, provenance, value

DAY_MS = 24 * 3600 * 1000
HOUR_MS = 3600 * 1000


def opaque_id(key: bytes, rule: str, subject: str) -> str:
    """The id of the alert ``rule`` raises about ``subject`` (or about a delivery)."""
    digest = hmac.new(key, f"alert-id:{rule}:{subject}".encode(), hashlib.sha256).hexdigest()
    return digest[:32]


def _alert(  # noqa: PLR0917 - one argument per field the rule decides
    rule: str,
    subject_kind: str,
    subject: str,
    where: dict[str, Any],
    opened_at: int,
    reason: tuple[str, dict[str, int]],
    source: list[Any] | None,
    delivery_id: str | None = None,
) -> tuple[tuple[str, str], Shown]:
    data = {
        "alert_type": rule,
        "status": "OPEN",
        "subject_kind": subject_kind,
        "subject_key": subject,
        "dwelling_id": where.get("dwelling_id"),
        "community_code": where.get("community_code"),
        "grid_id": where.get("grid_id"),
        "delivery_id": delivery_id,
        "opened_at": opened_at,
        "closed_at": None,
        "reason": "",  # no words: they would embed the values
        "reason_code": reason[0],
        "reason_params": reason[1],
    }
    return (rule, delivery_id or subject), (
        data,
        {"opened_at": source} if source else {},
    )


def _welfare(h: Household) -> list[tuple[tuple[str, str], Shown]]:
    used, read = h.data["last_water_activity_at"], h.data["last_water_reading_at"]
    if used is None or read is None or read - used < DAY_MS:
        return []
    reason = ("NO_WATER_USE", {"hours": (read - used) // HOUR_MS, "since": used})
    where = {"dwelling_id": h.key, **h.data}
    source = h.provenance.get("last_water_activity_at")
    return [
        _alert("WELFARE_CHECK", "PERSON", person, where, used + DAY_MS, reason, source)
        for person, fields in sorted(h.members.items())
        if value(fields, "elderly_living_alone")
    ]


def _isolation(h: Household) -> list[tuple[tuple[str, str], Shown]]:
    home = [hosted for hosted in h.hosted.values() if hosted.order["kind"] == "HOME"]
    if not home or h.data["isolation_suitable"] is not False:
        return []
    first = min(home, key=lambda hosted: (hosted.order["starts_at"], hosted.person_key))
    reason = ("NO_SEPARATE_ROOM", {"resident_count": h.data["resident_count"]})
    where = {"dwelling_id": h.key, **h.data}
    return [
        _alert(
            "ISOLATION_RISK",
            "DWELLING",
            h.key,
            where,
            first.order["starts_at"],
            reason,
            first.source,
        )
    ]


def _deliveries(h: Household) -> list[tuple[tuple[str, str], Shown]]:
    if not h.data["quarantined"]:
        return []
    found = []
    for delivery_id, (request, source) in sorted(h.deliveries.items()):
        due = request["due_at"]
        reason = ("DELIVERY_NOT_FULFILLED", {} if due is None else {"due_at": due})
        where = {"dwelling_id": h.key, **h.data}
        found.append(
            _alert(
                "QUARANTINE_DELIVERY",
                "DWELLING",
                h.key,
                where,
                request["requested_at"],
                reason,
                source,
                delivery_id,
            )
        )
    return found


def _red(person: str, fields: Fields, where: dict[str, Any]) -> list[tuple[tuple[str, str], Shown]]:
    if value(fields, "health_status") != "RED":
        return []
    source = provenance(fields, "health_status")
    where = {
        **where,
        "community_code": where.get("community_code") or value(fields, "community_code"),
    }
    opened = source[2] if source else 0
    return [
        _alert("RED_STATUS", "PERSON", person, where, opened, ("HEALTH_STATUS_RED", {}), source)
    ]


def alert_rows(
    households: dict[str, Household], residents: dict[str, Fields], key: bytes
) -> dict[str, Shown]:
    """Every open alert over the shown households and registered residents, by opaque id."""
    found: list[tuple[tuple[str, str], Shown]] = []
    for h in households.values():
        found += _welfare(h) + _isolation(h) + _deliveries(h)
        for person, fields in sorted(h.members.items()):
            found += _red(person, fields, {"dwelling_id": h.key, **h.data})
    for person, fields in sorted(residents.items()):
        if not value(fields, "dwelling_id"):  # no household speaks for them
            found += _red(person, fields, {})
    return {opaque_id(key, rule, subject): shown for (rule, subject), shown in found}
