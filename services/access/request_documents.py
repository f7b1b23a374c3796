"""A sharing request as a JSON document (the store's and the API's form) and back. Pure."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.access.sharing_requests import FieldAsk, SharingRequest, Step, overdue_stages
from services.access.working_days import Deadline


def to_document(request: SharingRequest) -> dict[str, Any]:
    """The request as JSON-ready data (what the store keeps)."""
    return {
        "id": request.id,
        "requester": request.requester,
        "audience": request.audience,
        "view": request.view,
        "communities": None if request.communities is None else sorted(request.communities),
        "purpose": request.purpose,
        "scenario": request.scenario,
        "needed_days": request.needed_days,
        "filed_at": request.filed_at.isoformat(),
        "state": request.state,
        "fields": [
            {
                "name": f.name,
                "sharing": f.sharing,
                "owner": f.owner,
                "already_shared": f.already_shared,
                "inputs": list(f.inputs),
                "decision": f.decision,
                "reason": f.reason,
                "decided_by": f.decided_by,
                "decided_at": None if f.decided_at is None else f.decided_at.isoformat(),
            }
            for f in request.fields
        ],
        "review_due": _deadline(request.review_due),
        "provider_due": {d: _deadline(v) for d, v in sorted(request.provider_due.items())},
        "steps": [
            {
                "action": s.action,
                "by": s.by,
                "at": s.at.isoformat(),
                "reason": s.reason,
                "fields": list(s.fields),
            }
            for s in request.steps
        ],
    }


def from_document(doc: dict[str, Any]) -> SharingRequest:
    """The request a document holds (one ``to_document`` wrote)."""
    communities = doc["communities"]
    return SharingRequest(
        id=doc["id"],
        requester=doc["requester"],
        audience=doc["audience"],
        view=doc["view"],
        communities=None if communities is None else frozenset(communities),
        purpose=doc["purpose"],
        scenario=doc["scenario"],
        needed_days=int(doc["needed_days"]),
        filed_at=datetime.fromisoformat(doc["filed_at"]),
        state=doc["state"],
        fields=tuple(
            FieldAsk(
                name=f["name"],
                sharing=f["sharing"],
                owner=f["owner"],
                already_shared=bool(f["already_shared"]),
                inputs=tuple(f.get("inputs", ())),
                decision=f["decision"],
                reason=f["reason"],
                decided_by=f["decided_by"],
                decided_at=None
                if f["decided_at"] is None
                else datetime.fromisoformat(f["decided_at"]),
            )
            for f in doc["fields"]
        ),
        review_due=_from_deadline(doc["review_due"]),
        provider_due={d: _from_deadline(v) for d, v in doc["provider_due"].items()},
        steps=tuple(
            Step(
                s["action"],
                s["by"],
                datetime.fromisoformat(s["at"]),
                s["reason"],
                tuple(s["fields"]),
            )
            for s in doc["steps"]
        ),
    )


def shown(request: SharingRequest, now: datetime) -> dict[str, Any]:
    """The request as the API and the CLI show it at ``now``: its state then (expired
    included), when it expires, and which answers are overdue."""
    return {
        **to_document(request),
        "state": request.state_at(now),
        "expires_at": request.expires_at.isoformat(),
        "overdue": [{"stage": s, "department": d} for s, d in overdue_stages(request, now)],
    }


def _deadline(deadline: Deadline) -> dict[str, Any]:
    return {"day": deadline.day.isoformat(), "provisional": deadline.provisional}


def _from_deadline(value: dict[str, Any]) -> Deadline:
    return Deadline(date.fromisoformat(value["day"]), bool(value["provisional"]))
