"""The read audit is a hash chain: ``datong audit verify`` passes an intact store and names
the first record of a copy in which one was edited, deleted or inserted."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from services.access.audit import ReadEntry, record_reads, verify_reads
from services.access.audit_chain import ChainBreak, ChainReport
from services.access.tokens import create_token
from services.api.app import create_api
from services.cli import main
from services.settings import Settings
from services.store.database import create_engine, create_schema
from tests.support.view_rows import seed_rows, store_rows

pytestmark = pytest.mark.integration

HOME = "110105001001"


def real_store(path: Path, tmp: Path) -> None:
    """A view store whose audit was written by the API answering real reads."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    create_schema(engine)
    rows = seed_rows([HOME], per_community=3)
    store_rows(engine, rows)
    settings = Settings.from_env({"DATONG_VAR_DIR": str(tmp), "DATONG_DATABASE_URL": url})
    secret = create_token(engine, audience="health-department").secret
    headers = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_api(settings, engine)) as client:
        for row in rows:
            if row.view == "resident_profile":
                assert client.get(f"/views/resident_profile/{row.key}", headers=headers).is_success
        assert client.get("/views/alert", headers=headers, params={"limit": "2"}).is_success
        assert (
            client.get("/views/resident_profile/nothing-here", headers=headers).status_code == 404
        )
    engine.dispose()


def verify(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.setenv("DATONG_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("DATONG_VAR_DIR", str(path.parent))
    code = main(["audit", "verify"])
    return code, capsys.readouterr().out


def tampered(original: Path, name: str, *statements: str) -> Path:
    """A copy of the store with ``statements`` run on it, as someone with the file could."""
    copy = original.with_name(f"{name}.db")
    shutil.copy(original, copy)
    engine = sa.create_engine(f"sqlite:///{copy}")
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    engine.dispose()
    return copy


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "views.db"
    real_store(path, tmp_path)
    return path


def test_an_intact_audit_verifies_with_each_days_head(
    store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(store, monkeypatch, capsys)
    assert code == 0, out
    assert "audit chain intact: 5 records" in out
    assert " head " in out


@pytest.mark.parametrize(
    "tampering",
    [
        ("edited", ["UPDATE read_audit SET rows = 0 WHERE id = 2"], 2),
        ("key-edited", ["UPDATE read_audit SET key = 'someone-else' WHERE id = 3"], 3),
        ("deleted", ["DELETE FROM read_audit WHERE id = 2"], 3),
        ("first-deleted", ["DELETE FROM read_audit WHERE id = 1"], 2),
        ("last-deleted", ["DELETE FROM read_audit WHERE id = 5"], 5),
        (
            "inserted",
            [
                "INSERT INTO read_audit (id, at, token_id, token_name, audience, purpose, view,"
                " operation, key, query, rows, status, prev_sha256, sha256)"
                " SELECT 99, at, token_id, token_name, audience, purpose, view, operation, key,"
                " query, rows, status, prev_sha256, sha256 FROM read_audit WHERE id = 5",
            ],
            99,
        ),
        (
            "inserted-between",
            [
                "UPDATE read_audit SET id = id + 100 WHERE id >= 3",
                "INSERT INTO read_audit (id, at, token_id, token_name, audience, purpose, view,"
                " operation, key, query, rows, status, prev_sha256, sha256)"
                " SELECT 3, at, token_id, token_name, audience, purpose, view, operation, key,"
                " query, rows, status, prev_sha256, sha256 FROM read_audit WHERE id = 2",
            ],
            3,
        ),
    ],
)
def test_a_copy_with_an_edited_deleted_or_inserted_record_fails_naming_it(
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tampering: tuple[str, list[str], int],
) -> None:
    name, statements, broken_at = tampering
    copy = tampered(store, name, *statements)
    code, out = verify(copy, monkeypatch, capsys)
    assert code == 1, out
    assert f"audit chain broken at record {broken_at}:" in out


def test_concurrent_writers_keep_one_chain(database_url: str) -> None:
    engine = create_engine(database_url)
    create_schema(engine)
    secret_holder = create_token(engine, audience="health-department").info

    def writer(n: int) -> Callable[[], None]:
        def write() -> None:
            for i in range(10):
                entry = ReadEntry(
                    secret_holder.id,
                    "t",
                    "health-department",
                    "p",
                    "alert",
                    "list",
                    None,
                    {"n": n, "i": i},
                    1,
                    200,
                )
                record_reads(engine, [entry, entry])

        return write

    threads = [threading.Thread(target=writer(n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    result = verify_reads(engine)
    engine.dispose()
    assert not isinstance(result, ChainBreak), result
    assert isinstance(result, ChainReport) and result.records == 80
