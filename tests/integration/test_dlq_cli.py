"""An operator lists dead letters, opens one, fixes it and resends it with `datong dlq`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.factories import RegistryRow, registry_rows, resident_id, write_registry_csv
from tests.support.hub import Hub
from tests.support.topics import read_topic

pytestmark = pytest.mark.integration


def _datong(hub: Hub, *args: str) -> tuple[int, str]:
    process = hub.start(*args)
    code = process.wait(60)
    return code, (hub.tmp / f"{args[0]}-{len(hub.processes) - 1}.log").read_text()


def test_an_operator_fixes_a_rejected_row_and_it_is_published(
    start_broker: Callable[[], str],
    make_hub: Callable[..., Hub],
    tmp_path: Path,
) -> None:
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    hub.start("api")  # connectors and dlq replay look schema ids up in the API's registry
    good = registry_rows(2, seed=4)
    late = RegistryRow("RB6000001", resident_id(601), name="周小芳", effective="2024-02-30 9:00")
    path = write_registry_csv(hub.tmp / "export.csv", [good[0], late, good[1]])
    code, _ = _datong(hub, "connector", "run", "public-security", "--source", str(path))
    assert code == 0

    code, listing = _datong(hub, "dlq", "list", "public-security")
    assert code == 0
    line = next(li for li in listing.splitlines() if "办理时间" in li)
    assert f"{path}#2" in line and "does not exist" in line
    # What expires and when: the topic's retention (30 days), counted from the write.
    expires = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
    expiring = (expires, (datetime.now(UTC) + timedelta(days=30, minutes=-5)).strftime("%Y-%m-%d"))
    header = ["REF", "WRITTEN", "EXPIRES", "SOURCE#ROW", "FIELD", "CODE", "REASON"]
    assert header in [li.split() for li in listing.splitlines()]
    assert line.split()[2] in expiring, line
    assert "kept 30 days after it was written (retention.ms of dlq.public-security)" in listing
    assert "周小芳" not in listing and late.id_number not in listing
    ref = line.split()[0]

    code, shown = _datong(hub, "dlq", "show", "public-security", ref)
    assert code == 0
    opened = json.loads(shown[shown.index("{") :])
    assert opened["公民身份号码"] == late.id_number

    code, still_bad = _datong(hub, "dlq", "replay", "public-security", ref)
    assert code == 2 and "办理时间" in still_bad  # a DatongError: one line, exit 2
    code, replayed = _datong(
        hub, "dlq", "replay", "public-security", ref, "--set", "办理时间=2024-02-28 09:00"
    )
    assert code == 0, replayed
    assert "replayed" in replayed and "public-security:RB6000001" in replayed
    records = read_topic(bootstrap, "src.public-security.resident-registered", expect=3)
    assert {r.headers["ce_id"] for r in records} == {
        b"public-security:" + row.serial.encode() for row in [*good, late]
    }
