"""The read audit is a hash chain: ``datong audit verify`` passes an intact store and names
the first record of a copy in which one was edited, deleted or inserted."""

from __future__ import annotations

import base64
import json
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
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
    settings = Settings.from_env(
        {"DATONG_VAR_DIR": str(tmp), "DATONG_DATABASE_URL": url}
    ).with_dev_keys()
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


# --- signed exports, checked offline ----------------------------------------------------------

SEED = bytes(range(32))


def public_key(seed: bytes) -> str:
    raw = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    return base64.b64encode(raw).decode()


def export(
    store: Path, out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    monkeypatch.setenv("DATONG_DATABASE_URL", f"sqlite:///{store}")
    monkeypatch.setenv("DATONG_VAR_DIR", str(store.parent))
    monkeypatch.setenv("DATONG_AUDIT_SIGNING_KEY", base64.b64encode(SEED).decode())
    assert main(["audit", "export", "--since", "2000-01-01T00:00", "--out", str(out)]) == 0
    told = capsys.readouterr().err
    assert public_key(SEED) in told  # the command says how to check it
    return out.read_text().splitlines(keepends=True)


def verify_offline(
    path: Path, key: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    # No database: the export alone is checked.
    monkeypatch.setenv("DATONG_DATABASE_URL", f"sqlite:///{path.parent / 'absent' / 'no.db'}")
    code = main(["audit", "verify", "--export", str(path), "--public-key", key])
    return code, capsys.readouterr().out


def test_an_export_verifies_offline_with_the_signers_public_key(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = export(store, tmp_path / "audit.jsonl", monkeypatch, capsys)
    assert len(lines) == 6  # five records and the signed head
    code, out = verify_offline(tmp_path / "audit.jsonl", public_key(SEED), capsys, monkeypatch)
    assert code == 0, out
    assert "audit chain intact: 5 records" in out
    assert not (tmp_path / "absent").exists()


def edit_rows(lines: list[str]) -> list[str]:
    record = json.loads(lines[1])
    record["rows"] = 0
    return [lines[0], json.dumps(record) + "\n", *lines[2:]]


Edit = Callable[[list[str]], list[str]]


@pytest.mark.parametrize(
    "edit",
    [
        (edit_rows, "2"),
        (lambda lines: [lines[0], *lines[2:]], "3"),  # a line dropped
        (lambda lines: [lines[0], lines[1], lines[1], *lines[2:]], "2"),  # a line repeated
        (lambda lines: lines[:-2] + lines[-1:], "5"),  # the last record dropped
        (lambda lines: lines[:-1], "None"),  # the signed head cut off
    ],
)
def test_an_edited_export_fails_naming_the_first_broken_record(
    store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    edit: tuple[Edit, str],
) -> None:
    change, broken_at = edit
    lines = export(store, tmp_path / "audit.jsonl", monkeypatch, capsys)
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(change(lines)))
    code, out = verify_offline(edited, public_key(SEED), capsys, monkeypatch)
    assert code == 1, out
    assert f"audit chain broken at record {broken_at}:" in out


def test_an_export_does_not_verify_with_another_key(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    export(store, tmp_path / "audit.jsonl", monkeypatch, capsys)
    code, out = verify_offline(tmp_path / "audit.jsonl", public_key(bytes(32)), capsys, monkeypatch)
    assert code == 1
    assert "signature does not verify" in out
