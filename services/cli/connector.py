"""Connector commands: run, resolve, and the dead-letter tools (a composition root)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from services.cli.poll_loop import PollLoop, StoppedBeforeStart
from services.cli.progress import count_progress, load_progress
from services.errors import DatongError
from services.settings import Settings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from connectors.dlq import DeadLetter
    from connectors.publisher import KafkaPublisher
    from connectors.runner import Runner, RunStats

log = logging.getLogger("datong")


def add_connector_commands(sub: Any) -> None:
    """Add these commands to the ``datong`` parser's subcommands."""
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
    dlq_list = dlq_sub.add_parser(
        "list", help="what a department's connector rejected, why, and when it expires"
    )
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

    resolve = connector_sub.add_parser(
        "resolve", help="retry records parked for an unresolved address (after housing loads)"
    )
    resolve.add_argument("--department", help="only this department's parked records")
    resolve.set_defaults(handler=cmd_connector_resolve)


def cmd_connector_run(args: argparse.Namespace, settings: Settings) -> int:
    """Publish a department's export file, drop folder or SQL table (``--watch``: forever).

    SIGTERM (or Ctrl-C) ends it cleanly: the batch on its way is flushed and checkpointed,
    the file it came from stays in the folder to be resumed, and the command exits 0.
    """
    from prometheus_client import CollectorRegistry

    from services.liveness import Liveness
    from services.metrics_server import serve_metrics

    liveness = Liveness(settings.liveness_stall_s) if args.watch else None
    loop = PollLoop(args.interval, liveness)
    loop.stop_on_signals()
    registry = CollectorRegistry()
    try:
        runner, publisher = _connector(args.department, settings, registry)
        loop.begin()
    except StoppedBeforeStart:
        return 0  # nothing was published yet: nothing to finish
    runner.should_stop = loop.stop.is_set
    server = None
    if liveness is not None:
        server = serve_metrics(
            registry, settings.api_host, settings.connector_metrics_port, liveness
        )
        log.info("connector metrics on http://%s:%d/metrics", settings.api_host, server.server_port)
    try:
        if args.source.startswith("sql+"):
            _poll_table(args, runner, loop)
            return 0
        path, encoding = _source_path(args.source)
        if path.is_file():
            from connectors.sources.drop_folder import open_file

            with load_progress(path, enabled=True) as progress:
                runner.progress = progress
                _print_summary(path, runner.run(open_file(path, encoding, None)))
            _after_file(args.department, settings)
            return 0
        _poll_folder(args, settings, runner, path, encoding, loop=loop)
        return 0
    finally:
        publisher.close()
        if server is not None:
            server.shutdown()


def _poll_folder(
    args: argparse.Namespace,
    settings: Settings,
    runner: Runner,
    path: Path,
    encoding: str | None,
    *,
    loop: PollLoop,
) -> None:
    """Publish every file of a drop folder; with ``--watch``, keep polling it."""
    from connectors.errors import ConnectorError
    from connectors.sources.drop_folder import DropFolder

    folder = DropFolder(path, encoding)
    while not loop.stop.is_set():
        pending = list(folder.pending())
        loop.step(pending=bool(pending))
        for source in pending:
            if loop.stop.is_set():
                return
            try:
                with load_progress(source.path, enabled=not args.watch) as progress:
                    runner.progress = loop.batches(progress)
                    stats = runner.run(source)
            except ConnectorError as exc:
                log.error("%s: %s; moved to failed/", source.path.name, exc)
                folder.finish(source, ok=False)
                continue
            if stats.stopped:  # the file stays; its checkpoint resumes it at the next start
                _print_summary(source.path, stats)
                return
            _print_summary(folder.finish(source, ok=True), stats)
            _after_file(args.department, settings)
        if not args.watch or not loop.wait():
            return


def _poll_table(args: argparse.Namespace, runner: Runner, loop: PollLoop) -> None:
    """Publish a department table's new rows; with ``--watch``, keep polling it."""
    from connectors.sources.sql_table import sql_source

    table = sql_source(args.source)
    runner.progress = loop.batches(None)
    while not loop.stop.is_set():
        loop.step(pending=False)  # new rows show only by reading them: each batch is a step
        _print_summary(Path(table.name), runner.run(table))
        if not args.watch or not loop.wait():
            return


def _after_file(department: str, settings: Settings) -> None:
    if department == HOUSING:  # new dwellings may resolve addresses parked earlier
        _resolve_parked(settings, None)


HOUSING = "housing"


def cmd_connector_resolve(args: argparse.Namespace, settings: Settings) -> int:
    """Map the parked records again and publish those whose address now resolves."""
    _resolve_parked(settings, args.department)
    return 0


def _resolve_parked(settings: Settings, department: str | None) -> None:
    from connectors.gazetteer import Gazetteer
    from connectors.mappings import MAPPINGS
    from connectors.resolution import resolve_queue
    from connectors.state.store import open_state_store

    if department is not None:
        _check_department(department)
    state = open_state_store(settings.connector_state_url)
    publisher = _publisher(settings)
    try:
        mappers = {d: MAPPINGS[d](settings.hmac_key, Gazetteer(state)) for d in MAPPINGS}
        with count_progress("parked records", None) as progress:
            stats = resolve_queue(
                state, mappers, settings.seal_key, publisher, department, progress=progress
            )
    finally:
        publisher.close()
    print(
        json.dumps(
            {
                "resolution_queue": {
                    "resolved": stats.resolved,
                    "rejected": stats.rejected,
                    "still_parked": stats.parked,
                }
            }
        ),
        flush=True,
    )


def _source_path(source: str) -> tuple[Path, str | None]:
    uri = urlparse(source)
    if uri.scheme == "file":
        return Path(uri.path), parse_qs(uri.query).get("encoding", [None])[0]
    return Path(source), None


def _connector(
    department: str,
    settings: Settings,
    collector: CollectorRegistry,
) -> tuple[Runner, KafkaPublisher]:
    """The runner and publisher of a department's connector, wired to the settings.

    It opens the connectors' state store and a schema registry over HTTP, never the view
    store: a connector holds no credentials on the hub's database.
    """
    from connectors.checkpoints import FileCheckpoints
    from connectors.gazetteer import Gazetteer
    from connectors.mappings import MAPPINGS
    from connectors.metrics import ConnectorMetrics
    from connectors.resolution import ResolutionQueue
    from connectors.runner import Runner
    from connectors.state.store import open_state_store

    _check_department(department)
    state = open_state_store(settings.connector_state_url)
    publisher = _publisher(settings)
    runner = Runner(
        mapping=MAPPINGS[department](settings.hmac_key, Gazetteer(state)),
        publisher=publisher,
        checkpoints=FileCheckpoints(settings.checkpoint_dir / f"{department}.json"),
        seal_key=settings.seal_key,
        metrics=ConnectorMetrics(collector),
        parking=ResolutionQueue(state, settings.seal_key),
    )
    return runner, publisher


def _check_department(department: str) -> None:
    from connectors.mappings import MAPPINGS

    if department not in MAPPINGS:
        raise DatongError(
            f"no connector mapping for department {department!r} yet; "
            f"available: {', '.join(sorted(MAPPINGS))}"
        )


def _publisher(settings: Settings) -> KafkaPublisher:
    """A publisher to the settings' broker, its schema ids looked up in the registry over
    HTTP once it answers (the hub registered them)."""
    from connectors.publisher import KafkaPublisher
    from schemas.catalog import Catalog
    from schemas.registry.errors import RegistryUnreachableError
    from schemas.serde import Serde
    from services.registries import connector_registry
    from services.topics import prepare_topics, topic_specs

    catalog = Catalog.load()
    # Topics first: a missing one is the operator's to create, and waiting for the
    # registry would only delay saying so.
    prepare_topics(
        settings.topics,
        settings.bootstrap,
        topic_specs(catalog, settings.partitions, settings.dlq_retention_days),
        **settings.kafka_options(),
    )
    registry = connector_registry(settings)
    hint = "the hub's API serves one (`datong api`, `datong up`); DATONG_REGISTRY_URL names another"
    try:
        registry.wait_until_answering(
            settings.registry_wait_s,
            lambda why: log.info(
                "waiting up to %g s for the schema registry: %s; %s",
                settings.registry_wait_s,
                why,
                hint,
            ),
        )
    except RegistryUnreachableError as exc:
        raise RegistryUnreachableError(f"{exc}; {hint}") from exc
    return KafkaPublisher(settings.bootstrap, Serde(catalog, registry), **settings.kafka_options())


def _print_summary(path: Path, stats: RunStats) -> None:
    print(
        json.dumps(
            {
                "source": str(path),
                "published": stats.published,
                "rejected": stats.rejected,
                "parked": stats.parked,
                "already_published": stats.skipped,
                "rejected_by_reason": stats.reasons,
                "checkpoint": stats.last_position,
                **({"stopped": True} if stats.stopped else {}),
            },
            ensure_ascii=False,
        ),
        flush=True,
    )


def _list_dead_letters(department: str, letters: list[DeadLetter], settings: Settings) -> None:
    """One line per dead letter with the day it expires, then what the topic keeps."""
    from schemas.catalog import dlq_topic
    from services.retention import dead_letter_expiry
    from services.topics import DAY_MS, topic_retention_ms

    topic = dlq_topic(department)
    retention_ms = topic_retention_ms(settings.bootstrap, topic, **settings.kafka_options())
    source = f"retention.ms of {topic}"
    if retention_ms is None:  # a broker that does not say: the hub's own setting
        retention_ms = settings.dlq_retention_days * DAY_MS
        source = "DATONG_DLQ_RETENTION_DAYS"
    for letter in letters:
        d = letter.details
        expires = dead_letter_expiry(letter.written_at_ms, retention_ms)
        print(
            f"{letter.ref:>10}  {d.get('time', '')[:19]}  "
            f"expires {expires.strftime('%Y-%m-%d') if expires else 'never'}  {letter.where}  "
            f"{d.get('field', '?')}  {d.get('code', '?')}  {d.get('reason', '')}"
        )
    kept = "forever" if retention_ms < 0 else f"{retention_ms / DAY_MS:g} days after it was written"
    print(f"{len(letters)} dead letter(s) on {topic}; each is kept {kept} ({source})")


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
            _list_dead_letters(args.department, letters, settings)
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
        raise ConnectorError(f"still rejected: {exc.field}: {exc.reason}") from exc
