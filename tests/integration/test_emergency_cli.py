"""The operator's ``datong emergency`` on a real view database, against an API reading the same
tables: declared, taken by the API without a restart, ended, listed and reported; refused
for a not_shared field, and an API refusing to start over a stored one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from services.access.tokens import create_token
from services.api.app import create_api
from services.cli import main
from services.errors import ConfigError
from services.settings import Settings
from services.store.database import create_engine, create_schema
from services.store.emergency_models import EmergencyRow
from tests.support.view_rows import seed_rows, store_rows
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

CIVIL = "civil-affairs"
COMMUNITY = "610103001001"


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The CLI's environment: the test database; returns the settings the CLI reads."""
    monkeypatch.setenv("DATONG_DATABASE_URL", database_url)
    monkeypatch.setenv("DATONG_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATONG_POLICY_FILE", raising=False)
    return Settings.from_env().with_dev_keys()


def datong(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_an_operators_emergency_reaches_a_running_api_and_is_reported(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_engine(env.database_url)
    create_schema(engine)
    store_rows(engine, [r for r in seed_rows([COMMUNITY], 2) if r.view == "resident_profile"])
    secret = create_token(engine, audience=CIVIL).secret
    headers = {"Authorization": f"Bearer {secret}"}
    try:
        with TestClient(create_api(env, engine)) as client:
            answered: list[int] = []  # every read's status: the report's oracle

            def status() -> int:
                params = {"fields": "health_status"}
                got = client.get("/views/resident_profile", params=params, headers=headers)
                answered.append(got.status_code)
                return got.status_code

            assert status() == 403
            code, out, err = datong(
                capsys,
                "emergency", "declare", "--reason", "flood: evacuate the sick first",
                "--hours", "24", "--open", f"{CIVIL}:resident_profile=health_status",
            )  # fmt: skip
            assert code == 0, err
            emergency_id = out.strip()
            # At once on PostgreSQL (a notification), within half a second on SQLite.
            wait_for(lambda: status() == 200, 5, what="the API to take the emergency")
            code, out, _ = datong(capsys, "emergency", "list")
            assert code == 0 and emergency_id in out and " open " in out and CIVIL in out
            code, out, err = datong(capsys, "emergency", "end", emergency_id, "--reason", "over")
            assert code == 0 and "ended" in out, err
            wait_for(lambda: status() == 403, 5, what="the API to take the end")
    finally:
        engine.dispose()
    code, out, _ = datong(capsys, "emergency", "report", emergency_id, "--json")
    assert code == 0
    report = json.loads(out)
    assert [c["operation"] for c in report["changes"]] == ["declare", "end"]
    assert report["changes"][0]["by"] == "operator"
    assert report["emergency"]["status"] == "ended"
    # Until the end reached the API, a read went on taking the field: each one counts.
    under = answered.count(200)
    assert under >= 1
    assert report["by_field"] == [
        {"audience": CIVIL, "view": "resident_profile", "field": "health_status",
         "reads": under, "rows": 2 * under},
    ]  # fmt: skip
    code, out, _ = datong(capsys, "emergency", "report", emergency_id)
    assert code == 0 and f"resident_profile.health_status: {under}, {2 * under}" in out
    code, out, _ = datong(capsys, "audit", "--audience", CIVIL)
    flagged = [line for line in out.splitlines() if "under emergency" in line]
    assert len(flagged) == under
    assert all(f.endswith(f"under emergency {emergency_id}") and "rows=2" in f for f in flagged)


def test_a_not_shared_field_is_refused_naming_it_and_nothing_is_stored(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = datong(
        capsys,
        "emergency", "declare", "--reason", "x", "--hours", "1",
        "--open", f"{CIVIL}:resident_profile=household_no",
    )  # fmt: skip
    assert code == 2
    assert "'household_no': is not_shared" in err
    assert f"audiences.{CIVIL}.views.resident_profile.fields" in err
    code, _, err = datong(
        capsys, "emergency", "declare", "--reason", "x", "--hours", "73",
        "--open", f"{CIVIL}:resident_profile=health_status",
    )  # fmt: skip
    assert code == 2 and "hours" in err
    code, out, _ = datong(capsys, "emergency", "list")
    assert code == 0 and out == ""


def test_the_api_refuses_to_start_over_an_open_emergency_with_a_not_shared_field(
    env: Settings,
) -> None:
    # As if the field classes had made the field not_shared after it was declared.
    engine = create_engine(env.database_url)
    create_schema(engine)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        session.add(
            EmergencyRow(
                id="em-stale",
                declared_by="operator",
                reason="old",
                opened_at=now,
                expires_at=now + timedelta(hours=1),
                openings={CIVIL: {"communities": [], "views": {"household": {
                    "fields": ["last_water_reading"]}}}},
                renewals=0,
            )
        )  # fmt: skip
    try:
        with pytest.raises(ConfigError, match=r"em-stale.*last_water_reading.*not_shared"):
            create_api(env, engine)
    finally:
        engine.dispose()
