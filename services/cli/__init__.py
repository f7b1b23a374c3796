"""The ``datong`` command: a composition root wiring settings, connectors and services."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence

from services.cli.access import add_access_commands
from services.cli.admin import add_admin_commands
from services.cli.catalog import add_catalog_commands
from services.cli.connector import add_connector_commands
from services.cli.dlq import add_dlq_commands
from services.cli.emergency import add_emergency_commands
from services.cli.hub import add_hub_commands
from services.cli.keys import add_key_commands
from services.cli.mapping import add_mapping_commands
from services.cli.requests import add_request_commands
from services.cli.topics import add_topic_commands
from services.errors import DatongError
from services.settings import Settings


def run() -> None:
    """The console script and ``python -m services.cli``: ``main``, then exit with its code.

    Once the command has returned, a SIGTERM has nothing left to stop, and one arriving
    while the interpreter winds down would end a finished command "killed by signal 15"
    (Python gives signals their default action back as it exits): it is ignored from here.
    """
    code = main()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``datong`` command line; return its exit code (2: an operator's error)."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("kafka", "aiokafka", "faust", "mode", "alembic", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not (getattr(args, "long_running", False) or getattr(args, "watch", False)):
        # A one-off command reports a broker it cannot reach in its own one line; kafka-python
        # would first log every retry of the way there.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    handler: Callable[[argparse.Namespace, Settings], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args, Settings.from_env())
    except DatongError as exc:  # an operator's to fix: the message says what, no traceback
        print(f"datong: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="datong",
        description="datong, the community data-sharing hub. Every command reads its settings "
        "from DATONG_* variables; unset ones take the embedded defaults.",
    )
    sub = parser.add_subparsers(title="commands")
    add_hub_commands(sub)
    add_connector_commands(sub)
    add_dlq_commands(sub)
    add_mapping_commands(sub)
    add_key_commands(sub)
    add_admin_commands(sub)
    add_access_commands(sub)
    add_emergency_commands(sub)
    add_topic_commands(sub)
    add_catalog_commands(sub)
    add_request_commands(sub)
    return parser
