"""The operator's access commands: ``datong tokens``, ``datong audit`` and ``views get --audience``,
on a real view database, against the API reading the same tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from services.api.app import create_api
from services.cli import main
from services.settings import Settings
from services.store.database import create_engine, create_schema
from tests.support.view_rows import seed_rows, store_rows
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

GRID = "grid-office-110105001001"
HOME, OTHER = "110105001001", "110105001002"


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


def test_a_token_is_shown_once_listed_without_its_secret_and_refused_once_revoked(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, secret, made = datong(capsys, "tokens", "create", "--audience", GRID, "--name", "w7")
    assert code == 0
    secret = secret.strip()
    assert secret.startswith("datong_") and "shown only now" in made
    token_id = made.split()[1]

    code, listing, _ = datong(capsys, "tokens", "list")
    assert code == 0 and secret not in listing
    line = next(row for row in listing.splitlines() if row.startswith(token_id))
    assert "w7" in line and f"audience {GRID}" in line and line.rstrip().endswith("-")

    engine = create_engine(env.database_url)
    with TestClient(create_api(env, engine)) as client:
        headers = {"Authorization": f"Bearer {secret}"}
        assert client.get("/views/resident_profile", headers=headers).status_code == 200
        code, revoked, _ = datong(capsys, "tokens", "revoke", token_id)
        assert code == 0 and token_id in revoked
        # At once on PostgreSQL (a notification), within a second on SQLite (a counter).
        wait_for(
            lambda: client.get("/views/resident_profile", headers=headers).status_code == 401,
            10,
            what="the revoked token to be refused",
        )
    _, listing, _ = datong(capsys, "tokens", "list")
    line = next(row for row in listing.splitlines() if row.startswith(token_id))
    assert not line.rstrip().endswith("-")
    engine.dispose()


def test_tokens_are_made_only_for_known_audiences_and_departments(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = datong(capsys, "tokens", "create", "--audience", "everyone")
    assert code == 2 and out == ""
    assert "no audience 'everyone'" in err and "health-department" in err
    code, out, err = datong(capsys, "tokens", "create", "--department", "police")
    assert code == 2 and out == ""
    assert "no department 'police'" in err and "public-security" in err
    code, _, err = datong(capsys, "tokens", "revoke", "nope")
    assert code == 2 and "no token with id 'nope'" in err
    code, out, _ = datong(capsys, "tokens", "create", "--department", "health")
    assert code == 0 and out.startswith("datong_")


def test_audit_shows_who_read_what_filtered_by_audience_view_and_time(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_engine(env.database_url)
    create_schema(engine)
    rows = seed_rows([HOME, OTHER], per_community=2)
    store_rows(engine, rows)
    _, grid, _ = datong(capsys, "tokens", "create", "--audience", GRID, "--name", "w7")
    _, health, _ = datong(capsys, "tokens", "create", "--audience", "health-department")
    key = next(r.key for r in rows if r.view == "resident_profile" and r.community_code == HOME)
    with TestClient(create_api(env, engine)) as client:
        for secret, path in (
            (grid, f"/views/resident_profile/{key}"),
            (grid, "/views/resident_profile?community=110105001002"),
            (health, "/views/resident_profile?limit=3"),
        ):
            client.get(path, headers={"Authorization": f"Bearer {secret.strip()}"})

    code, out, _ = datong(capsys, "audit", "--audience", GRID)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert f"200  {GRID}  w7" in lines[0] and f"row resident_profile key={key}" in lines[0]
    assert "rows=1" in lines[0] and "purpose: welfare checks" in lines[0]
    # A refused read keeps its route and parameter names, not the community typed.
    assert "403" in lines[1] and "parameters=['community'] route=/views/{view}" in lines[1]
    assert "110105001002" not in lines[1]

    _, out, _ = datong(capsys, "audit", "--view", "resident_profile", "--limit", "1", "--json")
    [newest] = [json.loads(line) for line in out.splitlines()]
    assert newest["audience"] == "health-department" and newest["rows"] == 3
    assert newest["query"] == {"limit": "3"}

    _, out, _ = datong(capsys, "audit", "--since", "2999-01-01T00:00:00")
    assert out == ""
    _, out, _ = datong(capsys, "audit", "--view", "household")
    assert out == ""
    engine.dispose()


def test_views_get_shows_the_whole_row_to_the_operator_and_an_audience_its_share(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_engine(env.database_url)
    create_schema(engine)
    rows = seed_rows([HOME, OTHER], per_community=1)
    store_rows(engine, rows)
    engine.dispose()
    home, other = (
        next(r.key for r in rows if r.view == "resident_profile" and r.community_code == c)
        for c in (HOME, OTHER)
    )

    code, out, _ = datong(capsys, "views", "get", "resident_profile", home)
    assert code == 0 and "household_no" in json.loads(out)

    code, out, _ = datong(capsys, "views", "get", "resident_profile", home, "--audience", GRID)
    shared = json.loads(out)
    assert code == 0 and "household_no" not in shared and shared["name_masked"] == "李*英"
    assert "household_no" not in shared["provenance"]

    code, _, err = datong(capsys, "views", "get", "resident_profile", other, "--audience", GRID)
    assert code == 2 and "no row" in err
    code, _, err = datong(
        capsys, "views", "get", "resident_profile", home, "--audience", "community-dashboard"
    )
    assert code == 2 and "may not read resident_profile" in err
