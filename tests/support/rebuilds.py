"""Driving ``datong views rebuild`` under test: a hub with a merged demo, runs, the shadow."""

from __future__ import annotations

import subprocess

import sqlalchemy as sa

from connectors.base import Event
from tests.support.demo_events import demo_events
from tests.support.hub import Hub
from tests.support.pipeline import deliver
from tests.support.stored_views import shown_rows

RESIDENTS = 60  # a demo community small enough to merge in seconds, with every view in it


def run_rebuild(hub: Hub, *flags: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``datong views rebuild`` to its end: exit status and everything it printed."""
    process = hub.start("views", "rebuild", *flags, long_running=False, env=env)
    code = process.wait(300)
    return code, output_of(hub, process)


def output_of(hub: Hub, process: subprocess.Popen[bytes]) -> str:
    """Everything a ``datong views`` process the hub started has printed so far."""
    index = hub.processes.index(process)
    return (hub.tmp / f"views-{index}.log").read_text(errors="replace")


def merge_demo(hub: Hub) -> list[Event]:
    """Start the hub's worker, feed it a small demo community and wait until it merged,
    folded and published all of it; the events fed."""
    _, events = demo_events(residents=RESIDENTS)
    hub.start("worker")
    deliver(hub, list(events))
    hub.wait_for(lambda: _settled(hub) and _shown_count(hub) >= RESIDENTS // 2, "the demo merged")
    return list(events)


def shadow_rows(url: str) -> int:
    """How many view rows the rebuild's store holds (0 before it exists)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM view_row")).scalar() or 0)
    except sa.exc.SQLAlchemyError:
        return 0  # not created or not migrated yet
    finally:
        engine.dispose()


def _settled(hub: Hub) -> bool:
    """The worker has merged and folded everything: no pending delta, nothing unpublished."""
    engine = sa.create_engine(hub.settings.database_url)
    try:
        with engine.connect() as conn:
            pending = conn.execute(
                sa.text(
                    "SELECT (SELECT count(*) FROM community_delta) + (SELECT count(*) FROM outbox)"
                )
            ).scalar()
            rows = conn.execute(sa.text("SELECT count(*) FROM view_row")).scalar()
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()
    return pending == 0 and bool(rows)


def _shown_count(hub: Hub) -> int:
    return sum(len(rows) for rows in shown_rows(hub.settings.database_url).values())
