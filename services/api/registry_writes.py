"""Writes to the schema registry, scoped to their department and recorded in the audit.

A department's contracts are its subjects, ``src.<department>.<event>-value`` (and
``-key``): a department token may register, delete or set the compatibility of those and
no others, so one department can never change what another publishes. The views' subjects
and the global compatibility level belong to the hub; its operator writes them with
``datong schemas register`` on the hub (over the store, not through this API), so no
token reaches them here. Every write a valid token attempts, allowed or refused, is
appended to the read audit's hash chain before its answer leaves (``operation`` names the
write, ``view`` is ``registry``, ``key`` the subject).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.access.audit import ReadEntry
from services.api.audit_log import AuditLog
from services.api.authentication import Authenticator, Principal
from services.api.registry_routes import MEDIA_TYPE

AUDIT_VIEW = "registry"  # what the audit records name as read or written
AUDIT_PURPOSE = "schema registry write"
FORBIDDEN_CODE = 40301  # Confluent's "user is denied operation"
_KEY_CHARS = 128  # the audit's key column
# (route inside /registry, method) -> the write, as the audit names it.
WRITES: Mapping[tuple[str, str], str] = {
    ("/subjects/{subject}/versions", "POST"): "register",
    ("/subjects/{subject}/versions/{version}", "DELETE"): "delete-version",
    ("/subjects/{subject}", "DELETE"): "delete-subject",
    ("/config", "PUT"): "set-config",
    ("/config/{subject}", "PUT"): "set-config",
    ("/config/{subject}", "DELETE"): "delete-config",
}


def subject_department(subject: str) -> str | None:
    """The department owning ``subject`` (``src.<department>.<event>-value``), or None for
    a subject no department owns (the views', anything else)."""
    if not subject.startswith("src."):
        return None
    department, dot, rest = subject.removeprefix("src.").partition(".")
    return department if dot and department and rest else None


def write_refusal(principal: Principal, operation: str, subject: str | None) -> str | None:
    """Why ``principal`` may not do ``operation`` on ``subject`` (None: the global level),
    or None when it may."""
    if principal.department is None:
        return (
            f"the token of audience {principal.audience} reads; changing the schema registry "
            "needs the token of the department whose subject it is"
        )
    if subject is None:
        return (
            "the global compatibility level is the hub's: its operator sets it (datong schemas); "
            f"a department token may set only its own subjects' (src.{principal.department}.*)"
        )
    owner = subject_department(subject)
    if owner != principal.department:
        whose = f"{owner}'s" if owner else "the hub's, not a department's"
        return (
            f"{principal.department}'s token may {operation} only "
            f"{principal.department}'s subjects (src.{principal.department}.*); "
            f"this subject is {whose}"
        )
    return None


def audit_entry(
    principal: Principal, operation: str, subject: str | None, query: dict[str, Any], status: int
) -> ReadEntry:
    """The audit record of one registry write answered with ``status``."""
    return ReadEntry(
        token_id=principal.token_id,
        token_name=principal.name,
        audience=principal.audience or f"department:{principal.department}",
        purpose=AUDIT_PURPOSE,
        view=AUDIT_VIEW,
        operation=operation,
        # ascii(): a hostile subject (control characters, lone surrogates) is stored inert.
        key=None if subject is None else inert(subject),
        query=query,
        rows=1 if 200 <= status < 300 else 0,
        status=status,
    )


def inert(text: str) -> str:
    """``text`` as the audit stores it: a hostile path (control characters, lone
    surrogates, thousands of digits) becomes plain ASCII escapes, cut to the key's column."""
    return ascii(text)[1:-1][:_KEY_CHARS]


class RegistryWrites:
    """Wraps the registry's write routes: scope by department, then audit every attempt."""

    def __init__(self, authenticator: Authenticator, audit: AuditLog) -> None:
        self.authenticator = authenticator
        self.audit = audit

    def wrap(self, path: str, app: ASGIApp) -> ASGIApp:
        """``app`` (the route at ``path`` inside /registry), its writes gated."""
        writes = {method: op for (route, method), op in WRITES.items() if route == path}
        if not writes:
            return app

        async def gated(scope: Scope, receive: Receive, send: Send) -> None:
            operation = writes.get(scope.get("method", ""))
            if operation is None:
                await app(scope, receive, send)
            else:
                await self._write(operation, app, scope, receive, send)

        return gated

    async def _write(
        self, operation: str, app: ASGIApp, scope: Scope, receive: Receive, send: Send
    ) -> None:
        request = Request(scope, receive)
        principal = await self.authenticator.principal(request)  # 401 comes before: the guard
        subject: str | None = request.path_params.get("subject")
        query = {k: inert(v) for k, v in request.path_params.items() if k != "subject"}
        if "permanent" in request.query_params:
            query["permanent"] = inert(request.query_params["permanent"])
        refusal = write_refusal(principal, operation, subject)
        if refusal is not None:
            await self.audit.record([audit_entry(principal, operation, subject, query, 403)])
            body = {"error_code": FORBIDDEN_CODE, "message": refusal}
            answer = JSONResponse(body, status_code=403, media_type=MEDIA_TYPE)
            await answer(scope, receive, send)
            return
        # The answer is held until its audit record is committed, as a read's is. A store
        # that cannot take the record answers 503 (AuditLog.record): the write is done then,
        # unrecorded, and a retry finds it done (registering again gives the same id).
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await app(scope, receive, hold)
        status = next((m["status"] for m in held if m["type"] == "http.response.start"), 500)
        await self.audit.record([audit_entry(principal, operation, subject, query, status)])
        for message in held:
            await send(message)
