"""A corpus of bad inputs ends in clear errors or dead letters; nothing valid is lost.

One watching connector is fed every kind of damage departments produce (wrong encoding,
truncation, ragged rows, bad check digits, impossible dates, oversized fields, formulas,
JSON that is not an object); the HTTP intake is fed wrong tokens and non-objects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from connectors.publisher import ERROR_HEADER, KafkaPublisher
from connectors.sources.http_intake import ingest_routes
from schemas.catalog import Catalog
from schemas.serde import Serde
from services.store.database import create_engine, create_schema
from services.store.registry_store import SqlRegistry
from tests.support.factories import (
    REGISTRY_HEADER,
    RegistryRow,
    registry_csv,
    registry_rows,
    resident_id,
    write_registry_csv,
    wrong_check_digit,
)
from tests.support.hub import Hub
from tests.support.topics import read_topic
from tests.support.workbooks import write_xlsx

pytestmark = pytest.mark.integration

TOPIC = "src.public-security.resident-registered"
DLQ = "dlq.public-security"


@dataclass
class Corpus:
    """What was dropped: the serials that must be published, the rejections expected."""

    valid: set[str]
    rejects: set[tuple[str, str, str]]  # (file, position, code)
    failed: set[str]
    secrets: list[str]  # raw values that must appear in no dead-letter header


def rows(count: int, start: int) -> list[RegistryRow]:
    return registry_rows(count, seed=start, start=start)


def build_corpus(drop: Path) -> Corpus:  # noqa: PLR0915 - one paragraph per kind of damage
    corpus = Corpus(set(), set(), set(), [])

    def good(batch: list[RegistryRow]) -> list[RegistryRow]:
        corpus.valid |= {f"public-security:{r.serial}" for r in batch}
        return batch

    def reject(name: str, position: int, code: str) -> None:
        corpus.rejects.add((name, str(position), code))

    # wrong encoding: a GB18030 row inside a UTF-8 file, and a whole file in UTF-16
    mixed = good(rows(3, 100))
    stray = rows(1, 110)
    (drop / "mixed.csv").write_bytes(
        registry_csv(mixed) + registry_csv(stray).split(b"\r\n", 1)[1].decode().encode("gb18030")
    )
    reject("mixed.csv", 4, "bad_encoding")
    (drop / "utf16.csv").write_bytes(registry_csv(rows(3, 120)).decode().encode("utf-16"))
    corpus.failed.add("utf16.csv")

    # truncation: a CSV cut inside a quoted field, a workbook cut in half
    whole = registry_csv(good(rows(4, 200)))
    (drop / "truncated.csv").write_bytes(whole + 'RB9999999,登记,"未写完'.encode())
    reject("truncated.csv", 5, "truncated")
    book = write_xlsx(
        drop / ".tmp.xlsx", [list(REGISTRY_HEADER), *(r.cells() for r in rows(5, 210))]
    )
    (drop / "truncated.xlsx").write_bytes(book.read_bytes()[: book.stat().st_size // 2])
    book.unlink()
    corpus.failed.add("truncated.xlsx")

    # ragged rows: an extra column, and a row that stops after three columns
    ragged = rows(4, 300)
    ragged[1].extra = ["多余"]
    good([ragged[0], ragged[3]])
    short = ",".join(ragged[2].cells()[:3]).encode()
    data = (
        registry_csv([ragged[0], ragged[1]])
        + short
        + b"\r\n"
        + registry_csv([ragged[3]]).split(b"\r\n", 1)[1]
    )
    (drop / "ragged.csv").write_bytes(data)
    reject("ragged.csv", 2, "extra_columns")
    reject("ragged.csv", 3, "missing_field")

    # bad check digits, impossible dates, oversized fields
    checks = rows(4, 400)
    corpus.secrets.append(checks[1].id_number)
    checks[1].id_number = wrong_check_digit(checks[1].id_number)
    corpus.secrets.append(checks[1].id_number)
    checks[2].effective = "2024-02-30 10:00"
    checks[3].address = "长" * 5000
    write_registry_csv(drop / "checks.csv", good([checks[0]]) + checks[1:])
    reject("checks.csv", 2, "invalid_id")
    reject("checks.csv", 3, "bad_date")
    reject("checks.csv", 4, "too_long")

    # formula-looking cells, in CSV and in a workbook (a real formula cell)
    formulas = rows(3, 500)
    formulas[1].name = '=HYPERLINK("http://evil.example","张三")'
    write_registry_csv(drop / "formulas.csv", [*good([formulas[0], formulas[2]]), formulas[1]])
    reject("formulas.csv", 3, "formula")
    in_book = rows(2, 510)
    cells = [list(r.cells()) for r in in_book]
    cells[1][6] = "=1+1"  # 联系电话 as a formula
    write_xlsx(drop / "formulas.xlsx", [list(REGISTRY_HEADER), *cells])
    good([in_book[0]])
    reject("formulas.xlsx", 2, "formula")

    # JSON lines that are not objects
    lines = rows(2, 600)
    objects = [
        json.dumps(dict(zip(REGISTRY_HEADER, r.cells(), strict=True)), ensure_ascii=False)
        for r in good(lines)
    ]
    (drop / "lines.jsonl").write_text(
        "\n".join([objects[0], "[1, 2]", '"登记"', "{broken", objects[1]]), encoding="utf-8"
    )
    reject("lines.jsonl", 2, "not_object")
    reject("lines.jsonl", 3, "not_object")
    reject("lines.jsonl", 4, "bad_json")
    return corpus


def test_a_corpus_of_bad_files_ends_in_dead_letters_and_failed_files_and_nothing_valid_is_lost(
    start_broker: Callable[[], str], make_hub: Callable[..., Hub], tmp_path: Path
) -> None:
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    hub.start("api")  # the connector looks its schema ids up in the API's registry
    drop = tmp_path / "drop"
    drop.mkdir()
    corpus = build_corpus(drop)
    connector = hub.start(
        "connector",
        "run",
        "public-security",
        "--source",
        str(drop),
        "--watch",
        "--interval",
        "0.3",
        long_running=True,
    )
    hub.wait_for(lambda: not any(p.is_file() for p in drop.iterdir()), "every file to be handled")
    assert {p.name for p in (drop / "failed").iterdir()} == corpus.failed

    published = read_topic(bootstrap, TOPIC, expect=len(corpus.valid))
    assert sorted(r.headers["ce_id"].decode() for r in published) == sorted(corpus.valid)
    letters = read_topic(bootstrap, DLQ, expect=len(corpus.rejects))
    found = set()
    for letter in letters:
        headers = {k: v.decode() for k, v in letter.headers.items()}
        found.add(
            (
                headers[ERROR_HEADER + "source"].split("@")[0],
                headers[ERROR_HEADER + "position"],
                headers[ERROR_HEADER + "code"],
            )
        )
        assert headers[ERROR_HEADER + "reason"]
        assert not any(s in v for s in corpus.secrets for v in headers.values())
    assert found == corpus.rejects

    # still running: a good file dropped now is published too
    later = rows(2, 900)
    write_registry_csv(drop / "later.csv", later)
    hub.wait_for((drop / "done" / "later.csv").exists, "a file dropped after the corpus")
    assert connector.poll() is None
    assert len(read_topic(bootstrap, TOPIC, expect=len(corpus.valid) + 2)) == len(corpus.valid) + 2


def test_http_pushes_with_a_wrong_token_or_non_objects_get_clear_errors(
    broker: str, tmp_path: Path
) -> None:
    catalog = Catalog.load()
    engine = create_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    create_schema(engine)
    publisher = KafkaPublisher(broker, Serde(catalog, SqlRegistry(engine)))
    tokens = {
        "health": hashlib.sha256(b"health-secret").hexdigest(),
        "public-security": hashlib.sha256(b"ps-secret").hexdigest(),
    }
    app = Starlette(routes=ingest_routes(lambda: publisher, catalog, b"h" * 32, tokens=tokens))
    url = "/ingest/health/health-status-changed"
    good = {
        "event_id": "H-1",
        "event_time": "2024-03-05T10:00:00+08:00",
        "id_number": resident_id(3, date(1990, 1, 1)),
        "status": "YELLOW",
    }
    with TestClient(app) as client:
        wrong_department = client.post(
            url, json=good, headers={"Authorization": "Bearer ps-secret"}
        )
        assert wrong_department.status_code == 403
        assert "public-security" in wrong_department.json()["error"]
        auth = {"Authorization": "Bearer health-secret"}
        not_object = client.post(url, json=[good, "H-2", 3], headers=auth)
        assert not_object.status_code == 422
        assert [(e["index"], e["field"]) for e in not_object.json()["errors"]] == [
            (1, "(record)"),
            (2, "(record)"),
        ]
        assert client.post(url, json="H-2", headers=auth).status_code == 422
        assert client.post(url, json=good, headers=auth).status_code == 202
    publisher.close()
    engine.dispose()
