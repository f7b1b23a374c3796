"""The ``datong`` command: a composition root wiring settings, connectors and services."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

from services.errors import DatongError
from services.settings import Settings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from connectors.publisher import KafkaPublisher
    from connectors.runner import Runner, RunStats

log = logging.getLogger("datong")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``datong`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("kafka", "aiokafka", "faust", "mode"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    handler: Callable[[argparse.Namespace, Settings], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args, Settings.from_env())
    except DatongError as exc:
        print(f"datong: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="datong", description=__doc__)
    sub = parser.add_subparsers(title="commands")

    up = sub.add_parser("up", help="broker, merge worker and API together on embedded defaults")
    up.set_defaults(handler=cmd_up)

    broker = sub.add_parser("broker", help="run the embedded Kafka-compatible broker (Tansu)")
    broker.add_argument("--port", type=int, help="listen port (default DATONG_BROKER_PORT, 9092)")
    broker.set_defaults(handler=cmd_broker)

    worker = sub.add_parser("worker", help="run one merge worker")
    worker.set_defaults(handler=cmd_worker)

    api = sub.add_parser("api", help="run the HTTP API")
    api.set_defaults(handler=cmd_api)

    connector = sub.add_parser("connector", help="department connectors")
    connector_sub = connector.add_subparsers(title="connector commands")
    run = connector_sub.add_parser("run", help="publish a department's exports")
    run.add_argument("department", help="e.g. public-security")
    run.add_argument(
        "--source",
        required=True,
        help="a CSV file or a drop folder: PATH or file:///PATH?encoding=gb18030",
    )
    run.add_argument(
        "--watch",
        action="store_true",
        help="keep polling the drop folder and serve /metrics (DATONG_CONNECTOR_METRICS_PORT)",
    )
    run.add_argument("--interval", type=float, default=5.0, help="seconds between polls")
    run.set_defaults(handler=cmd_connector_run)

    dlq = sub.add_parser("dlq", help="dead letters: list, open and resend rejected records")
    dlq_sub = dlq.add_subparsers(title="dlq commands")
    dlq_list = dlq_sub.add_parser("list", help="what a department's connector rejected, and why")
    dlq_list.add_argument("department")
    dlq_list.set_defaults(handler=cmd_dlq, action="list")
    dlq_show = dlq_sub.add_parser("show", help="open one sealed record (shows personal data)")
    dlq_show.add_argument("department")
    dlq_show.add_argument("ref", help="partition:offset, as `dlq list` prints it")
    dlq_show.set_defaults(handler=cmd_dlq, action="show")
    dlq_replay = dlq_sub.add_parser("replay", help="fix a rejected record and publish it")
    dlq_replay.add_argument("department")
    dlq_replay.add_argument("ref", help="partition:offset, as `dlq list` prints it")
    dlq_replay.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="replace a column's value before mapping (repeatable)",
    )
    dlq_replay.set_defaults(handler=cmd_dlq, action="replay")

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
        help="render-topics [--format strimzi|script] [--partitions N] [--replicas N]",
    )
    deploy.set_defaults(handler=cmd_deploy)

    views = sub.add_parser("views", help="read the shared views")
    views_sub = views.add_subparsers(title="views commands")
    get = views_sub.add_parser("get", help="print one view row as JSON")
    get.add_argument("view")
    get.add_argument("key")
    get.set_defaults(handler=cmd_views_get)
    return parser


def cmd_broker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the embedded broker in the foreground until SIGINT/SIGTERM."""
    from services.broker import EmbeddedBroker

    broker = EmbeddedBroker(args.port or settings.broker_port)
    _stop_on_signals(broker.stop)
    broker.start()
    print(f"embedded broker ready on {broker.bootstrap}", flush=True)
    broker.wait()
    return 0


def cmd_worker(_: argparse.Namespace, settings: Settings) -> int:
    """Run one merge worker."""
    from services.worker import run_worker

    run_worker(settings)
    return 0


def cmd_api(_: argparse.Namespace, settings: Settings) -> int:
    """Serve the HTTP API with uvicorn."""
    import uvicorn

    from services.api.app import create_api
    from services.store.database import create_engine, create_schema

    engine = create_engine(settings.database_url)
    create_schema(engine)
    uvicorn.run(
        create_api(settings, engine),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
    )
    return 0


def cmd_connector_run(args: argparse.Namespace, settings: Settings) -> int:
    """Publish a department's export file, or every file of a drop folder (``--watch``: forever)."""
    from prometheus_client import CollectorRegistry

    from connectors.errors import ConnectorError
    from connectors.sources.csv_file import CsvFile
    from connectors.sources.drop_folder import DropFolder
    from services.metrics_server import serve_metrics

    path, encoding = _source_path(args.source)
    registry = CollectorRegistry()
    runner, publisher = _connector(args.department, settings, registry)
    server = None
    if args.watch:
        server = serve_metrics(registry, settings.api_host, settings.connector_metrics_port)
        log.info("connector metrics on http://%s:%d/metrics", settings.api_host, server.server_port)
    try:
        if path.is_file():
            _print_summary(path, runner.run(CsvFile(path, encoding)))
            return 0
        folder = DropFolder(path, encoding)
        while True:
            for source in folder.pending():
                try:
                    stats = runner.run(source)
                except ConnectorError as exc:
                    log.error("%s: %s; moved to failed/", source.path.name, exc)
                    folder.finish(source, ok=False)
                    continue
                _print_summary(folder.finish(source, ok=True), stats)
            if not args.watch:
                return 0
            time.sleep(args.interval)
    finally:
        publisher.close()
        if server is not None:
            server.shutdown()


def _source_path(source: str) -> tuple[Path, str | None]:
    uri = urlparse(source)
    if uri.scheme == "file":
        return Path(uri.path), parse_qs(uri.query).get("encoding", [None])[0]
    return Path(source), None


def _connector(
    department: str,
    settings: Settings,
    registry: CollectorRegistry,
) -> tuple[Runner, KafkaPublisher]:
    """The runner and publisher of a department's connector, wired to the settings."""
    from connectors.checkpoints import FileCheckpoints
    from connectors.mappings import MAPPINGS
    from connectors.metrics import ConnectorMetrics
    from connectors.publisher import KafkaPublisher
    from connectors.runner import Runner
    from schemas.catalog import Catalog
    from schemas.serde import Serde
    from services.schema_registry import open_registry
    from services.store.database import create_engine, create_schema
    from services.topics import ensure_topics, topic_specs

    if department not in MAPPINGS:
        raise DatongError(
            f"no connector mapping for department {department!r} yet; "
            f"available: {', '.join(sorted(MAPPINGS))}"
        )
    catalog = Catalog.load()
    engine = create_engine(settings.database_url)
    create_schema(engine)
    ensure_topics(
        settings.bootstrap, topic_specs(catalog, settings.partitions), **settings.kafka_options()
    )
    publisher = KafkaPublisher(
        settings.bootstrap,
        Serde(catalog, open_registry(settings, engine)),
        **settings.kafka_options(),
    )
    runner = Runner(
        mapping=MAPPINGS[department](settings.hmac_key),
        publisher=publisher,
        checkpoints=FileCheckpoints(settings.var_dir / "checkpoints" / f"{department}.json"),
        seal_key=settings.seal_key,
        metrics=ConnectorMetrics(registry),
    )
    return runner, publisher


def _print_summary(path: Path, stats: RunStats) -> None:
    print(
        json.dumps(
            {
                "source": str(path),
                "published": stats.published,
                "rejected": stats.rejected,
                "rejected_by_reason": stats.reasons,
                "checkpoint": stats.last_position,
            },
            ensure_ascii=False,
        ),
        flush=True,
    )


def cmd_dlq(args: argparse.Namespace, settings: Settings) -> int:
    """``datong dlq list|show|replay``."""
    from prometheus_client import CollectorRegistry

    from connectors import dlq
    from connectors.errors import ConnectorError, RecordError

    try:
        letters = dlq.read_dead_letters(
            settings.bootstrap, args.department, **settings.kafka_options()
        )
        if args.action == "list":
            for letter in letters:
                d = letter.details
                print(
                    f"{letter.ref:>10}  {d.get('time', '')[:19]}  {letter.where}  "
                    f"{d.get('field', '?')}  {d.get('code', '?')}  {d.get('reason', '')}"
                )
            print(f"{len(letters)} dead letter(s) on dlq.{args.department}")
            return 0
        letter = dlq.find(letters, args.ref)
        if args.action == "show":
            print("# the original record: personal data, do not paste it anywhere", file=sys.stderr)
            print(
                json.dumps(dlq.open_letter(letter, settings.seal_key), ensure_ascii=False, indent=2)
            )
            return 0
        fixes = dict(item.split("=", 1) for item in args.set if "=" in item)
        runner, publisher = _connector(args.department, settings, CollectorRegistry())
        try:
            event_id = dlq.replay(letter, settings.seal_key, fixes, runner.mapping, publisher)
        finally:
            publisher.close()
        print(f"replayed {letter.ref} as {event_id}")
        return 0
    except RecordError as exc:
        print(f"datong: still rejected: {exc.field}: {exc.reason}", file=sys.stderr)
        return 1
    except ConnectorError as exc:
        print(f"datong: {exc}", file=sys.stderr)
        return 1


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Print feeds, lag, freshness and dead letters; exit 1 if an endpoint did not answer."""
    from services.status import render, scrape, summarize

    host = settings.api_host
    urls = [
        f"http://{host}:{settings.api_port}/metrics",
        f"http://{host}:{settings.worker_metrics_port}/metrics",
        *args.url,
    ]
    status = summarize(scrape(urls))
    print(render(status), end="")
    return 1 if status.unreachable else 0


def cmd_schemas(args: argparse.Namespace, settings: Settings) -> int:
    """``datong schemas list|check|register`` against DATONG_REGISTRY_URL or the embedded one."""
    from schemas import registration
    from schemas.catalog import Catalog
    from schemas.errors import RegistryError
    from services.schema_registry import open_registry
    from services.store.database import create_engine, create_schema

    catalog = Catalog.load()
    if args.action == "list":
        for row in registration.list_contracts(catalog):
            print(f"{row.kind:6}  {row.topic:48}  {row.full_name}  key={row.key_field}")
        return 0
    engine = create_engine(settings.database_url)
    create_schema(engine)
    registry = open_registry(settings, engine)
    if args.action == "check":
        problems = registration.check(catalog, registry)
        for problem in problems:
            print(problem, file=sys.stderr)
        print(
            f"{len(problems)} incompatible schema change(s)"
            if problems
            else "every schema is compatible with its subject"
        )
        return 1 if problems else 0
    try:
        registered = registration.register_all(catalog, registry)
    except RegistryError as exc:
        print(f"datong: nothing registered: {exc}", file=sys.stderr)
        return 1
    for item in registered:
        state = "registered" if item.created else "unchanged"
        print(f"{state:10}  {item.subject}  id={item.schema_id} version={item.version}")
    return 0


def cmd_deploy(args: argparse.Namespace, _: Settings) -> int:
    """Render the topic manifests for the production stacks (deploy/README.md)."""
    from services.deploy_manifests import main as render

    return render(args.args)


def cmd_views_get(args: argparse.Namespace, settings: Settings) -> int:
    """Print one visible view row as JSON (exit 1 when absent)."""
    from services.api.app import read_row
    from services.store.database import create_engine

    row = read_row(create_engine(settings.database_url), args.view, args.key)
    if row is None:
        print(f"datong: {args.view} has no row {args.key!r}", file=sys.stderr)
        return 1
    print(json.dumps(row, ensure_ascii=False, indent=2))
    return 0


def cmd_up(_: argparse.Namespace, settings: Settings) -> int:
    """Start broker, worker and API; print where they listen; stop all on Ctrl-C."""
    from services.broker import EmbeddedBroker
    from services.store.database import create_engine, create_schema

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    create_schema(create_engine(settings.database_url))
    broker = None
    if settings.embedded_broker:
        broker = EmbeddedBroker(settings.broker_port, log_path=settings.var_dir / "broker.log")
        broker.start()
    children: list[subprocess.Popen[bytes]] = []
    try:
        env = {
            **os.environ,
            "DATONG_VAR_DIR": str(settings.var_dir),
            "DATONG_KAFKA_BOOTSTRAP": settings.bootstrap,
        }
        for command in ("worker", "api"):
            children.append(
                subprocess.Popen([sys.executable, "-m", "services.cli", command], env=env)
            )
        _print_urls(settings)
        _stop_on_signals(lambda: None)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        failed = [
            name
            for name, c in zip(("worker", "api"), children, strict=True)
            if c.poll() not in (None, 0)
        ]
        if failed:
            raise DatongError(f"{', '.join(map(str, failed))} exited; see the log above")
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        if broker is not None:
            broker.stop()


def _print_urls(settings: Settings) -> None:
    base = f"http://{settings.api_host}:{settings.api_port}"
    embedded = " (embedded, memory-only)" if settings.embedded_broker else ""
    print(
        f"""
datong is up
  broker          {settings.bootstrap}{embedded}
  API             {base}/healthz  {base}/readyz  {base}/views/resident_profile/<person_key>
  API metrics     {base}/metrics
  worker metrics  http://{settings.api_host}:{settings.worker_metrics_port}/metrics
  view store      {settings.database_url}
Press Ctrl-C to stop.
""",
        flush=True,
    )


def _stop_on_signals(stop: Callable[[], None]) -> None:
    def handle(signum: int, _frame: object) -> None:
        stop()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


if __name__ == "__main__":
    sys.exit(main())
