"""The demo community generated against a clock: its events fill the week up to that moment.

The oracle is the rule itself, read off the exports the connectors are fed: every event
mapped from a clean row happened before the clock, every one of the seven days before it
has events, and the departments that stream during the day (health, commerce, grid,
utilities) sent their newest event less than a day before it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.dates import CHINA
from connectors.demo import Manifest, build_population, generate
from connectors.errors import RecordError
from connectors.gazetteer import Gazetteer
from connectors.mappings.loader import department_spec
from connectors.mappings.mapper import DepartmentMapper
from connectors.sources.drop_folder import open_file
from tests.support.stores import connector_state

SEED = 11
CLOCK = datetime(2026, 3, 10, 15, 30, 12, tzinfo=CHINA)
STREAMING = ("health", "commerce", "grid", "utilities")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    """A small demo whose exports were taken at CLOCK."""
    out = tmp_path_factory.mktemp("demo")
    return out, generate(out, 1, 300, SEED, as_of=CLOCK)


@pytest.fixture(scope="module")
def event_times(
    demo: tuple[Path, Manifest], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[datetime]]:
    """The event time of every event the connectors would publish, by department."""
    out, manifest = demo
    engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('state') / 'state.db'}")
    try:
        gazetteer = Gazetteer(connector_state(engine))
        times: dict[str, list[datetime]] = defaultdict(list)
        for counts in manifest.files:  # housing first: it fills the gazetteer
            mapper = DepartmentMapper(
                department_spec(counts.department.replace("-", "_")), b"k" * 32, gazetteer
            )
            for fields in _clean_rows(out / counts.path):
                try:
                    record = mapper(fields).record
                except RecordError:
                    continue  # a dirty row: dead-lettered, never an event
                times[counts.department].append(_time(record["event_time"]))
        return times
    finally:
        engine.dispose()


def _clean_rows(path: Path) -> Iterator[dict[str, str | None]]:
    for record in open_file(path).records(None):
        if record.error is None:
            yield dict(record.fields)


def _time(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    assert isinstance(value, int), value
    return datetime.fromtimestamp(value / 1000, tz=CHINA)


def test_no_event_of_the_demo_happens_after_its_clock(
    event_times: dict[str, list[datetime]],
) -> None:
    late = {d: max(ts) for d, ts in event_times.items() if max(ts) > CLOCK}
    assert late == {}


def test_every_day_of_the_week_before_the_clock_has_events(
    event_times: dict[str, list[datetime]],
) -> None:
    every = [t for ts in event_times.values() for t in ts]
    for day in range(7):
        start, end = CLOCK - timedelta(days=day + 1), CLOCK - timedelta(days=day)
        assert any(start <= t < end for t in every), f"no event {day}-{day + 1} days back"


def test_the_streaming_departments_sent_their_newest_event_within_a_day_of_the_clock(
    event_times: dict[str, list[datetime]],
) -> None:
    for department in STREAMING:
        newest = max(event_times[department])
        assert CLOCK - newest < timedelta(days=1), (department, newest)


def test_the_manifest_records_the_clock(demo: tuple[Path, Manifest]) -> None:
    out, manifest = demo
    assert datetime.fromisoformat(manifest.as_of) == CLOCK
    assert Manifest.load(out / "manifest.json").as_of == CLOCK.isoformat()


def test_the_same_seed_and_clock_write_the_same_bytes_and_another_clock_other_ones(
    tmp_path: Path,
) -> None:
    first, again, later = (tmp_path / n for n in ("first", "again", "later"))
    generate(first, 1, 60, SEED, as_of=CLOCK)
    generate(again, 1, 60, SEED, as_of=CLOCK)
    generate(later, 1, 60, SEED, as_of=CLOCK + timedelta(days=1))
    assert _contents(first) == _contents(again)
    assert _contents(first) != _contents(later)


def _contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_no_resident_is_registered_after_the_clock() -> None:
    population = build_population(1, 3000, SEED, CLOCK)
    assert max(r.registered_at for r in population.residents) <= CLOCK


def test_a_clock_without_a_time_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="time zone"):
        generate(tmp_path, 1, 60, SEED, as_of=CLOCK.replace(tzinfo=None))
