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
from urllib.parse import parse_qs, urlparse

from services.errors import DatongError
from services.settings import Settings

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
    run = connector_sub.add_parser("run", help="publish a department's export once")
    run.add_argument("department", help="e.g. public-security")
    run.add_argument(
        "--source", required=True, help="file path or file:///path.csv?encoding=gb18030"
    )
    run.set_defaults(handler=cmd_connector_run)

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
    """Publish one export through a department's connector and print what happened."""
    from prometheus_client import CollectorRegistry

    from connectors.checkpoints import FileCheckpoints
    from connectors.mappings.public_security import RegistryMapping
    from connectors.metrics import ConnectorMetrics
    from connectors.publisher import KafkaPublisher
    from connectors.runner import Runner
    from connectors.sources.csv_file import CsvFile
    from schemas.catalog import Catalog
    from schemas.registry import SqlRegistry
    from schemas.serde import Serde
    from services.store.database import create_engine, create_schema
    from services.topics import ensure_topics, topic_specs

    if args.department != "public-security":
        raise DatongError(
            f"no connector mapping for department {args.department!r} yet; "
            "available: public-security"
        )
    uri = urlparse(args.source)
    path = Path(uri.path if uri.scheme == "file" else args.source)
    encoding = parse_qs(uri.query).get("encoding", [None])[0] if uri.scheme == "file" else None
    catalog = Catalog.load()
    engine = create_engine(settings.database_url)
    create_schema(engine)
    ensure_topics(
        settings.bootstrap, topic_specs(catalog, settings.partitions), **settings.kafka_options()
    )
    publisher = KafkaPublisher(
        settings.bootstrap, Serde(catalog, SqlRegistry(engine)), **settings.kafka_options()
    )
    runner = Runner(
        mapping=RegistryMapping(settings.hmac_key),
        publisher=publisher,
        checkpoints=FileCheckpoints(settings.var_dir / "checkpoints" / f"{args.department}.json"),
        seal_key=settings.seal_key,
        metrics=ConnectorMetrics(CollectorRegistry()),
    )
    try:
        stats = runner.run(CsvFile(path, encoding))
    finally:
        publisher.close()
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
        )
    )
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
