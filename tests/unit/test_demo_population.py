"""The synthetic demo community: seeded, realistic, and counted exactly by its manifest."""

from __future__ import annotations

import itertools
import random
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.demo import Manifest, build_population, generate
from connectors.demo.housing import build_communities
from connectors.demo.model import ELDERLY_AGE, MeterReading, Population, age_of
from connectors.demo.population import AS_OF
from connectors.errors import RecordError
from connectors.gazetteer import Gazetteer
from connectors.identity import birth_of, check_digit, gender_of, normalize_id
from connectors.mappings.loader import department_spec
from connectors.mappings.mapper import DepartmentMapper
from connectors.sources.drop_folder import open_file
from tests.support.stores import connector_state

SEED = 7
ID_COLUMNS = {
    "公民身份号码",
    "证件号码",
    "受种者身份证号",
    "身份证号码",
    "当事人身份证号",
    "对象身份证号",
}
NAME_COLUMNS = {"姓名", "受种者姓名", "收货人", "户名", "网格员"}
PHONE_COLUMNS = {"联系电话"}


@pytest.fixture(scope="module")
def population() -> Population:
    """Two communities of 3,000 residents: enough for every kind of case to show up."""
    return build_population(2, 3000, SEED)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    """A small generated demo folder and its manifest."""
    out = tmp_path_factory.mktemp("demo")
    return out, generate(out, 1, 300, SEED)


def cells(path: Path) -> Iterator[dict[str, str | None]]:
    """The fields of every row the product's file source reads from an export."""
    for record in open_file(path).records(None):
        yield dict(record.fields)


def water(population: Population) -> dict[str, list[MeterReading]]:
    """Water readings by dwelling, in time order."""
    by_home: dict[str, list[MeterReading]] = {}
    for reading in population.readings:
        if reading.kind == "WATER":
            by_home.setdefault(reading.dwelling_id, []).append(reading)
    return by_home


# --- determinism ---------------------------------------------------------------------------


def test_the_same_arguments_give_the_same_population_and_another_seed_another() -> None:
    assert build_population(1, 400, 3) == build_population(1, 400, 3)
    assert build_population(1, 400, 3).residents != build_population(1, 400, 4).residents


def test_the_same_arguments_write_the_same_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", 1, 300, SEED)
    second = generate(tmp_path / "b", 1, 300, SEED)
    assert first == second
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*"))
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*"))
    for name in files:
        if (tmp_path / "a" / name).is_file():
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_workbooks_carry_no_time_of_their_writing(demo: tuple[Path, Manifest]) -> None:
    # openpyxl stamps the current time into the zip entries and the document properties.
    out, manifest = demo
    workbooks = [out / f.path for f in manifest.files if f.format == "xlsx"]
    assert workbooks
    for path in workbooks:
        with zipfile.ZipFile(path) as book:
            assert {entry.date_time for entry in book.infolist()} == {(1980, 1, 1, 0, 0, 0)}
            properties = book.read("docProps/core.xml").decode()
        stamps = re.findall(r"<dcterms:(?:created|modified)[^>]*>([^<]*)<", properties)
        assert stamps == ["2024-06-03T01:00:00Z"] * 2


def test_fewer_residents_than_communities_is_refused() -> None:
    with pytest.raises(ValueError, match="residents"):
        build_population(3, 2, SEED)


# --- people --------------------------------------------------------------------------------


def test_resident_ids_are_valid_unique_and_agree_with_birth_date_and_gender(
    population: Population,
) -> None:
    ids = [r.id_number for r in population.residents]
    assert len(set(ids)) == len(ids) == 3000
    for person in population.residents:
        assert normalize_id(person.id_number, "id") == person.id_number
        assert birth_of(person.id_number, "id") == person.birth_date
        assert gender_of(person.id_number) == person.gender
    phones = [r.phone for r in population.residents if r.phone]
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"1[3-9]\d{9}", phone) for phone in phones)


def test_surnames_follow_the_census_ranking(population: Population) -> None:
    surnames = Counter(r.name[0] for r in population.residents)
    top = {name for name, _ in surnames.most_common(3)}
    assert top <= {"王", "李", "张", "刘"}
    assert len(surnames) >= 60
    assert all(2 <= len(r.name) <= 4 for r in population.residents)


def test_the_age_pyramid_is_an_old_community_with_elderly_living_alone(
    population: Population,
) -> None:
    ages = [age_of(r.birth_date, AS_OF) for r in population.residents]
    elderly_share = sum(1 for age in ages if age >= ELDERLY_AGE) / len(ages)
    assert 0.25 <= elderly_share <= 0.45
    assert min(ages) == 0 and max(ages) >= 90
    households = {h.household_no: h for h in population.households}
    alone = [r for r in population.residents if r.living_alone]
    elderly_alone = [r for r in alone if age_of(r.birth_date, AS_OF) >= ELDERLY_AGE]
    assert len(elderly_alone) >= 0.03 * len(population.residents)
    assert all(households[r.household_no].members == (r.id_number,) for r in alone)


def test_every_household_has_its_own_dwelling_and_some_dwellings_stand_empty(
    population: Population,
) -> None:
    homes = [h.dwelling_id for h in population.households]
    assert len(set(homes)) == len(homes)
    assert len(population.dwellings) > len(homes)
    members = sum(len(h.members) for h in population.households)
    assert members == len(population.residents)


def test_disabled_residents_and_allowance_recipients_are_assessed(
    population: Population,
) -> None:
    assessed = {a.id_number: a for a in population.assessments}
    disabled = [r for r in population.residents if r.disability_grade != "NONE"]
    assert 0.03 <= len(disabled) / len(population.residents) <= 0.12
    for person in disabled:
        assert assessed[person.id_number].disability_grade == person.disability_grade
    for person in population.residents:
        if person.subsistence_allowance:
            assert (assessed[person.id_number].allowance_fen or 0) > 0


# --- what the departments saw --------------------------------------------------------------


def test_home_quarantine_is_served_in_a_shared_dwelling_without_a_separate_bathroom(
    population: Population,
) -> None:
    homes = {d.dwelling_id: d for d in population.dwellings}
    sizes = {h.dwelling_id: len(h.members) for h in population.households}
    kinds = Counter(q.kind for q in population.quarantines)
    assert kinds["HOME"] and kinds["CENTRALIZED"]
    risky = [
        q
        for q in population.quarantines
        if q.kind == "HOME"
        and q.dwelling_id
        and not homes[q.dwelling_id].has_separate_bathroom
        and sizes[q.dwelling_id] > 1
        and q.lifted_at is None
    ]
    assert risky
    for order in population.quarantines:
        assert (order.kind == "HOME") == (order.dwelling_id is not None)
        assert (order.kind == "CENTRALIZED") == (order.facility is not None)
        assert order.starts_at < order.planned_end_at


def test_water_meters_have_gaps_in_their_readings(population: Population) -> None:
    longest = {
        home: max(b.read_at - a.read_at for a, b in itertools.pairwise(readings))
        for home, readings in water(population).items()
    }
    gapped = [home for home, step in longest.items() if step > timedelta(hours=6)]
    assert 0 < len(gapped) < 0.2 * len(longest)


def test_some_elderly_living_alone_have_used_no_water_for_more_than_a_day(
    population: Population,
) -> None:
    readings = water(population)
    alone = {
        r.dwelling_id
        for r in population.residents
        if r.living_alone and age_of(r.birth_date, AS_OF) >= ELDERLY_AGE
    }

    def last_use(home: str) -> datetime:
        series = readings[home]
        rises = [b.read_at for a, b in itertools.pairwise(series) if b.value > a.value]
        return max(rises, default=series[0].read_at)

    silent = [home for home in alone if AS_OF - last_use(home) > timedelta(hours=24)]
    assert 0 < len(silent) < len(alone)


def test_some_deliveries_for_quarantined_households_are_overdue(population: Population) -> None:
    for_quarantine = [d for d in population.deliveries if d.for_quarantine]
    overdue = [d for d in for_quarantine if d.fulfilled_at is None and d.due_at < AS_OF]
    assert overdue and len(overdue) < len(for_quarantine)
    assert all(d.outcome is None for d in population.deliveries if d.fulfilled_at is None)


def test_renovation_projects_move_forward_through_their_stages(population: Population) -> None:
    stages = ("PLANNED", "DESIGN", "TENDERING", "CONSTRUCTION", "ACCEPTANCE", "COMPLETED")
    projects: dict[str, list[tuple[int, int]]] = {}
    for report in population.renovations:
        projects.setdefault(report.project_id, []).append(
            (stages.index(report.stage), report.percent)
        )
    assert projects
    for history in projects.values():
        assert history == sorted(history)


def test_grid_tasks_follow_the_reports_that_need_follow_up(population: Population) -> None:
    follow_ups = [r for r in population.grid_reports if r.follow_up]
    assert len(population.grid_tasks) == len(follow_ups) > 0
    assert {r.kind for r in population.grid_reports} == {"INSPECTION", "INCIDENT", "VISIT"}
    assert any(t.completed_at is None for t in population.grid_tasks)


def test_many_communities_get_distinct_codes_and_names() -> None:
    communities = build_communities(40, random.Random(1))
    assert len({c.code for c in communities}) == 40
    assert len({c.name for c in communities}) == 40
    assert all(re.fullmatch(r"\d{12}", c.code) for c in communities)


# --- the exports and their manifest --------------------------------------------------------


def test_every_department_writes_its_exports_in_its_own_folder(
    demo: tuple[Path, Manifest],
) -> None:
    out, manifest = demo
    assert set(manifest.departments) == {
        "housing", "public-security", "health", "civil-affairs", "grid", "commerce", "utilities",
    }  # fmt: skip
    for counts in manifest.files:
        assert (out / counts.path).parent == out / counts.department
    registry = manifest.for_department("public-security")[0]
    assert (registry.format, registry.encoding) == ("csv", "gb18030")
    formats = {(f.format, f.encoding) for f in manifest.files}
    assert {("csv", "utf-8"), ("csv", "utf-8-sig"), ("xlsx", None)} <= formats


def test_each_file_has_the_rows_the_manifest_counts(demo: tuple[Path, Manifest]) -> None:
    out, manifest = demo
    for counts in manifest.files:
        assert sum(1 for _ in open_file(out / counts.path).records(None)) == counts.rows
        assert counts.published + counts.rejected + counts.parked == counts.rows
    assert manifest.population["residents"] == 300
    dirty = manifest.dirty()
    for reason in ("invalid_id", "bad_date", "missing_field", "formula", "unresolved_address"):
        assert dirty.get(reason, 0) > 0, reason
    total = sum(f.rows for f in manifest.files)
    assert 0.01 <= sum(dirty.values()) / total <= 0.03


def test_only_the_deliberately_dirty_rows_carry_a_wrong_check_digit(
    demo: tuple[Path, Manifest],
) -> None:
    out, manifest = demo
    for counts in manifest.files:
        wrong = 0
        for fields in cells(out / counts.path):
            for column in ID_COLUMNS & set(fields):
                number = fields[column]
                if number and check_digit(number[:17]) != number[17]:
                    wrong += 1
        assert wrong == counts.dirty.get("invalid_id", 0), counts.path


def test_every_row_ends_as_the_manifest_says_when_mapped(
    demo: tuple[Path, Manifest], tmp_path: Path
) -> None:
    out, manifest = demo
    gazetteer = Gazetteer(
        connector_state(sa.create_engine(f"sqlite:///{tmp_path / 'gazetteer.db'}"))
    )
    for counts in manifest.files:  # housing comes first and fills the gazetteer
        spec = department_spec(counts.department.replace("-", "_"))
        mapper = DepartmentMapper(spec, b"k" * 32, gazetteer)
        failed: Counter[str] = Counter()
        events: Counter[str] = Counter()
        for record in open_file(out / counts.path).records(None):
            try:
                if record.error is not None:
                    raise record.error
                events[mapper(record.fields).event] += 1
            except RecordError as error:
                failed[error.code] += 1
        assert dict(failed) == counts.dirty, counts.path
        assert dict(events) == counts.events, counts.path


def test_the_manifest_round_trips_and_holds_no_personal_data(
    demo: tuple[Path, Manifest],
) -> None:
    out, manifest = demo
    assert Manifest.load(out / "manifest.json") == manifest
    text = (out / "manifest.json").read_text(encoding="utf-8")
    population = build_population(1, 300, SEED)
    for person in population.residents:
        assert person.id_number not in text and person.name not in text
        assert not person.phone or person.phone not in text


def test_no_name_occurs_inside_the_other_cells_of_the_exports(
    demo: tuple[Path, Manifest],
) -> None:
    # Otherwise a test that looks for leaked names on the topics could not tell a leak
    # from an address or a summary that happens to contain a name.
    out, manifest = demo
    names = {r.name for r in build_population(1, 300, SEED).residents}
    pattern = re.compile("|".join(sorted(names, key=len, reverse=True)))
    for counts in manifest.files:
        for fields in cells(out / counts.path):
            for column, value in fields.items():
                if column not in NAME_COLUMNS and value:
                    assert not pattern.search(value), f"{counts.path} {column}"
