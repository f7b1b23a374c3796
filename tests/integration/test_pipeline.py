"""A department's records go in at one end and a merged resident_profile comes out at the other."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from connectors.base import Event
from connectors.identity import person_key
from connectors.mappings.household_register import HouseholdRegisterMapping
from connectors.sealing import unseal
from tests.support.api_tokens import reader_headers
from tests.support.factories import (
    REGISTRY_HEADER,
    RegistryRow,
    health_event,
    registry_rows,
    resident_id,
    write_registry_csv,
    wrong_check_digit,
)
from tests.support.hub import Hub
from tests.support.pipeline import (
    T0,
    deliver,
    get_if_up,
    merged_events,
    publish_health,
    run_connector,
)
from tests.support.stored_views import view_rows
from tests.support.topics import read_topic

pytestmark = pytest.mark.integration


def key_of(hub: Hub, row: RegistryRow) -> str:
    """The person_key the hub derives for a registry row."""
    return person_key(row.id_number, hub.settings.hmac_key)


def _merged(database_url: str, key: str, status: str) -> bool:
    visible, data, _ = view_rows(database_url).get(key, (False, {}, {}))
    return visible and data.get("health_status") == status


def visible_keys(database_url: str) -> set[str]:
    """Keys of the resident_profile rows the view shows (other tests share the broker)."""
    return {key for key, (visible, _, _) in view_rows(database_url).items() if visible}


def test_registry_csv_and_health_events_merge_into_one_profile_with_provenance(
    broker: str,
    database_url: str,
    make_hub: Callable[..., Hub],
) -> None:
    hub = make_hub(broker, database_url)
    hub.start("api")  # the connector looks its schema ids up in the API's registry
    rows = registry_rows(20, seed=11)
    path = write_registry_csv(hub.tmp / "registry-gb18030.csv", rows, encoding="gb18030")
    summary = run_connector(hub, f"file://{path}?encoding=gb18030")
    assert summary["published"] == 20 and summary["rejected"] == 0
    red, green = key_of(hub, rows[0]), key_of(hub, rows[1])
    publish_health(
        hub,
        [
            health_event(red, "YELLOW", T0),
            health_event(red, "RED", T0 + timedelta(hours=1)),
            health_event(green, "GREEN", T0),
        ],
    )
    hub.start("worker")
    hub.wait_for(
        # Visible (the registration arrived) and RED (the health events did): other tests'
        # records on the shared broker can delay one topic's partitions behind another's.
        lambda: _merged(database_url, red, "RED"),
        "the merged profile",
    )

    api = f"http://127.0.0.1:{hub.env['DATONG_API_PORT']}"
    reader = reader_headers(database_url)
    response = hub.wait_for(
        lambda: get_if_up(f"{api}/views/resident_profile/{red}", reader), "the API"
    )
    assert response.status_code == 200
    profile = response.json()
    assert profile["person_key"] == red
    assert profile["name_masked"] == rows[0].name[0] + "*" * (len(rows[0].name) - 1)
    assert profile["community_code"] == rows[0].community
    assert profile["health_status"] == "RED"
    assert profile["provenance"]["name_masked"]["department"] == "public-security"
    assert profile["provenance"]["name_masked"]["event_id"] == f"public-security:{rows[0].serial}"
    assert profile["provenance"]["health_status"]["department"] == "health"
    assert profile["provenance"]["health_status"]["event_time_ms"] == int(
        (T0 + timedelta(hours=1)).timestamp() * 1000
    )
    assert rows[0].id_number not in response.text and rows[0].name not in response.text

    missing = get_if_up(f"{api}/views/resident_profile/{'0' * 64}", reader)
    assert missing is not None and missing.status_code == 404
    assert "resident_profile" in missing.json()["error"]
    ours = {key_of(hub, row) for row in rows}
    hub.wait_for(lambda: ours <= visible_keys(database_url), "all 20 profiles")


def test_malformed_rows_go_to_the_dead_letter_topic_while_good_rows_arrive(
    start_broker: Callable[[], str],
    make_hub: Callable[..., Hub],
    tmp_path: Any,
) -> None:
    bootstrap = start_broker()
    hub = make_hub(bootstrap, f"sqlite:///{tmp_path / 'views.db'}")
    hub.start("api")  # the connector looks its schema ids up in the API's registry
    good = registry_rows(5, seed=3)
    bad_check = RegistryRow(
        "RB9000001", wrong_check_digit(resident_id(901)), name="钱多多", phone="13900000001"
    )
    bad_date = RegistryRow("RB9000002", resident_id(902), effective="2023-02-30 10:00")
    path = hub.tmp / "registry.csv"
    write_registry_csv(path, [good[0], bad_check, good[1], bad_date, good[2]], encoding="utf-8")
    with open(path, "ab") as handle:  # a short row and a row saved in another encoding
        handle.write(f"RB9000003,登记,{resident_id(903)}\r\n".encode())
        handle.write(
            ",".join(RegistryRow("RB9000004", resident_id(904), name="孙悟空").cells()).encode(
                "gb18030"
            )
            + b"\r\n"
        )
        handle.write(",".join(good[3].cells()).encode() + b"\r\n")
    summary = run_connector(hub, str(path))
    assert summary["published"] == 4
    assert summary["rejected"] == 4

    letters = read_topic(bootstrap, "dlq.public-security", expect=4)
    assert len(letters) == 4
    reasons = sorted(
        (h["__datong.errors.field"].decode(), h["__datong.errors.reason"].decode())
        for h in (letter.headers for letter in letters)
    )
    assert [field for field, _ in reasons] == ["(row)", "公民身份号码", "办理时间", "办理时间"]
    assert "not valid utf-8" in reasons[0][1]
    assert "check digit" in reasons[1][1]
    assert {
        "is a date that does not exist",
        "is missing (the row has fewer columns than the header)",
    } == {r for _, r in reasons[2:]}
    assert all(
        h["__datong.errors.source"] == str(path).encode()
        for h in (letter.headers for letter in letters)
    )
    for letter in letters:
        assert letter.value is not None
        for secret in (bad_check.id_number, "钱多多", "13900000001", resident_id(902)):
            assert secret.encode() not in letter.value
            assert all(secret.encode() not in v for v in letter.headers.values())
    first = next(
        letter
        for letter in letters
        if letter.headers["__datong.errors.field"] == "公民身份号码".encode()
    )
    assert first.value is not None
    opened = unseal(hub.settings.seal_key, first.value, first.key.decode() if first.key else "")
    assert opened["公民身份号码"] == bad_check.id_number

    published = read_topic(bootstrap, "src.public-security.resident-registered", expect=4)
    assert len(published) == 4
    assert all(r.headers["ce_source"] == b"public-security" for r in published)
    assert {r.headers["ce_id"].decode() for r in published} == {
        f"public-security:{row.serial}" for row in good[:4]
    }


def _scenario_events(hub: Hub) -> list[Event]:
    """Registrations, a move, a deregistration and health changes, with equal-time ties."""
    mapping = HouseholdRegisterMapping(hub.settings.hmac_key)
    rows = registry_rows(12, seed=5)
    moved = RegistryRow(
        "RB8000001",
        rows[2].id_number,
        action="迁移",
        dwelling_id="D-MOVED",
        community="C009",
        address="新地址",
        effective="2030-01-01 08:00:00",
    )
    gone = RegistryRow(
        "RB8000002", rows[3].id_number, action="死亡注销", effective="2030-02-01 08:00:00"
    )
    events = [
        mapping(dict(zip(REGISTRY_HEADER, row.cells(), strict=True)))
        for row in [*rows, moved, gone]
    ]
    for i, row in enumerate(rows[:6]):
        key = person_key(row.id_number, hub.settings.hmac_key)
        for j, status in enumerate(("GREEN", "YELLOW", "RED")):
            at = T0 + timedelta(minutes=j if i % 2 else 0)  # same-time ties for even rows
            record = health_event(key, status, at, event_id=f"h-{i}-{j}")
            events.append(Event("health", "health-status-changed", key, record))
    return events


def test_the_same_events_twice_or_in_reverse_order_give_the_same_view_rows(
    start_broker: Callable[[], str],
    database_url: str,
    make_hub: Callable[..., Hub],
    tmp_path: Any,
) -> None:
    reference = make_hub(start_broker(), database_url)
    keys = {
        "DATONG_HMAC_KEY": reference.env["DATONG_HMAC_KEY"],
        "DATONG_SEAL_KEY": reference.env["DATONG_SEAL_KEY"],
    }
    events = _scenario_events(reference)
    runs = {
        "in order": (reference, events),
        "reversed": (
            make_hub(start_broker(), f"sqlite:///{tmp_path / 'rev.db'}", **keys),
            list(reversed(events)),
        ),
        "twice": (
            make_hub(start_broker(), f"sqlite:///{tmp_path / 'twice.db'}", **keys),
            events + events,
        ),
    }
    for hub, delivered in runs.values():
        deliver(hub, delivered)
        hub.start("worker")
    results = {}
    for name, (hub, delivered) in runs.items():
        count = len(delivered)
        hub.wait_for(
            partial(_merged_at_least, hub, count), f"the {name} run to merge all {count} events"
        )
        results[name] = view_rows(hub.env["DATONG_DATABASE_URL"])
    assert results["reversed"] == results["in order"]
    assert results["twice"] == results["in order"]
    reference_rows = results["in order"]
    moved_key = next(
        k for k, (_, data, _) in reference_rows.items() if data.get("dwelling_id") == "D-MOVED"
    )
    assert reference_rows[moved_key][1]["community_code"] == "C009"
    hidden = [k for k, (visible, _, _) in reference_rows.items() if not visible]
    assert len(hidden) == 1
    assert reference_rows[hidden[0]][1].get("name_masked") is None


def _merged_at_least(hub: Hub, count: int) -> bool:
    return merged_events(hub) >= count


def test_deregistration_removes_the_row_and_publishes_a_tombstone(
    start_broker: Callable[[], str],
    make_hub: Callable[..., Hub],
    tmp_path: Any,
) -> None:
    bootstrap = start_broker()
    url = f"sqlite:///{tmp_path / 'views.db'}"
    hub = make_hub(bootstrap, url)
    hub.start("api")  # the connector looks its schema ids up in the API's registry
    row = registry_rows(1, seed=9)[0]
    path = write_registry_csv(hub.tmp / "a.csv", [row])
    run_connector(hub, str(path))
    hub.start("worker")
    key = key_of(hub, row)
    hub.wait_for(lambda: view_rows(url).get(key, (False,))[0], "the registered profile")
    gone = RegistryRow("RB7000001", row.id_number, action="迁出", effective="2031-01-01 00:00")
    run_connector(hub, str(write_registry_csv(hub.tmp / "b.csv", [gone])))
    hub.wait_for(lambda: not view_rows(url)[key][0], "the row to disappear")
    records = [
        r for r in read_topic(bootstrap, "view.resident_profile", expect=2) if r.key == key.encode()
    ]
    assert records[0].value is not None
    assert records[-1].value is None
    _, data, _ = view_rows(url)[key]
    assert all(value is None for value in data.values()), "an erased row keeps no personal data"
