"""Operator commands: status, schemas, deploy manifests, views."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.cli.history import add_history_command
from services.cli.rebuild import add_rebuild_command
from services.errors import ConfigError, StoreError
from services.settings import Settings

if TYPE_CHECKING:
    from services.status import Status


def add_admin_commands(sub: Any) -> None:
    """Add these commands to the ``datong`` parser's subcommands."""
    bench = sub.add_parser("bench", help="throughput and latency, each beside its limit")
    bench.add_argument("--quick", action="store_true", help="a short run for development")
    bench.add_argument("--out", type=Path, help="JSON report (default: var/bench.json)")
    bench.add_argument(
        "--postgres-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL database where the bench may create and drop databases",
    )
    bench.add_argument(
        "--markdown",
        action="store_true",
        help="print the table as Markdown, with the run's date, machine and load average",
    )
    bench.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="render this saved JSON report instead of running the bench",
    )
    bench.add_argument(
        "--readme",
        type=Path,
        help="write the Markdown table between the bench markers of this file (README.md)",
    )
    bench.set_defaults(handler=cmd_bench)

    status = sub.add_parser("status", help="feeds, lag, freshness and dead letters at a glance")
    status.add_argument(
        "--url",
        action="append",
        default=[],
        help="another /metrics endpoint to include (repeatable)",
    )
    status.set_defaults(handler=cmd_status)

    schemas = sub.add_parser("schemas", help="the Avro contracts and the schema registry")
    schemas_sub = schemas.add_subparsers(title="schemas commands")
    for name, help_text in (
        ("list", "every contract with its topic and subject"),
        ("check", "refuse working-tree schemas that break their subject's compatibility"),
        ("register", "register every contract (idempotent)"),
    ):
        command = schemas_sub.add_parser(name, help=help_text)
        command.set_defaults(handler=cmd_schemas, action=name)

    deploy = sub.add_parser(
        "deploy", help="render deployment manifests from the catalog", add_help=False
    )
    deploy.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        help="render-topics [--format strimzi|script] [--partitions N] [--replicas N] | "
        "render-alerts [--format prometheus|k8s] | render-connectors [--image IMAGE]",
    )
    deploy.set_defaults(handler=cmd_deploy)

    views = sub.add_parser("views", help="read the shared views")
    views_sub = views.add_subparsers(title="views commands")
    get = views_sub.add_parser(
        "get", help="print one view row as JSON (operator access: the whole row)"
    )
    get.add_argument("view")
    get.add_argument("key")
    get.add_argument(
        "--audience", help="show only what this audience of the sharing policy would read"
    )
    get.set_defaults(handler=cmd_views_get)
    conflicts = views_sub.add_parser(
        "conflicts", help="writes by a department that does not own the field, never applied"
    )
    conflicts.add_argument("view")
    conflicts.add_argument("key")
    conflicts.set_defaults(handler=cmd_views_conflicts)
    add_rebuild_command(views_sub)
    add_history_command(views_sub)


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    """Run the bench (or read a saved report with ``--from``), print the table and write
    the JSON report; with ``--readme``, fill the README's bench block from that report.
    Never fails on a slow figure."""
    from services.bench.markdown import ReadmeError, fill_readme, render_markdown
    from services.bench.report import render_table

    try:
        from services.bench.run import run_bench
    except ImportError as exc:  # the bench's own clients are an optional extra
        raise ConfigError(
            f"datong bench needs the bench extra ({exc.name} is missing): "
            "pip install 'datong[bench]'"
        ) from exc

    if args.source is not None:
        data = json.loads(args.source.read_text(encoding="utf-8"))
        table = None
    else:
        out = args.out or settings.var_dir / "bench.json"
        report = run_bench(
            args.quick,
            out,
            postgres_url=args.postgres_url,
            holiday_calendar=settings.holiday_calendar,
        )
        data, table = report.as_json(), render_table(report)
    markdown = render_markdown(data)
    if args.readme is not None:
        try:
            filled = fill_readme(args.readme.read_text(encoding="utf-8"), markdown)
        except ReadmeError as exc:
            raise ReadmeError(f"{args.readme}: {exc}") from exc
        args.readme.write_text(filled, encoding="utf-8")
        print(f"{args.readme}: bench table filled from {args.source or out}")
    elif args.markdown or table is None:
        print(markdown, end="")
    else:
        print(table)
    if args.source is None:
        print(f"report: {out}")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Print feeds, lag, freshness and dead letters; exit 1 if an endpoint did not answer."""
    from services.status import scrape, summarize
    from services.status_table import render

    host = settings.api_host
    urls = [
        f"http://{host}:{settings.api_port}/metrics",
        f"http://{host}:{settings.worker_metrics_port}/metrics",
        *args.url,
    ]
    status = _with_dead_letters(
        summarize(scrape(urls, token=settings.given_metrics_token)), settings
    )
    print(render(status), end="")
    return 1 if status.unreachable else 0


def _with_dead_letters(status: Status, settings: Settings) -> Status:
    """The status with dead letters counted on the topics (a one-off connector run serves
    no metrics); a broker that cannot be read is one more unreachable endpoint."""
    from dataclasses import replace

    from schemas.catalog import Catalog
    from services.dead_letter_counts import count_dead_letters
    from services.errors import BrokerError

    try:
        counts = count_dead_letters(
            settings.bootstrap, Catalog.load().departments(), **settings.kafka_options()
        )
    except BrokerError as exc:
        endpoints = {**status.endpoints, f"kafka {settings.bootstrap}": str(exc)}
        return replace(status, endpoints=endpoints)
    endpoints = {**status.endpoints, f"kafka {settings.bootstrap}": None}
    return replace(
        status, dead_letters={d: float(n) for d, n in counts.items()}, endpoints=endpoints
    )


def cmd_schemas(args: argparse.Namespace, settings: Settings) -> int:
    """``datong schemas list|check|register`` against DATONG_REGISTRY_URL or the embedded one."""
    from schemas.catalog import Catalog
    from schemas.errors import RegistryError
    from schemas.registry import catalog_registration
    from services.registries import hub_registry
    from services.store.database import create_engine, create_schema

    catalog = Catalog.load()
    if args.action == "list":
        for row in catalog_registration.list_contracts(catalog):
            print(f"{row.kind:6}  {row.topic:48}  {row.full_name}  key={row.key_field}")
        return 0
    engine = create_engine(settings.database_url)
    create_schema(engine)
    registry = hub_registry(settings, engine)
    if args.action == "check":
        problems = catalog_registration.check(catalog, registry)
        for problem in problems:
            print(problem, file=sys.stderr)
        print(
            f"{len(problems)} incompatible schema change(s)"
            if problems
            else "every schema is compatible with its subject"
        )
        return 1 if problems else 0
    try:
        registered = catalog_registration.register_all(catalog, registry)
    except RegistryError as exc:
        raise RegistryError(f"nothing registered: {exc}") from exc
    for item in registered:
        state = "registered" if item.created else "unchanged"
        print(f"{state:10}  {item.subject}  id={item.schema_id} version={item.version}")
    return 0


def cmd_deploy(args: argparse.Namespace, settings: Settings) -> int:
    """Render the topic manifests and alert rules for the production stacks
    (deploy/README.md)."""
    from connectors.mappings import MAPPINGS
    from services.deploy_manifests import main as render

    return render(args.args, settings, list(MAPPINGS))


def cmd_views_conflicts(args: argparse.Namespace, settings: Settings) -> int:
    """Print the conflicts recorded against one view row, oldest first, as JSON lines."""
    from sqlalchemy.orm import Session

    from services.store.database import create_engine, disposing
    from services.store.views import conflicts_for

    with disposing(create_engine(settings.database_url)) as engine, Session(engine) as session:
        found = sorted(conflicts_for(session, args.view, args.key), key=lambda c: c.event_time_ms)
        for c in found:
            line = {
                "field": c.field,
                "owner": c.owner,
                "department": c.department,
                "event_id": c.event_id,
                "event_time_ms": c.event_time_ms,
            }
            print(json.dumps(line, ensure_ascii=False))
    return 0


def cmd_views_get(args: argparse.Namespace, settings: Settings) -> int:
    """Print one visible view row as JSON (exit 1 when absent).

    Operator access on the database: without ``--audience`` the whole row, past any policy
    (and not audited); with it, exactly what that audience would read through the API.
    """
    from sqlalchemy.orm import Session

    from schemas.catalog import Catalog
    from services.access.policy import allows_community, filter_record
    from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
    from services.api.json_records import json_record
    from services.store.database import create_engine, disposing
    from services.store.views import visible_row

    grant = None
    if args.audience is not None:
        policy = load_policy(
            settings.policy_file or DEFAULT_POLICY_FILE, min_shown_count=settings.min_shown_count
        )
        grant = policy.grant(args.audience, args.view)
        if grant is None:
            raise ConfigError(f"audience {args.audience} may not read {args.view}")
    row = None
    with disposing(create_engine(settings.database_url)) as engine, Session(engine) as session:
        stored = visible_row(session, args.view, args.key)
        if stored is not None and (grant is None or allows_community(grant, stored.community_code)):
            key_field = Catalog.load().view(args.view).key_field
            row = json_record(key_field, stored.key, stored.data, stored.provenance)
    if row is not None and grant is not None:
        row = filter_record(grant, row)
    if row is None:
        raise StoreError(f"{args.view} has no row {args.key!r}")
    print(json.dumps(row, ensure_ascii=False, indent=2))
    return 0
