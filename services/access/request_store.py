"""Sharing requests and their grants in the view store, every step on the audit chain.

A step is taken in one transaction: the request's row is locked and read, the pure step
(``request_steps.py``) applied, the row written, each newly granted field written as a
grant (each grant withdrawn with its request revoked), and each new step appended to the
audit's hash chain. The step, its grants and its audit record commit together or not at
all. Every read compares ``grants_version`` with the one it last saw
(``services/api/grant_layer.py``), so the next read after the commit sees the change.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import sqlalchemy as sa

from services.access.audit import ReadEntry, append_records
from services.access.grants import ExtraGrant
from services.access.request_documents import from_document, to_document
from services.access.sharing_requests import (
    GRANTED,
    WITHDRAWN,
    Actor,
    RequestError,
    SharingRequest,
    Step,
)
from services.store.database import autocommit
from services.store.sharing_models import SharingGrantRow, SharingRequestRow

Change = Callable[[SharingRequest], SharingRequest]
_OPERATION = "request-{}"  # the audit's operation: request-file, request-grant, ...


def new_request_id() -> str:
    """A fresh request id: ``req-`` and 48 random bits (nothing about the requester)."""
    return "req-" + secrets.token_hex(6)


def add_request(engine: sa.Engine, request: SharingRequest, by: Actor) -> SharingRequest:
    """Store a request just filed, its filing on the audit chain."""
    with engine.begin() as conn:
        conn.execute(sa.insert(SharingRequestRow).values(**_columns(request)))
        _record(conn, None, request, by)
    return request


def change_request(
    engine: sa.Engine, request_id: str, change: Change, by: Actor, now: datetime
) -> SharingRequest:
    """Apply ``change`` (a step) to the stored request, in one transaction with its grants
    and its audit record; RequestError (404) when there is no such request."""
    with engine.begin() as conn:
        # Lock first, then read: an update that returns the row takes PostgreSQL's row lock
        # and SQLite's write lock before it is read, so two steps at once never both apply
        # to the same state (the second reads what the first wrote).
        document = conn.scalar(
            sa.update(SharingRequestRow)
            .where(SharingRequestRow.id == request_id)
            .values(id=SharingRequestRow.id)
            .returning(SharingRequestRow.document)
        )
        if document is None:
            raise RequestError(404, f"no sharing request {request_id!r}", "id")
        before = from_document(document)
        after = change(before)
        columns = _columns(after)
        conn.execute(
            sa.update(SharingRequestRow)
            .where(SharingRequestRow.id == request_id)
            .values(state=columns["state"], updated_at=now, document=columns["document"])
        )
        _record(conn, before, after, by)
    return after


def get_request(engine: sa.Engine, request_id: str) -> SharingRequest | None:
    """The stored request, or None."""
    query = sa.select(SharingRequestRow.document).where(SharingRequestRow.id == request_id)
    with engine.connect() as conn:
        document = conn.scalar(query)
    return None if document is None else from_document(document)


def list_requests(engine: sa.Engine, states: Iterable[str] | None = None) -> list[SharingRequest]:
    """Every stored request (of ``states``, when given), oldest first."""
    query = sa.select(SharingRequestRow.document).order_by(
        SharingRequestRow.filed_at, SharingRequestRow.id
    )
    if states is not None:
        query = query.where(SharingRequestRow.state.in_(list(states)))
    with engine.connect() as conn:
        return [from_document(d) for d in conn.scalars(query)]


def live_grants(engine: sa.Engine, now: datetime) -> list[ExtraGrant]:
    """The grants in force at ``now``, one per request and view."""
    query = sa.select(SharingGrantRow).where(
        SharingGrantRow.revoked_at.is_(None), SharingGrantRow.expires_at > now
    )
    by_request: dict[str, ExtraGrant] = {}
    with engine.connect() as conn:
        for row in conn.execute(query.order_by(SharingGrantRow.id)):
            codes = row.communities.get("codes")
            found = by_request.get(row.request_id)
            fields = frozenset({row.field}) | (found.fields if found else frozenset())
            by_request[row.request_id] = ExtraGrant(
                source=f"request:{row.request_id}",
                audience=row.audience,
                view=row.view,
                fields=fields,
                communities=None if codes is None else frozenset(codes),
                purpose=row.purpose,
                expires_at=_aware(row.expires_at),
            )
    return list(by_request.values())


def grants_version(engine: sa.Engine) -> tuple[int, int]:
    """How many grants were ever made and revoked: changes with every grant and revocation."""
    query = sa.select(sa.func.count(), sa.func.count(SharingGrantRow.revoked_at))
    with autocommit(engine) as conn:  # asked before every read: one round trip
        made, revoked = conn.execute(query).one()
    return int(made), int(revoked)


def _record(
    conn: sa.Connection, before: SharingRequest | None, after: SharingRequest, by: Actor
) -> None:
    """The grants a step made or ended, and its steps on the audit chain."""
    had = set(before.granted()) if before else set()
    now = after.steps[-1].at
    new = [f for f in after.fields if f.decision == GRANTED and f.name not in had]
    if new:
        codes = None if after.communities is None else sorted(after.communities)
        conn.execute(
            sa.insert(SharingGrantRow),
            [
                {
                    "request_id": after.id,
                    "audience": after.audience,
                    "view": after.view,
                    "field": f.name,
                    "communities": {"codes": codes},
                    "purpose": after.purpose,
                    "granted_at": f.decided_at or now,
                    "expires_at": after.expires_at,
                    "revoked_at": None,
                }
                for f in new
            ],
        )
    revoked = after.state == WITHDRAWN and (before is None or before.state != WITHDRAWN)
    if revoked:
        conn.execute(
            sa.update(SharingGrantRow)
            .where(SharingGrantRow.request_id == after.id, SharingGrantRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    steps = after.steps[len(before.steps) if before else 0 :]
    append_records(conn, [_entry(after, step, by) for step in steps])


def _entry(request: SharingRequest, step: Step, by: Actor) -> ReadEntry:
    """A step as the audit chain records it: who, the request, its fields, state and why."""
    return ReadEntry(
        token_id=by.token_id if step.by == by.name else step.by,
        token_name=step.by,
        audience=by.party if step.by == by.name else step.by,
        purpose=request.purpose,
        view=request.view,
        operation=_OPERATION.format(step.action)[:16],
        key=request.id,
        query={
            "fields": list(step.fields),
            "reason": step.reason,
            "state": request.state,
            "audience": request.audience,
        },
        rows=len(step.fields),
        status=200,
        at=step.at,
    )


def _columns(request: SharingRequest) -> dict[str, object]:
    return {
        "id": request.id,
        "state": request.state,
        "requester": request.requester,
        "audience": request.audience,
        "view": request.view,
        "filed_at": request.filed_at,
        "updated_at": request.steps[-1].at if request.steps else request.filed_at,
        "document": to_document(request),
    }


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite drops the zone
