"""Commands that run the hub's processes: up, broker, worker, api."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from services.cli.demo import DemoFeed, add_demo_arguments, add_demo_commands
from services.errors import DatongError
from services.settings import Settings

# What `datong up` runs beside the broker: merge worker, feed quality consumer, API.
HUB_PROCESSES = ("worker", "quality", "api")


def add_hub_commands(sub: Any) -> None:
    """Add these commands to the ``datong`` parser's subcommands."""
    up = sub.add_parser(
        "up",
        help="broker, merge worker, feed quality consumer and API together on embedded defaults",
    )
    up.add_argument(
        "--demo",
        action="store_true",
        help="generate the demo community and feed it through every connector",
    )
    add_demo_arguments(up)
    up.set_defaults(handler=cmd_up, long_running=True)

    add_demo_commands(sub)

    broker = sub.add_parser("broker", help="run the embedded Kafka-compatible broker (Tansu)")
    broker.add_argument("--port", type=int, help="listen port (default DATONG_BROKER_PORT, 9092)")
    broker.set_defaults(handler=cmd_broker, long_running=True)

    worker = sub.add_parser("worker", help="run one merge worker")
    worker.set_defaults(handler=cmd_worker, long_running=True)

    quality = sub.add_parser("quality", help="count the feeds into their quality scorecards")
    quality.set_defaults(handler=cmd_quality, long_running=True)

    api = sub.add_parser("api", help="run the HTTP API")
    api.set_defaults(handler=cmd_api, long_running=True)


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
    # Until faust's worker takes SIGTERM over (it finishes the batch in hand, then stops),
    # nothing has been merged: a stop then is a clean exit, not death by the signal's
    # default action (which `datong up`, stopping everything at once, reported as a failure).
    signal.signal(signal.SIGTERM, _exit_before_start)
    from services.worker import run_worker

    run_worker(settings)
    return 0


def _exit_before_start(_signum: int, _frame: object) -> None:
    # os._exit, not SystemExit: the handler runs wherever the main thread is, and a
    # SystemExit raised inside a garbage-collector callback or a __del__ is printed and
    # dropped, so the worker went on starting with the stop lost (a hang, under load). Before
    # faust runs there is nothing merged, published or committed to finish.
    os.write(2, b"datong worker: stopped before it began to merge\n")
    os._exit(0)


def cmd_quality(_: argparse.Namespace, settings: Settings) -> int:
    """Run the feed quality consumer (the scorecards' counts)."""
    from services.quality_worker import run_quality

    run_quality(settings)
    return 0


def cmd_api(_: argparse.Namespace, settings: Settings) -> int:
    """Serve the HTTP API with uvicorn."""
    from services.access import holiday_calendar
    from services.access.working_days import require_current_year
    from services.api.app import create_api
    from services.api.server import serve
    from services.store.database import create_engine, create_schema

    # Sharing deadlines count working days on this year's calendar: refuse without it.
    calendar = holiday_calendar.load(settings.holiday_calendar)
    require_current_year(calendar)
    if settings.embedded_broker:  # a development hub: it may make its own keys
        settings = settings.with_dev_keys()
    # No pre-ping: a round trip before every read; a read retries a dead connection once.
    engine = create_engine(settings.database_url, pre_ping=False)
    create_schema(engine)
    serve(create_api(settings, engine, calendar=calendar), settings.api_host, settings.api_port)
    return 0


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    """Start broker, worker and API; print where they listen; stop all on Ctrl-C or SIGTERM.

    A stop is passed on as SIGTERM (the demo's connectors first, then the worker and the
    API; each finishes its batch), and ``up`` exits 0 once all of them stopped cleanly.
    """
    from services.access import holiday_calendar
    from services.access.working_days import require_current_year
    from services.broker import EmbeddedBroker
    from services.store.database import create_engine, create_schema

    # Before anything starts: the API would refuse to.
    require_current_year(holiday_calendar.load(settings.holiday_calendar))
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    # The development hub makes its keys once under var/keys/, where its API, worker and
    # demo connectors (started below) find them.
    settings = settings.with_dev_keys()
    create_schema(create_engine(settings.database_url))
    broker = None
    if settings.embedded_broker:
        broker = EmbeddedBroker(settings.broker_port, log_path=settings.var_dir / "broker.log")
        broker.start()
    processes = _Processes()
    processes.stop_on_signals()
    try:
        env = {
            **os.environ,
            "DATONG_VAR_DIR": str(settings.var_dir),
            "DATONG_KAFKA_BOOTSTRAP": settings.bootstrap,
            # The children see a bootstrap address, which alone would mean production:
            # topics required, /metrics behind a token, PostgreSQL over verified TLS.
            "DATONG_TOPICS": settings.topics,
            "DATONG_METRICS_AUTH": settings.metrics_auth,
            "DATONG_DATABASE_TLS": settings.database_tls,
        }
        children = [processes.start([command], env) for command in HUB_PROCESSES]
        demo = DemoFeed(args, settings, env, processes) if args.demo else None
        if demo is not None:
            demo.start()
        if not processes.stopping:
            _print_urls(settings)
        while not processes.stopping and all(child.poll() is None for child in children):
            if demo is not None:
                demo.advance()
            processes.stopped.wait(0.5)
        if not processes.stopping:
            failed = [
                name
                for name, c in zip(HUB_PROCESSES, children, strict=True)
                if c.poll() not in (None, 0)
            ]
            raise DatongError(f"{', '.join(failed) or 'a process'} exited; see the log above")
    finally:
        unclean = processes.stop_all()
        if broker is not None:
            broker.stop()
    if unclean:
        raise DatongError(f"{', '.join(unclean)} did not stop cleanly; see the log above")
    return 0


class _Processes:
    """The processes ``up`` started, and the stop it passes on to them.

    The demo's connectors (feeders) stop first: a connector finishing its batch still asks
    the API's schema registry for ids, so the API and the worker stop after them.
    """

    GRACE_S = 20.0  # per tier, then SIGKILL

    def __init__(self) -> None:
        self.hub: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.feeders: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stopped = threading.Event()

    @property
    def stopping(self) -> bool:
        """A stop was asked for (Ctrl-C or SIGTERM)."""
        return self.stopped.is_set()

    def start(
        self, command: list[str], env: dict[str, str], *, feeder: bool = False
    ) -> subprocess.Popen[bytes]:
        """Start ``datong <command>``; a ``feeder`` is stopped before the hub's processes."""
        process = subprocess.Popen([sys.executable, "-m", "services.cli", *command], env=env)
        (self.feeders if feeder else self.hub).append((" ".join(command[:3]), process))
        return process

    def stop_on_signals(self) -> None:
        """Remember a SIGTERM or Ctrl-C and pass it on to the feeders at once (the main loop
        then stops the rest, in order)."""

        def handle(signum: int, _frame: object) -> None:
            self.stopped.set()
            _terminate(self.feeders)

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    def stop_all(self) -> list[str]:
        """Stop the feeders, then the hub's processes (SIGTERM, then SIGKILL after
        ``GRACE_S``); return those that did not end with 0 once asked to stop."""
        unclean = []
        for tier in (self.feeders, self.hub):
            _terminate(tier)
            for name, process in tier:
                try:
                    code = process.wait(self.GRACE_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    code = process.wait()
                if code != 0 and self.stopping:
                    unclean.append(f"{name} ({code})")
        return unclean


def _terminate(processes: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for _, process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)


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
  quality metrics http://{settings.api_host}:{settings.quality_metrics_port}/metrics
  feed quality    {base}/quality
  schema registry {settings.registry_http_url}
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
