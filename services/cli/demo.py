"""``datong demo generate|live`` and the demo that ``datong up --demo`` feeds (a composition root).

``up --demo`` goes through four steps: the exports are generated as of now; housing's
connector runs first (its export builds the gazetteer every other department's addresses
resolve against), then the others together; once they are done, ``datong views history``
derives the past week's hourly snapshots from the events they published; then ``datong demo
live`` keeps pushing new events until the hub stops.
"""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from services.errors import DatongError
from services.settings import Settings

HISTORY_DAYS = 7  # what the dashboard's charts show


class Starter(Protocol):
    """Starts ``datong <command>`` as a feeder of ``up`` (stopped before the hub's processes)."""

    @property
    def stopping(self) -> bool:
        """A stop was asked for."""

    def start(
        self, command: list[str], env: dict[str, str], *, feeder: bool = False
    ) -> subprocess.Popen[bytes]:
        """Start the command."""


def add_demo_commands(sub: Any) -> None:
    """Add ``demo generate`` and ``demo live`` to the ``datong`` parser's subcommands."""
    demo = sub.add_parser("demo", help="the synthetic demo community")
    demo_sub = demo.add_subparsers(title="demo commands")
    generate = demo_sub.add_parser("generate", help="write every department's exports")
    add_demo_arguments(generate)
    generate.add_argument("--out", type=Path, required=True, help="folder to write into")
    generate.set_defaults(handler=cmd_demo_generate)

    live = demo_sub.add_parser(
        "live",
        help="keep pushing the demo departments' new events to the API (HTTP push)",
        description=(
            "Health status changes and quarantines, deliveries, water readings, grid "
            "inspections and care visits about the generated demo's residents and homes, one "
            "event per department each interval (and a renovation progress report every 60), "
            "posted to POST /ingest/{department}/{event} with department tokens it makes for "
            "the run and revokes when it stops."
        ),
    )
    live.add_argument(
        "--demo-dir",
        type=Path,
        help="the folder `demo generate` wrote (default: DATONG_VAR_DIR/demo)",
    )
    live.add_argument(
        "--interval", type=float, default=1.0, help="seconds between rounds (default 1)"
    )
    live.add_argument("--rounds", type=int, help="stop after this many rounds (default: never)")
    live.set_defaults(handler=cmd_demo_live, long_running=True)


def add_demo_arguments(parser: Any) -> None:
    """Size, seed and clock of the demo community."""
    parser.add_argument("--communities", type=int, default=2)
    parser.add_argument("--residents", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--as-of",
        type=_moment,
        metavar="TIME",
        help="when the exports were taken, ISO 8601 with its offset (default: now); its "
        "events fill the week before it",
    )


def _moment(text: str) -> datetime:
    """An ISO 8601 time with its offset (a bare time would depend on the machine's zone)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs its offset, e.g. +08:00")
    return moment


def _demo_clock(args: argparse.Namespace) -> datetime:
    """The moment the demo is generated as of: ``--as-of``, else now."""
    moment: datetime = args.as_of or datetime.now(UTC)
    return moment


def cmd_demo_generate(args: argparse.Namespace, _: Settings) -> int:
    """Write the demo community's exports, one folder per department, and a manifest."""
    from connectors.demo import generate

    manifest = generate(args.out, args.communities, args.residents, args.seed, _demo_clock(args))
    for counts in manifest.files:
        dirty = sum(counts.dirty.values())
        print(f"{counts.department:16} {counts.path}  rows={counts.rows} dirty={dirty}")
    print(f"manifest: {args.out / 'manifest.json'}")
    return 0


def cmd_demo_live(args: argparse.Namespace, settings: Settings) -> int:
    """Push the demo departments' next events until SIGTERM, Ctrl-C or ``--rounds``."""
    from services.cli.demo_live import run_live, stop_on_signals

    stop = stop_on_signals()  # first: a stop while the population is built is a clean one

    if args.interval < 0 or (args.rounds is not None and args.rounds < 1):
        raise DatongError("--interval must be 0 or more and --rounds at least 1")
    folder = args.demo_dir or settings.var_dir / "demo"
    sent = run_live(settings, folder, interval_s=args.interval, rounds=args.rounds, stop=stop)
    print(f"demo live: sent {sum(sent.values())} events ({_counts(sent)})", flush=True)
    return 0


def _counts(sent: dict[str, int]) -> str:
    return ", ".join(f"{department} {n}" for department, n in sorted(sent.items()))


class DemoFeed:
    """The demo's steps under ``datong up``: connectors, then the history, then the live feed.

    ``advance`` is called from ``up``'s main loop; it starts each step once the one before
    has ended, and never waits.
    """

    def __init__(
        self,
        args: argparse.Namespace,
        settings: Settings,
        env: dict[str, str],
        processes: Starter,
        say: Callable[[str], None] = print,
    ) -> None:
        self._args = args
        self._settings = settings
        self._env = env
        self._processes = processes
        self._say = say
        self._connectors: list[subprocess.Popen[bytes]] = []
        self._history: subprocess.Popen[bytes] | None = None
        self._live: subprocess.Popen[bytes] | None = None
        self._live_ended = False

    def start(self) -> None:
        """Generate the demo as of now and start its connectors, housing first."""
        import shutil

        from connectors.demo import generate

        args, settings = self._args, self._settings
        out = settings.var_dir / "demo"
        manifest = generate(out, args.communities, args.residents, args.seed, _demo_clock(args))
        if settings.embedded_broker:
            # The embedded broker kept nothing from an earlier run: neither may the checkpoints.
            shutil.rmtree(settings.checkpoint_dir, ignore_errors=True)
        first, *rest = manifest.departments
        if self._connector(first).wait() != 0 and not self._processes.stopping:
            raise DatongError(f"the demo's {first} connector failed; see the log above")
        for department in rest:
            if self._processes.stopping:
                return
            self._connectors.append(self._connector(department))

    def advance(self) -> None:
        """Start the next step if the one before has ended."""
        if self._processes.stopping or any(c.poll() is None for c in self._connectors):
            return
        if self._history is None:
            command = ["views", "history", "--days", str(HISTORY_DAYS)]
            self._history = self._processes.start(command, self._env, feeder=True)
            return
        code = self._history.poll()
        if code is None:
            return
        if self._live is None:
            if code != 0:
                self._say("the demo's history replay failed (see above): the charts start now")
            self._live = self._processes.start(["demo", "live"], self._env, feeder=True)
        elif not self._live_ended and self._live.poll() is not None:
            self._live_ended = True  # the hub goes on; only its demo stops moving
            self._say(f"the demo's live feed stopped ({self._live.poll()}); see the log above")

    def _connector(self, department: str) -> subprocess.Popen[bytes]:
        out = self._settings.var_dir / "demo" / department
        command = ["connector", "run", department, "--source", str(out)]
        return self._processes.start(command, self._env, feeder=True)
