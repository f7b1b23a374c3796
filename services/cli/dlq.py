"""``datong dlq list|show|replay``: a department's dead letters, opened and sent again."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.cli.connector import operator_name
from services.cli.connector_wiring import connector_for
from services.errors import DatongError
from services.settings import Settings

if TYPE_CHECKING:
    from connectors.dlq import DeadLetter

log = logging.getLogger("datong")


def add_dlq_commands(sub: Any) -> None:
    """Add ``dlq`` to the ``datong`` parser's subcommands."""
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
    dlq_replay = dlq_sub.add_parser(
        "replay",
        help="fix a rejected record and publish it, or (--all) map every dead letter again "
        "after a mapping fix; a row already published is never published again",
    )
    dlq_replay.add_argument("department")
    dlq_replay.add_argument("ref", nargs="?", help="partition:offset, as `dlq list` prints it")
    dlq_replay.add_argument(
        "--all", action="store_true", help="every dead letter of the department (not with REF)"
    )
    dlq_replay.add_argument(
        "--reason", metavar="CODE", help="with --all: only dead letters of this code (bad_enum, …)"
    )
    dlq_replay.add_argument(
        "--mapping", type=Path, metavar="FILE", help="the department's own mapping YAML"
    )
    dlq_replay.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="replace a column's value before mapping (repeatable)",
    )
    dlq_replay.set_defaults(handler=cmd_dlq, action="replay")


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
    rows = [("REF", "WRITTEN", "EXPIRES", "SOURCE#ROW", "FIELD", "CODE", "REASON")]
    for letter in letters:
        d = letter.details
        expires = dead_letter_expiry(letter.written_at_ms, retention_ms)
        rows.append(
            (
                letter.ref,
                d.get("time", "")[:19],
                expires.strftime("%Y-%m-%d") if expires else "never",
                letter.where,
                d.get("field", "?"),
                d.get("code", "?"),
                d.get("reason", ""),
            )
        )
    if letters:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:
            cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
            print("  ".join([*cells, row[-1]]).rstrip())
    kept = "forever" if retention_ms < 0 else f"{retention_ms / DAY_MS:g} days after it was written"
    print(f"{len(letters)} dead letter(s) on {topic}; each is kept {kept} ({source})")


def cmd_dlq(args: argparse.Namespace, settings: Settings) -> int:
    """``datong dlq list|show|replay``."""
    from prometheus_client import CollectorRegistry

    from connectors import dlq
    from connectors.errors import ConnectorError, RecordError
    from connectors.ledger import Ledger

    if args.action == "replay":
        if args.all == (args.ref is not None):
            raise DatongError("dlq replay: give either a REF (partition:offset) or --all")
        if args.reason is not None and not args.all:
            raise DatongError("dlq replay: --reason goes with --all")
    if args.action in ("show", "replay"):
        _ = settings.seal_key  # missing: say what to provide before reading anything
        if args.ref is not None:
            dlq.parse_ref(args.ref)
    try:
        letters = dlq.read_dead_letters(
            settings.bootstrap, args.department, **settings.kafka_options()
        )
        if args.action == "list":
            _list_dead_letters(args.department, letters, settings)
            return 0
        if args.action == "replay" and args.all:
            return _replay_all(args, settings, letters)
        letter = dlq.find(letters, args.ref)
        if args.action == "show":
            print("# the original record: personal data, do not paste it anywhere", file=sys.stderr)
            print(
                json.dumps(dlq.open_letter(letter, settings.seal_key), ensure_ascii=False, indent=2)
            )
            return 0
        fixes = dict(item.split("=", 1) for item in args.set if "=" in item)
        runner, publisher = connector_for(
            args.department, settings, CollectorRegistry(), args.mapping
        )
        try:
            event_id = dlq.replay(letter, settings.seal_key, fixes, runner.mapping, publisher)
        finally:
            publisher.close()
        details = {"letters": [letter.ref], "fixed_columns": sorted(fixes)}
        Ledger(settings.ledger_path).record("replay", args.department, operator_name(), details)
        print(f"replayed {letter.ref} as {event_id}")
        return 0
    except RecordError as exc:
        raise ConnectorError(f"still rejected: {exc.field}: {exc.reason}") from exc


def _replay_all(args: argparse.Namespace, settings: Settings, letters: list[DeadLetter]) -> int:
    """Map every dead letter (of ``--reason``) again and publish those that now map."""
    from prometheus_client import CollectorRegistry

    from connectors.dlq import replay_all
    from connectors.ledger import Ledger

    runner, publisher = connector_for(args.department, settings, CollectorRegistry(), args.mapping)
    try:
        stats = replay_all(
            letters,
            settings.seal_key,
            runner.mapping,
            publisher,
            args.reason,
            origins=runner.checkpoints.origins,  # read from where the letters' sources began
        )
    finally:
        publisher.close()
    summary = {
        "replayed": stats.replayed,
        "already_published": stats.already_published,
        "still_rejected": stats.still_rejected,
    }
    details = {"reason": args.reason, **summary}
    Ledger(settings.ledger_path).record("replay-all", args.department, operator_name(), details)
    log.info("replayed the dead letters of %s: %s", args.department, summary)
    print(json.dumps({"department": args.department, **summary}, ensure_ascii=False))
    return 0
