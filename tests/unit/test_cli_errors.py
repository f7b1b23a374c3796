"""The ``datong`` command: an operator's error is one line and exit 2, a bug keeps its traceback."""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.errors import SourceError
from schemas.errors import DatongError, SchemaError
from services import cli
from services.errors import ServiceError
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv("DATONG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATONG_HMAC_KEY", key)
    monkeypatch.setenv("DATONG_SEAL_KEY", key)


def test_every_package_root_error_is_a_datong_error() -> None:
    assert issubclass(SchemaError, DatongError)
    assert issubclass(SourceError, DatongError)
    assert issubclass(ServiceError, DatongError)


def test_an_operator_error_prints_one_line_without_a_traceback_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["tokens", "create", "--department", "weather"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("datong: no department 'weather'; departments: ")
    assert "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "error", [SourceError("export.xls is not a workbook datong reads: save it as .xlsx")]
)
def test_any_packages_error_reaching_the_command_is_printed_the_same_way(
    error: DatongError, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(_: argparse.Namespace, __: Settings) -> int:
        raise error

    monkeypatch.setattr(cli, "_parser", lambda: _parser_calling(fail))
    assert cli.main(["fail"]) == 2
    assert capsys.readouterr().err == f"datong: {error}\n"


def test_an_unexpected_error_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_: argparse.Namespace, __: Settings) -> int:
        raise KeyError("a bug, not an operator's mistake")

    monkeypatch.setattr(cli, "_parser", lambda: _parser_calling(fail))
    with pytest.raises(KeyError):
        cli.main(["fail"])


def _parser_calling(handler: object) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="datong")
    sub = parser.add_subparsers()
    sub.add_parser("fail").set_defaults(handler=handler)
    return parser


def test_the_bench_without_its_extra_says_what_to_install(tmp_path: Path) -> None:
    # A production install has neither aiohttp nor confluent-kafka: the bench's own clients.
    script = (
        "import sys; sys.modules['aiohttp'] = None; sys.modules['confluent_kafka'] = None\n"
        "from services import cli; sys.exit(cli.main(['bench', '--quick']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "DATONG_VAR_DIR": str(tmp_path)},
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().endswith("pip install 'datong[bench]'")
    assert "Traceback" not in done.stderr


def _one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """What ``datong argv`` prints on stderr, checked to be an operator's line (exit 2)."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("datong: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_a_source_that_is_not_there_names_the_flag_and_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope" / "export.csv"
    err = _one_line(capsys, ["connector", "run", "health", "--source", str(missing)])
    assert err == f"datong: --source {missing}: no such file or folder\n"


def test_an_xls_workbook_is_refused_with_save_as_xlsx(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "核酸.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")  # the OLE2 signature of a .xls
    err = _one_line(capsys, ["connector", "run", "health", "--source", str(old)])
    assert "(.xls) is not read; open it and save it as .xlsx" in err
    mapping = ROOT / "connectors" / "mappings" / "health.yaml"
    err = _one_line(capsys, ["mapping", "check", str(mapping), "--sample", str(old)])
    assert "save it as .xlsx" in err


@pytest.mark.parametrize("ref", ["0:62x", "zero", "1:", ":5"])
def test_a_dead_letter_reference_that_is_not_partition_offset_says_the_form(
    ref: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _one_line(capsys, ["dlq", "show", "health", ref])
    assert err == (
        f"datong: {ref!r} is not a dead letter reference: give partition:offset as "
        "`datong dlq list` prints it, e.g. 0:17\n"
    )


def test_a_replay_needs_a_reference_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    err = _one_line(capsys, ["dlq", "replay", "health"])
    assert "give either a REF (partition:offset) or --all" in err


def test_the_source_help_names_every_file_kind(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["connector", "run", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "CSV, XLSX, JSON lines" in help_text and "--mapping FILE" in help_text
