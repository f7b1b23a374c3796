"""The HTTP API's app factory (a composition root: it may mount the connectors' intake)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.errors import RecordError
from connectors.identity import key_check_value, normalize_id, person_key
from connectors.publisher import KafkaPublisher
from connectors.sources.http_intake import ROUTE as INGEST_ROUTE
from connectors.sources.http_intake import HttpIntake, IngestLimits, IngestRefused
from connectors.sources.intake_description import (
    DEPARTMENT_ROUTE,
    SCHEMA_ROUTE,
    description_routes,
)
from schemas.asyncapi import asyncapi_document, render_yaml
from schemas.catalog import Catalog
from schemas.serde import Serde
from services.access import holiday_calendar
from services.access.audit import record_reads
from services.access.policy import Policy
from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
from services.access.public_release import Rules
from services.access.working_days import WorkingCalendar
from services.api.alert_work_routes import alert_work_routes, overdue_alerts
from services.api.audit_log import AuditLog
from services.api.authentication import Authenticator
from services.api.catalog_routes import CATALOG_ROUTE, catalog_routes
from services.api.dashboard_routes import DASHBOARD_PATHS, dashboard_routes
from services.api.docs import Described, docs_routes
from services.api.emergency_layer import EmergencyLayer, check_stored
from services.api.emergency_routes import emergency_routes
from services.api.errors import ApiError, error_body
from services.api.grant_layer import PolicyLayers, store_layers
from services.api.ingest_access import ingest_authorizer
from services.api.live import live_api
from services.api.live.access import policy_readers
from services.api.live.routes import SUBSCRIBE_ROUTE
from services.api.lookup_routes import FIELD as LOOKUP_FIELD
from services.api.lookup_routes import IdNumberError, lookup_routes
from services.api.params import RefuseNul
from services.api.public_routes import PUBLIC_ROUTE, public_routes
from services.api.quality_routes import QUALITY_DEPARTMENT_ROUTE, QUALITY_ROUTE, quality_routes
from services.api.rate_limit import RateLimit
from services.api.read_access import ReadAccess
from services.api.readiness import CachedCheck
from services.api.registry_routes import registry_routes
from services.api.registry_writes import RegistryWrites
from services.api.request_routes import GOVERNANCE_ROUTE, overdue_gauge, request_routes
from services.api.route_guard import OPEN_PATHS, require_tokens
from services.api.situation_routes import situation_routes
from services.api.view_routes import view_routes
from services.metrics import ApiMetrics
from services.metrics_access import CHALLENGE, metrics_allowed
from services.registries import hub_registry
from services.settings import Settings
from services.store.database import once_more_if_dead, ping
from services.store.registry_store import SqlRegistry

# The hub's key check values, open: what a connector compares its keys with.
KEY_CHECK_PATH = "/keys/check"


def _now() -> datetime:
    return datetime.now(UTC)


def _layered_access(
    engine: sa.Engine,
    policy: Policy,
    catalog: Catalog,
    authenticator: Authenticator,
    clock: Callable[[], datetime],
) -> tuple[ReadAccess, PolicyLayers, EmergencyLayer]:
    """Read authorisation over the base policy, the granted requests laid over it at every
    read, and the open emergencies over that."""
    check_stored(engine, policy, clock())  # never an open emergency the policy cannot take
    emergencies = EmergencyLayer(engine, policy, clock)
    layers = store_layers(policy, engine)
    access = ReadAccess(
        policy,
        authenticator,
        catalog.view_key_fields(),
        layers=emergencies.extensions,
        current=layers.current,
    )
    return access, layers, emergencies


def _gauges(
    engine: sa.Engine,
    metrics: ApiMetrics,
    emergencies: EmergencyLayer,
    count_overdue_requests: Callable[[], None],
    response_hours: Mapping[str, int],
) -> Callable[[], Awaitable[None]]:
    """What refreshes the gauges counted from the store, at each scrape of /metrics."""

    async def refresh() -> None:
        metrics.emergencies_active.set(await emergencies.open_count())
        await asyncio.to_thread(count_overdue_requests)
        overdue = await asyncio.to_thread(overdue_alerts, engine, response_hours)
        for kind, count in overdue.items():
            metrics.alerts_overdue.labels(kind).set(count)

    return refresh


def create_api(
    settings: Settings,
    engine: sa.Engine,
    registry: CollectorRegistry | None = None,
    clock: Callable[[], datetime] = _now,
    calendar: WorkingCalendar | None = None,
) -> Starlette:
    """Build the API over ``engine``; metrics go to ``registry`` (a new private one if None).

    ``clock`` is the wall clock emergencies open and expire by (tests move it); ``calendar``
    the working days sharing deadlines count (None: read from ``settings``)."""
    registry = registry or CollectorRegistry()
    metrics = ApiMetrics(registry)
    metrics_token = settings.metrics_token  # refuses to start without one in production

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    database = CachedCheck(lambda: ping(engine), (sa.exc.SQLAlchemyError,))

    async def readyz(_: Request) -> JSONResponse:
        # Ready is what reads need; the subscriptions' state is shown, never waited for.
        checks = {"database": await database.result()}
        ready = all(v == "ok" for v in checks.values())
        body = {
            "status": "ready" if ready else "not ready",
            "checks": checks,
            "subscriptions": live.hub.state,
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    catalog = Catalog.load()
    policy = load_policy(
        settings.policy_file or DEFAULT_POLICY_FILE,
        catalog,
        min_shown_count=settings.min_shown_count,
    )
    authenticator = Authenticator(engine, settings.ingest_tokens)
    access, layers, emergencies = _layered_access(engine, policy, catalog, authenticator, clock)
    refresh_gauges = _gauges(
        engine,
        metrics,
        emergencies,
        overdue_gauge(engine, metrics.overdue, catalog),
        settings.alert_response_hours,
    )
    intake = HttpIntake(
        lambda: KafkaPublisher(
            settings.bootstrap,
            Serde(catalog, hub_registry(settings, engine)),
            **settings.kafka_options(),
        ),
        catalog,
        settings.hmac_key,
        tokens={},
        authorize=ingest_authorizer(authenticator),
        limits=IngestLimits(settings.ingest_max_body_bytes, settings.ingest_max_records),
        requests=metrics.ingest,
    )

    async def publish(department: str, event: str, records: list[Any]) -> list[str]:
        # The hub's own forms (a grid office's work on an alert) post through the intake.
        try:
            return await intake.publish(department, event, records)
        except IngestRefused as refused:
            extra = {k: v for k, v in refused.body.items() if k not in ("error", "status")}
            raise ApiError(refused.status, str(refused), **extra) from None

    asyncapi_yaml = render_yaml(
        asyncapi_document(catalog, settings.registry_http_url, settings.bootstrap)
    )

    # Subscriptions and the dashboard's history read under the policy, audited like reads.
    # Every read's record is committed before its answer, concurrent ones in one transaction.
    audit = AuditLog(lambda entries: once_more_if_dead(partial(record_reads, engine, entries)))
    live_readers = policy_readers(access, authenticator, audit)
    live = live_api(
        settings, Serde(catalog, hub_registry(settings, engine)), registry, live_readers
    )

    key_checks = {
        "hmac_key": key_check_value(settings.hmac_key),
        "seal_key": key_check_value(settings.seal_key),
    }

    async def key_check(_: Request) -> JSONResponse:
        """The check values of the hub's HMAC and seal keys (never the keys themselves).

        A department's connector compares its keys' check values with these and refuses
        a wrong key before it publishes.
        """
        return JSONResponse(key_checks)

    def pseudonymize(id_number: str) -> str:
        # The same check and key as a connector's, so the key finds what the merge stored.
        try:
            return person_key(normalize_id(id_number, LOOKUP_FIELD), settings.hmac_key)
        except RecordError as exc:
            raise IdNumberError(exc.reason) from None

    async def asyncapi(_: Request) -> Response:
        return Response(asyncapi_yaml, media_type="application/yaml")

    async def metrics_endpoint(request: Request) -> Response:
        # Open to the hub's tokens (route_guard): Prometheus holds the metrics token instead.
        if not metrics_allowed(request.headers.get("authorization"), metrics_token):
            raise ApiError(
                401, "/metrics needs the metrics bearer token", {"WWW-Authenticate": CHALLENGE}
            )
        await refresh_gauges()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, HTTPException):
            return JSONResponse({"error": "internal error", "status": 500}, status_code=500)
        return JSONResponse(error_body(exc), status_code=exc.status_code, headers=exc.headers)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Revocations reach the token cache while the API serves; the hub stops first.
        async with authenticator.listening(), emergencies.listening(), live.lifespan(app):
            yield

    owners = {v.view: v.field_owners for v in catalog.views() if v.view}
    reads = view_routes(engine, access, audit)
    row = next(r.endpoint for r in reads if r.path == "/views/{view}/{key}")
    # The dashboard page asks for the token itself; key check values are public, and so
    # are the intake's descriptions (contracts, never data, like the registry's reads).
    # The public release is for anyone: k-anonymous counts only.
    # The governance page is open too; its requests need a token.
    open_paths = OPEN_PATHS | DASHBOARD_PATHS | {KEY_CHECK_PATH, DEPARTMENT_ROUTE, SCHEMA_ROUTE}
    open_paths |= {PUBLIC_ROUTE, GOVERNANCE_ROUTE}
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        *lookup_routes(row, authenticator, pseudonymize, RateLimit(settings.lookup_per_minute)),
        *reads,
        Route("/asyncapi.yaml", asyncapi),
        Route(KEY_CHECK_PATH, key_check),
        *intake.routes(),
        *alert_work_routes(
            engine,
            access,
            authenticator,
            publish,
            departments=catalog.departments(),
            response_hours=settings.alert_response_hours,
        ),
        *description_routes(catalog, settings.ingest_max_records),
        registry_routes(SqlRegistry(engine), RegistryWrites(authenticator, audit).wrap),
        *live.routes,
        *situation_routes(engine, live_readers),
        *catalog_routes(engine, catalog, policy, settings.feed_schedule, authenticator),
        *emergency_routes(
            engine, policy, owners, authenticator, clock=clock, changed=emergencies.forget
        ),
        *quality_routes(
            engine,
            catalog.departments(),
            settings.quality_audiences,
            settings.quality_days,
            authenticator,
        ),
        *request_routes(
            engine,
            authenticator,
            layers.current,
            {str(v.view): v.field_owners for v in catalog.views()},
            calendar=calendar or holiday_calendar.load(settings.holiday_calendar),
        ),
        *dashboard_routes(),
        *public_routes(
            engine,
            Rules(settings.public_min_count, settings.public_round_base),
            settings.public_release_hours,
            RateLimit(settings.public_per_minute),
            keep_days=settings.snapshot_retention_days,
        ),
        *docs_routes(open_paths, Described(catalog, settings.ingest_max_records)),
    ]
    app = Starlette(
        routes=require_tokens(
            routes,
            authenticator,
            open_paths=open_paths,
            # The catalogue's page needs no token; its JSON checks one itself.
            self_authenticating={
                INGEST_ROUTE,
                CATALOG_ROUTE,
                QUALITY_ROUTE,
                QUALITY_DEPARTMENT_ROUTE,
            },
            query_token_paths={SUBSCRIBE_ROUTE},  # a browser's EventSource sends no headers
        ),
        exception_handlers={HTTPException: http_error},
        middleware=[Middleware(RequestCounter, metrics=metrics), Middleware(RefuseNul)],
        lifespan=lifespan,
    )
    app.state.subscriptions = live.hub  # ended first when the server shuts down

    return app


class RequestCounter:
    """Counts requests by route template (never the raw path: keys must not become labels)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            template = route.path if isinstance(route, Route) else "unmatched"
            self.metrics.requests.labels(template, f"{status['code'] // 100}xx").inc()
