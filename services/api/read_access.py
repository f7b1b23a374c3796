"""Read authorisation: what a principal may read of a view under the sharing policy.

``ReadAccess.authorize(request, view, community=, fields=)`` is the one entry of every
read path (row, list, export, subscriptions, the dashboard's history): it answers 404 for
an unknown view, 403 for a department token, a view, community or field outside the
audience's policy, and returns the ``ReadScope`` whose grant every record is filtered
through (``filter_record``), and which makes the read's audit record.

The policy is the YAML base with the layers in force at the read laid over it
(``layering.layered_grant``: today the open emergencies). A read that took something only a
layer gives carries that use (``ReadScope.uses``); one under an emergency is flagged in its
audit record with the emergency's id and what it took, and a stream that took something
from a layer ends when the layer no longer holds (``ReadAccess.layers_hold``).

A refused read, and one that returned nothing, is recorded without what the client typed:
its route (the template, never the path), the names of the parameters it gave, its status
and a count of 0. A key, community code or cursor that matched nothing could hold anything
(an ID number typed in the wrong box), and the audit is never pruned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from services.access.audit import ReadEntry
from services.access.emergency import LAYER as EMERGENCY
from services.access.layering import Extension, LayerUse, layer_uses, layered_grant
from services.access.policy import FieldNotGranted, Grant, Policy, allows_community, filter_record
from services.api.authentication import Authenticator, Principal
from services.api.errors import ApiError
from services.api.params import MAX_COMMUNITY_CHARS, bounded_text


@dataclass(frozen=True)
class Reader:
    """An audience's token, as the audit names it."""

    token_id: str
    token_name: str
    audience: str
    purpose: str


def route_of(request: Request) -> str:
    """The template of the route a request matched (``/views/{view}/{key}``), never its path."""
    route = request.scope.get("route")
    return route.path if isinstance(route, Route) else "unmatched"


def withheld(route: str, query: Mapping[str, Any]) -> dict[str, Any]:
    """What the audit keeps of the query of a refused or empty read: the route and the names
    of the parameters given, not their values."""
    return {"route": route, "parameters": sorted(query)}


@dataclass(frozen=True)
class RecordShape:
    """What a read shows of a record: a pure function of the grant and the communities
    asked for, so equal shapes show a record alike (the live fan-out shapes each change once
    for all subscribers of equal shapes, whoever their readers are)."""

    grant: Grant
    communities: frozenset[str] | None

    def allows(self, community_code: str | None) -> bool:
        """Whether a row of ``community_code`` belongs in the read."""
        if self.communities is None:
            return allows_community(self.grant, community_code)
        return community_code in self.communities

    def __call__(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """A rendered record as the reader gets it; None when outside the read."""
        if not self.allows(record.get("community_code")):
            return None
        return filter_record(self.grant, record)


@dataclass(frozen=True)
class ReadScope:
    """What one request may read: the reader, its grant (narrowed to ``?fields=``), the
    communities asked for (None: every community the grant covers), and its route."""

    reader: Reader
    grant: Grant
    communities: frozenset[str] | None
    route: str = "unmatched"
    uses: tuple[LayerUse, ...] = ()  # what the read took from layers beyond the base

    def allows(self, community_code: str | None) -> bool:
        """Whether a row of ``community_code`` belongs in this read (e.g. a streamed change)."""
        return self.shape.allows(community_code)

    def filter(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """A rendered record (``json_record``) as this reader gets it; None when its
        ``community_code`` is outside the read. For records whose community is their
        ``community_code`` field (every view's); stored rows use ``allows`` on the column."""
        return self.shape(record)

    @property
    def shape(self) -> RecordShape:
        """``filter`` as a value: equal for every read of the same grant and communities."""
        return RecordShape(self.grant, self.communities)

    def audit_entry(
        self,
        *,
        operation: str,
        key: str | None,
        query: dict[str, Any],
        rows: int,
        status: int = 200,
    ) -> ReadEntry:
        """The audit record of one read through this scope; a read of no rows keeps only
        the route and parameter names of its query (``withheld``)."""
        if rows == 0:
            query = withheld(self.route, query)
        emergency = next((u for u in self.uses if u.layer == EMERGENCY), None)
        return ReadEntry(
            token_id=self.reader.token_id,
            token_name=self.reader.token_name,
            audience=self.reader.audience,
            purpose=self.reader.purpose,
            view=self.grant.view,
            operation=operation,
            key=key,
            query=query,
            rows=rows,
            status=status,
            emergency_id=emergency.source_id if emergency else None,
            emergency_scope=emergency.as_record() if emergency else None,
        )


STREAM_RECHECK_AGE_S = 0.25
Layers = Callable[[], Awaitable[Sequence[Extension]]]  # the extensions in force now


async def no_layers() -> Sequence[Extension]:
    """The base policy alone."""
    return ()


class ReadAccess:
    """The policy applied to a request: the only way a read path learns what it may return."""

    def __init__(
        self,
        policy: Policy,
        authenticator: Authenticator,
        key_fields: Mapping[str, str],
        layers: Layers = no_layers,
        current: Callable[[float], Awaitable[Policy]] | None = None,
    ) -> None:
        self.policy = policy
        self._layers = layers
        # The policy as of each read: the base with the granted requests layered over it
        # (``grant_layer.PolicyLayers.current``); the base alone when None. The layers
        # (emergencies) go over that.
        self._current = current
        # The views there are to read, each with its key field (``Catalog.view_key_fields``).
        self.key_fields = key_fields
        self._authenticator = authenticator

    def refusal_entry(
        self, request: Request, view: str, *, status: int, operation: str, query: dict[str, Any]
    ) -> ReadEntry | None:
        """The audit record of a refused read of a known view by a known token, else None.

        Nothing the client typed is stored (``withheld``): not the path segments it made up
        (an unknown view, a key that matched nothing), nor its query's values; they could
        hold anything, an ID number included.
        """
        principal = getattr(request.state, "principal", None)
        if not isinstance(principal, Principal) or view not in self.key_fields:
            return None
        grant = self.policy.grant(principal.audience or "", view)
        return ReadEntry(
            token_id=principal.token_id,
            token_name=principal.name,
            audience=principal.audience or f"department:{principal.department}",
            purpose=grant.purpose if grant else "",
            view=view,
            operation=operation,
            key=None,
            query=withheld(route_of(request), query),
            rows=0,
            status=status,
        )

    async def authorize(
        self,
        request: Request,
        view: str,
        *,
        community: str | None = None,
        fields: str | None = None,
    ) -> ReadScope:
        """The scope of one read of ``view``, or the refusal to answer with.

        ``community``: one community code asked for (None: every one the grant covers).
        ``fields``: the ``?fields=a,b`` parameter (None: every granted field); the view's
        key field is always kept, ``provenance`` only when asked for.
        """
        principal = await self._authenticator.principal(request)
        if view not in self.key_fields:
            views = ", ".join(self.key_fields)
            raise ApiError(404, f"no view named {view!r}; views: {views}", view=view)
        if principal.audience is None:
            raise ApiError(
                403,
                f"the token of department {principal.department} publishes events; reading "
                "views needs an audience token",
            )
        policy = await self.current()
        layered = layered_grant(policy, principal.audience, view, await self._layers())
        if layered is None:
            raise ApiError(
                403, f"audience {principal.audience} may not read view {view}", view=view
            )
        grant = layered.grant
        reader = Reader(principal.token_id, principal.name, grant.audience, grant.purpose)
        communities = grant.communities
        if community is not None:
            bounded_text(community, "community", MAX_COMMUNITY_CHARS)
            if grant.communities is not None and community not in grant.communities:
                raise ApiError(
                    403,
                    f"audience {grant.audience} may not read community {community!r}",
                    community=community,
                )
            communities = frozenset({community})
        if fields is not None:
            grant = self._narrowed(grant, fields)
        uses = layer_uses(layered, grant.fields, communities)
        return ReadScope(reader, grant, communities, route_of(request), uses)

    async def current(self, max_age_s: float = 0.0) -> Policy:
        """The policy as of now (grants made or revoked since the last read included), or
        as of a look at most ``max_age_s`` old."""
        return self.policy if self._current is None else await self._current(max_age_s)

    async def still_covers(self, scope: ReadScope) -> bool:
        """Whether the policy as of now, with its layers, still grants what ``scope`` reads:
        an open stream ends once a grant or an emergency it depended on ends."""
        # A look a quarter second old will do: with the stream's half-second re-check, a
        # revoked grant's stream ends within a second, and a thousand streams cost a few
        # queries a second, not one each.
        policy = await self.current(STREAM_RECHECK_AGE_S)
        layered = layered_grant(
            policy, scope.reader.audience, scope.grant.view, await self._layers()
        )
        if layered is None or not scope.grant.fields <= layered.grant.fields:
            return False
        communities = layered.grant.communities
        if communities is None:
            return True
        return scope.grant.communities is not None and scope.grant.communities <= communities

    async def layers_hold(self, scope: ReadScope) -> bool:
        """Whether every layer a read took something from is still in force (a stream that
        depended on an emergency ends when it closes)."""
        if not scope.uses:
            return True
        held = {(e.layer, e.source_id) for e in await self._layers()}
        return all((u.layer, u.source_id) in held for u in scope.uses)

    def _narrowed(self, grant: Grant, fields: str) -> Grant:
        wanted = [f.strip() for f in fields.split(",")]
        if not all(wanted):
            raise ApiError(400, "fields must be a comma-separated list of field names")
        contract = self.policy.views[grant.view]
        for name in wanted:
            if name not in contract.classes:
                known = ", ".join(contract.classes)
                message = f"view {grant.view} has no field {name!r}; fields: {known}"
                raise ApiError(400, message, field=name)
        try:
            return grant.narrowed(dict.fromkeys([contract.key_field, *wanted]))
        except FieldNotGranted as exc:
            raise ApiError(403, str(exc), field=exc.field) from None
