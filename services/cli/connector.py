"""Connector commands: run, reset and resolve (a composition root).

The connector a command runs is built in ``connector_wiring.py``; parked records are mapped
again in ``connector_resolve.py``; the dead-letter tools are ``dlq.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from services.cli.connector_resolve import cmd_connector_resolve, resolve_parked
from services.cli.connector_wiring import check_department, connector_for
from services.cli.poll_loop import PollLoop, StoppedBeforeStart
from services.cli.progress import load_progress
from services.errors import DatongError
from services.settings import Settings

if TYPE_CHECKING:
    from connectors.base import RecordMapper, Source
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
        help="an export file (CSV, XLSX, JSON lines), a drop folder of them, or a SQL table: "
        "PATH, file:///PATH?encoding=gb18030, or sql+postgresql+psycopg://…?table=T&column=C",
    )
    run.add_argument(
        "--mapping",
        type=Path,
        metavar="FILE",
        help="the department's own mapping YAML (default: its file in DATONG_MAPPINGS_DIR, "
        "else the shipped one); `datong mapping check FILE` tries it first",
    )
    run.add_argument(
        "--watch",
        action="store_true",
        help="keep polling the drop folder and serve /metrics (DATONG_CONNECTOR_METRICS_PORT)",
    )
    run.add_argument("--interval", type=float, default=5.0, help="seconds between polls")
    run.set_defaults(handler=cmd_connector_run)

    reset = connector_sub.add_parser(
        "reset",
        help="start a department's sources again from their first row (stop its watching "
        "connector first; rows already "
        "published as events are skipped, rejected ones are mapped again)",
    )
    reset.add_argument("department")
    reset.add_argument("--file", metavar="NAME", help="only this file (default: every source)")
    reset.set_defaults(handler=cmd_connector_reset)

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

    if not args.source.startswith("sql+"):
        check_source_path(_source_path(args.source)[0], "--source")
    liveness = Liveness(settings.liveness_stall_s) if args.watch else None
    # A watching connector serves /metrics: in production it refuses to start without the token.
    metrics_token = settings.metrics_token if args.watch else None
    loop = PollLoop(args.interval, liveness)
    loop.stop_on_signals()
    registry = CollectorRegistry()
    try:
        runner, publisher = connector_for(args.department, settings, registry, args.mapping)
        loop.begin()
    except StoppedBeforeStart:
        return 0  # nothing was published yet: nothing to finish
    runner.should_stop = loop.stop.is_set
    server = None
    if liveness is not None:
        server = serve_metrics(
            registry,
            settings.api_host,
            settings.connector_metrics_port,
            liveness,
            metrics_token,
        )
        log.info("connector metrics on http://%s:%d/metrics", settings.api_host, server.server_port)
    try:
        if args.source.startswith("sql+"):
            _poll_table(args, runner, loop)
            return 0
        path, encoding = _source_path(args.source)
        if path.is_file():
            from connectors.sources.drop_folder import open_file

            source = open_file(path, encoding, None)
            whole_file_fits(runner.mapping, source)
            with load_progress(path, enabled=True) as progress:
                runner.progress = progress
                _print_summary(path, runner.run(source))
            _after_file(args.department, settings)
            return 0
        failed = _poll_folder(args, settings, runner, path, encoding, loop=loop)
        return 1 if failed else 0
    finally:
        publisher.close()
        if server is not None:
            server.shutdown()


def check_source_path(path: Path, flag: str) -> None:
    """Refuse, before connecting to anything, a path that is not there or a file that is
    an old binary Excel workbook (the connector reads .xlsx)."""
    from connectors.sources.drop_folder import refuse_old_excel

    if not path.exists():
        raise DatongError(f"{flag} {path}: no such file or folder")
    if path.is_file():
        refuse_old_excel(path)


def whole_file_fits(mapping: RecordMapper, source: Source[Any]) -> None:
    """Refuse a file whose header fits none of the department's exports, once for the file
    (ExportMismatch), before any row is mapped or dead-lettered."""
    from connectors.mappings.mapper import DepartmentMapper
    from connectors.sources.csv_file import CsvFile
    from connectors.sources.drop_folder import OldExcelFile
    from connectors.sources.xlsx_file import XlsxFile

    # CSV and XLSX files have one header; JSON lines may change keys from line to line.
    if isinstance(source, CsvFile | XlsxFile | OldExcelFile):
        header = source.header()
        if isinstance(mapping, DepartmentMapper):
            mapping.export_for_file(header, source.path.name)


def _poll_folder(
    args: argparse.Namespace,
    settings: Settings,
    runner: Runner,
    path: Path,
    encoding: str | None,
    *,
    loop: PollLoop,
) -> int:
    """Publish every file of a drop folder; with ``--watch``, keep polling it until stopped.

    Returns how many files went to ``failed/``.
    """
    from connectors.errors import ConnectorError
    from connectors.sources.drop_folder import DropFolder

    folder = DropFolder(path, encoding)
    failed = 0
    while not loop.stop.is_set():
        pending = list(folder.pending())
        loop.step(pending=bool(pending))
        for source in pending:
            if loop.stop.is_set():
                return failed
            try:
                whole_file_fits(runner.mapping, source)
                with load_progress(source.path, enabled=not args.watch) as progress:
                    runner.progress = loop.batches(progress)
                    stats = runner.run(source)
            except ConnectorError as exc:
                log.error("%s: %s; moved to failed/", source.path.name, exc)
                folder.finish(source, ok=False)
                failed += 1
                continue
            if stats.stopped:  # the file stays; its checkpoint resumes it at the next start
                _print_summary(source.path, stats)
                return failed
            _print_summary(folder.finish(source, ok=True), stats)
            _after_file(args.department, settings)
        if not args.watch or not loop.wait():
            return failed
    return failed


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
        resolve_parked(settings, None)


HOUSING = "housing"


def cmd_connector_reset(args: argparse.Namespace, settings: Settings) -> int:
    """Reset a department's checkpoints (all, or one file's), and record it in the ledger."""
    from connectors.checkpoints import FileCheckpoints
    from connectors.ledger import Ledger

    check_department(args.department)
    checkpoints = FileCheckpoints(settings.checkpoint_dir / f"{args.department}.json")
    reset = checkpoints.reset(args.file)
    if args.file is not None and not reset:
        known = ", ".join(checkpoints.names()) or "none"
        raise DatongError(
            f"{args.department} has no checkpoint for a file {args.file!r} (checkpointed: {known})"
        )
    Ledger(settings.ledger_path).record(
        "reset", args.department, operator_name(), {"sources": reset}
    )
    log.info("reset %d checkpoint(s) of %s: %s", len(reset), args.department, ", ".join(reset))
    print(json.dumps({"department": args.department, "reset": reset}, ensure_ascii=False))
    return 0


def operator_name() -> str:
    """Who runs this command, for the ledger."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return "unknown"


def _source_path(source: str) -> tuple[Path, str | None]:
    uri = urlparse(source)
    if uri.scheme == "file":
        return Path(uri.path), parse_qs(uri.query).get("encoding", [None])[0]
    return Path(source), None


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
