"""``datong requests``: a request filed, reviewed and answered from the hub's terminal, an
overdue one listed by ``--overdue``, and a step not allowed refused in one line (exit 2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas.catalog import Catalog
from services.access import holiday_calendar, working_days
from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
from services.access.request_steps import file_request
from services.access.request_store import add_request, live_grants
from services.access.sharing_requests import Actor, Filing
from services.access.working_days import WorkingCalendar
from services.cli import main
from services.settings import Settings
from services.store.database import create_engine, create_schema

pytestmark = pytest.mark.integration

CIVIL = "audience:civil-affairs"


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DATONG_DATABASE_URL", database_url)
    monkeypatch.setenv("DATONG_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATONG_POLICY_FILE", raising=False)
    return Settings.from_env().with_dev_keys()


def datong(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_request_is_filed_reviewed_and_granted_from_the_terminal(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = datong(
        capsys,
        "requests",
        "file",
        "--as",
        CIVIL,
        "--audience",
        "civil-affairs",
        "--view",
        "resident_profile",
        "--fields",
        "health_status,latest_test_result",
        "--purpose",
        "welfare visits",
        "--scenario",
        "winter",
        "--days",
        "30",
    )
    assert code == 0
    request_id = out.strip()
    assert datong(capsys, "requests", "review", request_id)[1].split() == [request_id, "forwarded"]
    code, _, err = datong(capsys, "requests", "grant", request_id, "--fields", "health_status")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "health" in err
    code, out, _ = datong(
        capsys,
        "requests",
        "grant",
        request_id,
        "--as",
        "department:health",
        "--fields",
        "health_status",
    )
    assert code == 0, out
    code, out, _ = datong(capsys, "requests", "show", request_id)
    shown = json.loads(out)
    assert {f["name"]: f["decision"] for f in shown["fields"]} == {
        "health_status": "granted",
        "latest_test_result": "pending",
    }
    engine = create_engine(env.database_url)
    try:
        grants = live_grants(engine, datetime.now(UTC))
    finally:
        engine.dispose()
    assert [(g.audience, sorted(g.fields)) for g in grants] == [
        ("civil-affairs", ["health_status"])
    ]


def test_list_overdue_shows_a_review_past_its_two_working_days(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    contracts = Catalog.load()
    policy = load_policy(DEFAULT_POLICY_FILE, contracts)
    owners = next(v for v in contracts.views() if v.view == "resident_profile").field_owners
    filing = Filing("civil-affairs", "resident_profile", ("health_status",), "p", "s", 366)
    by = Actor("t", "civil", "civil-affairs", None)
    env_calendar = holiday_calendar.load(env.holiday_calendar)
    # Filed Wed 2 December 2026: the review was due Fri 4 December; days later it is late.
    filed_at = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    late = file_request(
        filing, by, policy, owners, "req-late", now=filed_at, calendar=WorkingCalendar()
    )
    engine = create_engine(env.database_url)
    try:
        create_schema(engine)
        add_request(engine, late, by)
        new = file_request(
            filing, by, policy, owners, "req-new", now=datetime.now(UTC), calendar=env_calendar
        )
        add_request(engine, new, by)
    finally:
        engine.dispose()
    code, out, _ = datong(capsys, "requests", "list", "--overdue")
    assert code == 0
    assert "req-late" in out and "OVERDUE review:datong" in out
    assert "req-new" not in out


def test_an_operator_token_is_a_token_of_the_hubs_own_department(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, secret, made = datong(capsys, "tokens", "create", "--operator", "--name", "operator")
    assert code == 0 and secret.strip().startswith("datong_")
    assert "department datong" in made


@pytest.mark.parametrize("command", ["api", "up"])
def test_the_hub_refuses_to_start_in_a_year_its_calendar_does_not_cover(
    env: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # The installed package as if it stopped at 2019, and no holiday calendar file: this
    # year is in neither.
    monkeypatch.setattr(working_days, "package_years", lambda: range(2004, 2020))
    monkeypatch.delenv("DATONG_HOLIDAY_CALENDAR", raising=False)
    code, _, err = datong(capsys, command)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "chinese-calendar" in err and "upgrade" in err
    assert "DATONG_HOLIDAY_CALENDAR" in err


@pytest.mark.parametrize("command", ["api", "up"])
def test_the_hub_refuses_to_start_on_a_malformed_holiday_calendar_naming_the_entry(
    env: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    command: str,
) -> None:
    notices = tmp_path / "holidays.yaml"
    # Fri 19 February is a weekday: listing it as a swapped working day is a mistake.
    notices.write_text("2027:\n  holidays: [2027-01-01]\n  working_days: [2027-02-19]\n")
    monkeypatch.setenv("DATONG_HOLIDAY_CALENDAR", str(notices))
    code, _, err = datong(capsys, command)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert str(notices) in err and "2027" in err and "2027-02-19" in err


def test_a_request_filed_from_the_terminal_is_due_on_the_operators_holiday_calendar(
    env: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Test data: every weekday of the next two weeks in Beijing entered as a holiday, each
    # year of the next 40 days in the file (so it, not the package, decides them all).
    today = working_days.beijing_day(datetime.now(UTC))
    off = [today + timedelta(days=n) for n in range(1, 15)]
    off = [day for day in off if day.weekday() < 5]
    years = sorted({(today + timedelta(days=n)).year for n in range(40)})
    notices = env.var_dir / "holidays.yaml"
    notices.write_text(
        "".join(
            f"{year}:\n  holidays: [{', '.join(d.isoformat() for d in off if d.year == year)}]"
            "\n  working_days: []\n"
            for year in years
        )
    )
    monkeypatch.setenv("DATONG_HOLIDAY_CALENDAR", str(notices))
    # The oracle: the second Monday-to-Friday day after the last listed holiday's fortnight.
    day, counted = today + timedelta(days=14), 0
    while counted < 2:
        day += timedelta(days=1)
        counted += day.weekday() < 5
    code, out, _ = datong(
        capsys,
        "requests",
        "file",
        "--as",
        CIVIL,
        "--audience",
        "civil-affairs",
        "--view",
        "resident_profile",
        "--fields",
        "health_status",
        "--purpose",
        "welfare visits",
        "--scenario",
        "winter",
        "--days",
        "30",
    )
    assert code == 0
    shown = json.loads(datong(capsys, "requests", "show", out.strip())[1])
    assert shown["review_due"] == {"day": day.isoformat(), "provisional": False}
