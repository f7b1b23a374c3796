"""Polls the stored view rows while a fault runs: per-field versions must never go backwards."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from services.merge.state import row_of
from services.store.models import ViewRow

Version = tuple[int, str]  # event_time_ms, event_id


@dataclass
class MonitorReport:
    """What the polls saw."""

    polls: int = 0
    failed_polls: int = 0  # the database was unreachable (a fault may do that)
    keys: int = 0
    backwards: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.polls} polls ({self.failed_polls} failed) over {self.keys} keys, "
            f"{len(self.backwards)} versions backwards"
        )


class VersionMonitor:
    """A thread that reads every row's provenance between writes and compares it to before.

    A field's version is its (event_time_ms, event_id); a newer poll must show the same or a
    newer one for every field it ever showed, and every row it ever showed.
    """

    def __init__(
        self, database_url: str, view: str = "resident_profile", interval_s: float = 0.3
    ) -> None:
        options = {"connect_args": {"application_name": "datong-fault-monitor"}}
        postgres = sa.engine.make_url(database_url).get_backend_name() == "postgresql"
        self._engine = sa.create_engine(database_url, **(options if postgres else {}))
        self._view = view
        self._interval_s = interval_s
        self._seen: dict[tuple[str, str], Version] = {}
        self._stop = threading.Event()
        self._report = MonitorReport()
        self._thread = threading.Thread(target=self._run, daemon=True, name="version-monitor")

    def __enter__(self) -> VersionMonitor:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> VersionMonitor:
        """Start polling."""
        self._thread.start()
        return self

    def stop(self) -> MonitorReport:
        """Poll once more, stop, and return what was seen."""
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join(30)
            self._poll()
            self._engine.dispose()
        return self._report

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._poll()

    def _poll(self) -> None:
        # The merge state's versions: a shown record drops the provenance of what an erasure
        # cleared, the merge state (the record's beside the state's) keeps every field's.
        query = sa.select(
            ViewRow.key, ViewRow.state, ViewRow.data, ViewRow.provenance, ViewRow.visible
        ).where(ViewRow.view == self._view)
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError:
            self._report.failed_polls += 1
            return
        current: dict[tuple[str, str], Version] = {}
        for key, state, data, provenance, visible in rows:
            record = data if data or visible else None
            row = row_of(self._view, key, state, record, provenance)
            for name, source in row.provenance.items():
                current[(key, name)] = source.version
        for where, before in self._seen.items():
            now = current.get(where)
            if now is None or now < before:
                self._report.backwards.append(f"{where[0][:12]}.{where[1]}: {before} -> {now}")
        self._seen.update(current)
        self._report.polls += 1
        self._report.keys = len({key for key, _ in self._seen})
