"""``datong views history [--days 7]``: past hours' situation snapshots, from the source topics."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from services.settings import Settings


def add_history_command(views_sub: Any) -> None:
    """Add ``history`` to the ``datong views`` subcommands."""
    history = views_sub.add_parser(
        "history",
        help="derive the hourly situation snapshots of past hours from the source topics",
        description=(
            "Replay every source event, oldest event time first, through the merge into a "
            "scratch store, folding the communities after each hour; give the live store the "
            "snapshots of the hours it has none of (the worker's own are kept). The dashboard's "
            "charts then show the days before the hub started."
        ),
    )
    history.add_argument(
        "--days", type=int, default=7, help="how many days back to fill (default 7, at most 31)"
    )
    history.set_defaults(handler=cmd_views_history)


def cmd_views_history(args: argparse.Namespace, settings: Settings) -> int:
    """Replay the source topics hour by hour and fill the live store's missing snapshots."""
    stop = threading.Event()  # SIGTERM or Ctrl-C: stop between two hours, writing nothing
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    from services.errors import ConfigError
    from services.rebuild.history import backfill_history
    from services.rebuild.procedure import source_consumer

    if not 1 <= args.days <= 31:
        raise ConfigError(f"--days must be within 1..31, got {args.days}")

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    result = backfill_history(
        settings,
        lambda: source_consumer(settings),
        days=args.days,
        now=datetime.now(UTC),
        say=say,
        stop=stop,
    )
    if result.stopped:
        print("stopped before the end: no snapshot written")
        return 0
    print(
        f"{result.events} events merged hour by hour in {result.seconds:.1f}s: "
        f"{result.hours} hours of the last {args.days} days had events; "
        f"{result.added} snapshots added"
    )
    return 0
