"""``datong views rebuild [--verify] [--switch]``: the views again, from the source topics alone."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from services.settings import Settings


def add_rebuild_command(views_sub: Any) -> None:
    """Add ``rebuild`` to the ``datong views`` subcommands."""
    rebuild = views_sub.add_parser(
        "rebuild",
        help="rebuild every view from the source topics beside the live store",
        description=(
            "Read every source topic from the beginning into a store next to the live one "
            "(schema datong_rebuild on PostgreSQL, a .rebuild file on SQLite), up to the live "
            "head. Alone, it leaves that store for inspection; the live store is written only "
            "by --switch, in one transaction. A rebuild stopped anywhere can be started again."
        ),
    )
    rebuild.add_argument(
        "--verify",
        action="store_true",
        help="compare the rebuilt views with the live ones row by row; exit 1 on any difference",
    )
    rebuild.add_argument(
        "--switch",
        action="store_true",
        help="write the rows that differ into the live store at once, and publish their changes",
    )
    rebuild.add_argument(
        "--limit",
        type=int,
        default=50,
        help="print at most this many differences (default 50; the counts cover all)",
    )
    rebuild.add_argument(
        "--wait",
        type=float,
        default=30.0,
        help="seconds a verify waits for the live worker to merge what the rebuild read",
    )
    rebuild.set_defaults(handler=cmd_views_rebuild)


def cmd_views_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild, then verify and switch as asked; exit 1 when a verify found differences."""
    from services.cli.progress import count_progress
    from services.rebuild.compare import summary
    from services.rebuild.procedure import rebuild

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    result = rebuild(
        settings,
        verify=args.verify,
        switch=args.switch,
        wait_s=args.wait,
        say=say,
        bar=count_progress,
    )
    tally = result.tally
    print(
        f"rebuilt from {tally.events} events in {result.seconds:.1f}s"
        + (f" ({tally.rejected} undecodable, skipped as the worker did)" if tally.rejected else "")
    )
    comparison = result.comparison
    if comparison is None:
        print(f"the rebuilt views are in the {result.shadow}; --verify compares, --switch swaps")
        return 0
    if result.behind and not args.switch:
        late = ", ".join(f"{topic} {count}" for topic, count in sorted(result.behind.items()))
        print(
            f"the live worker had not merged every event read ({late}) after {args.wait:.0f}s: "
            "differences may be only those events (is the worker running?)"
        )
    if result.pending and not args.switch:
        print(
            f"the live worker had {result.pending} community deltas not folded yet: "
            "community_situation differences may be only those"
        )
    if args.verify or comparison:
        for line in summary(comparison, max(0, args.limit)):
            print(line)
    if result.switched_version is not None:
        print(
            f"switched: {len(comparison.rows)} rows written at version {result.switched_version}, "
            f"{result.published} changes published; the rest were already equal"
        )
    return 1 if args.verify and comparison else 0
