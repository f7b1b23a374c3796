"""Emergencies in the view store: declared, renewed, ended and listed, each on record.

Every change commits in one transaction with its record in the read audit's hash chain
(view ``emergency``, operation ``declare``, ``renew`` or ``end``, the emergency's id as key
and flag, the reason as purpose, what it opens and until when as query), so an emergency
is on record exactly when it exists. On PostgreSQL the transaction also notifies
``datong_emergency_changed``, and every API process listening reloads its emergencies at
once; on SQLite an API compares ``change_count`` at most every half second. Each change is
checked by the caller against the policy first (``emergency_rules.py``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.access.audit import ReadEntry, append_records, lock_chain
from services.access.emergency import Emergency, Opening
from services.access.emergency_rules import Actor, Declaration, EmergencyError
from services.store.emergency_models import EmergencyRow

# The PostgreSQL channel a change is announced on (the API's emergency cache listens).
CHANGED_CHANNEL = "datong_emergency_changed"
CHANGED_PAYLOAD = "emergencies"  # what a listener's cache keeps them under
AUDIT_VIEW = "emergency"
Clock = Callable[[], datetime]


def declare_emergency(
    engine: sa.Engine, declaration: Declaration, by: Actor, now: datetime
) -> Emergency:
    """Open a checked declaration at ``now``; 409 when an audience it names is already
    under an open emergency (each read is flagged with one emergency: renew that one)."""
    emergency_id = "em-" + secrets.token_hex(6)
    expires_at = now + timedelta(hours=declaration.hours)
    with Session(engine) as session, session.begin():
        # Two declarations naming one audience at once: the second waits here, then sees
        # the first's emergency open.
        lock_chain(session.connection())
        for row in _open_rows(session, now):
            shared = sorted(set(row.openings) & set(declaration.openings))
            if shared:
                raise EmergencyError(
                    f"audiences.{shared[0]}: already under open emergency {row.id} until "
                    f"{_utc(row.expires_at).isoformat()}; renew or end it instead",
                    f"audiences.{shared[0]}",
                    409,
                )
        row = EmergencyRow(
            id=emergency_id,
            declared_by=by.who,
            reason=declaration.reason,
            opened_at=now,
            expires_at=expires_at,
            openings={a: o.as_json() for a, o in declaration.openings.items()},
            renewals=0,
        )
        session.add(row)
        session.flush()
        _on_record(session, row, by, "declare", reason=declaration.reason, now=now)
        return emergency_of(row)


def renew_emergency(
    engine: sa.Engine, emergency_id: str, *, hours: int, reason: str, by: Actor, now: datetime
) -> Emergency:
    """Keep an open emergency open ``hours`` from ``now`` (at most 72), with a new reason."""
    with Session(engine) as session, session.begin():
        row = _row(session, emergency_id)
        if not emergency_of(row).is_open(now):
            raise EmergencyError(
                f"emergency {emergency_id} is closed; declare a new one", "id", 409
            )
        row.reason, row.expires_at = reason, now + timedelta(hours=hours)
        row.renewals += 1
        _on_record(session, row, by, "renew", reason=reason, now=now)
        return emergency_of(row)


def end_emergency(
    engine: sa.Engine, emergency_id: str, reason: str, by: Actor, now: datetime
) -> Emergency:
    """Close an open emergency at ``now``; ending a closed one changes nothing."""
    with Session(engine) as session, session.begin():
        row = _row(session, emergency_id)
        if emergency_of(row).is_open(now):
            row.ended_at, row.ended_by, row.end_reason = now, by.who, reason
            _on_record(session, row, by, "end", reason=reason, now=now)
        return emergency_of(row)


def list_emergencies(engine: sa.Engine) -> list[Emergency]:
    """Every emergency, newest first."""
    with Session(engine) as session:
        query = sa.select(EmergencyRow).order_by(EmergencyRow.opened_at.desc(), EmergencyRow.id)
        return [emergency_of(row) for row in session.scalars(query)]


def get_emergency(engine: sa.Engine, emergency_id: str) -> Emergency:
    """One emergency by id; 404 naming it when there is none."""
    with Session(engine) as session:
        return emergency_of(_row(session, emergency_id))


def unexpired_emergencies(engine: sa.Engine, now: datetime) -> list[Emergency]:
    """The emergencies not ended and not expired at ``now`` (what an API lays over its
    policy; each read asks again whether one is open at its own time)."""
    with Session(engine) as session:
        return [emergency_of(row) for row in _open_rows(session, now)]


def change_count(engine: sa.Engine) -> int:
    """A number that moves with every declaration, renewal and end (SQLite's substitute for
    the notification): rows, ended rows and renewals, summed."""
    query = sa.select(
        sa.func.count(),
        sa.func.count(EmergencyRow.ended_at),
        sa.func.coalesce(sa.func.sum(EmergencyRow.renewals), 0),
    )
    with engine.connect() as conn:
        rows, ended, renewals = conn.execute(query).one()
    return int(rows) + int(ended) + int(renewals)


def emergency_of(row: EmergencyRow) -> Emergency:
    """The stored row as the pure model."""
    openings = {a: _opening(a, body) for a, body in row.openings.items()}
    return Emergency(
        row.id,
        row.declared_by,
        row.reason,
        _utc(row.opened_at),
        _utc(row.expires_at),
        openings,
        _utc(row.ended_at) if row.ended_at else None,
        row.ended_by,
        row.end_reason,
    )


def _opening(audience: str, body: dict[str, Any]) -> Opening:
    views = body.get("views", {})
    communities = body.get("communities", [])
    return Opening(
        audience,
        {v: frozenset(g.get("fields", [])) for v, g in views.items()},
        {v: frozenset(g["alert_types"]) for v, g in views.items() if "alert_types" in g},
        None if communities == "*" else frozenset(communities),
    )


def _open_rows(session: Session, now: datetime) -> list[EmergencyRow]:
    query = sa.select(EmergencyRow).where(
        EmergencyRow.ended_at.is_(None), EmergencyRow.expires_at > now
    )
    return list(session.scalars(query))


def _row(session: Session, emergency_id: str) -> EmergencyRow:
    row = session.get(EmergencyRow, emergency_id)
    if row is None:
        raise EmergencyError(
            f"no emergency with id {emergency_id!r}; see `datong emergency list`", "id", 404
        )
    return row


def _on_record(
    session: Session, row: EmergencyRow, by: Actor, operation: str, *, reason: str, now: datetime
) -> None:
    """The change's audit record, in its transaction, and PostgreSQL's notification."""
    entry = ReadEntry(
        token_id=by.token_id[:32],
        token_name=by.name[:128],
        audience=by.who,
        purpose=reason,
        view=AUDIT_VIEW,
        operation=operation,
        key=row.id,
        query={"expires_at": _utc(row.expires_at).isoformat(), "audiences": row.openings},
        rows=0,
        status=200,
        at=now,
        emergency_id=row.id,
    )
    connection = session.connection()
    append_records(connection, [entry])
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_notify(CHANGED_CHANNEL, CHANGED_PAYLOAD)))


def _utc(instant: datetime) -> datetime:
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
