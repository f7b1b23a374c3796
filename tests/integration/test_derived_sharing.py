"""Derived data tells no audience what its inputs may not: every audience, view and read path.

The demo community is merged by the real merge, with one resident's health status turned RED
so that every alert type is open, and served from a real view store by the real API. Each
shipped audience then reads everything it can: every page of every view, every export,
alerts and sampled rows by key, the situation's history, and the refusals of what it may
not read. No value of a field it is not granted may appear anywhere in what it gets:

| what | granted with |
| --- | --- |
| person_keys | the resident_profile view, or household.resident_person_keys |
| dwelling_ids (they spell out building, unit, room) | household building, unit and room_number |
| delivery ids | household.open_deliveries |
| health status (a word, a RED_STATUS alert, its reason) | resident_profile.health_status |
| the last water activity (its time, a welfare check) | household.last_water_activity_at |
| living alone (a welfare check) | resident_profile.elderly_living_alone |
| resident counts (an isolation risk, its reason) | household.resident_count |
| quarantine and deliveries (a quarantine-delivery alert) | household quarantined, open_deliveries |

The table is read from the issue, not from the field classes: it checks them. Subscriptions
filter through the same policy; ``test_subscriptions.py`` follows an alert live.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from services.access.policy_file import DEFAULT_POLICY_FILE, load_policy
from services.access.tokens import create_token
from services.api.app import create_api
from services.settings import Settings
from services.store.database import create_engine, create_schema
from tests.support.demo_events import demo_events, updates_of
from tests.support.memory_views import MemoryViews
from tests.support.oracle import events as make
from tests.support.view_rows import SeedRow, merged_rows, store_rows

pytestmark = pytest.mark.integration

POLICY = load_policy(DEFAULT_POLICY_FILE)
VIEWS = ("resident_profile", "household", "community_situation", "alert")
KEY_FIELDS = {
    "resident_profile": "person_key",
    "household": "dwelling_id",
    "community_situation": "community_code",
    "alert": "alert_id",
}
SAMPLED_ROWS = 12
DAY_MS = 24 * 3600 * 1000
HEALTH_WORDS = {"GREEN", "YELLOW", "RED"}
_TOKEN = re.compile(r"[\w\-]+", re.ASCII)


@dataclass
class Served:
    """The merged demo in a real store, the API over it, and a token per shipped audience."""

    client: TestClient
    rows: list[SeedRow]
    tokens: dict[str, str]
    engine: sa.Engine
    settings: Settings

    def of(self, view: str) -> list[SeedRow]:
        return [r for r in self.rows if r.view == view]


@pytest.fixture(scope="module")
def served(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    _, events = demo_events(1, 400, 11)
    merged = MemoryViews()
    updates = updates_of(list(events))
    for start in range(0, len(updates), 500):
        merged.merge(updates[start : start + 500])
    # The demo has nobody RED: one resident turns RED, so every alert type is open.
    person = sorted(merged.shown("resident_profile"))[0]
    merged.merge(updates_of([make.health(person, "RED", datetime(2024, 6, 3, tzinfo=UTC))]))
    rows = merged_rows(merged)
    assert {r.data["alert_type"] for r in rows if r.view == "alert"} == {
        "RED_STATUS",
        "WELFARE_CHECK",
        "ISOLATION_RISK",
        "QUARANTINE_DELIVERY",
    }
    engine = create_engine(module_database_url)
    create_schema(engine)
    store_rows(engine, rows)
    var = tmp_path_factory.mktemp("var")
    settings = Settings.from_env(
        {"DATONG_VAR_DIR": str(var), "DATONG_DATABASE_URL": module_database_url}
    ).with_dev_keys()
    tokens = {a: create_token(engine, audience=a).secret for a in POLICY.audiences}
    with TestClient(create_api(settings, engine)) as client:
        yield Served(client, rows, tokens, engine, settings)
    engine.dispose()


# --- what an audience gets -------------------------------------------------------------------


def everything_read_by(served: Served, audience: str) -> list[tuple[str, Any]]:
    """(path, JSON body) of every read the audience can make, refusals included."""
    headers = {"Authorization": f"Bearer {served.tokens[audience]}"}
    got: list[tuple[str, Any]] = []

    def get(path: str, **params: Any) -> Any:
        response = served.client.get(path, params=params, headers=headers)
        assert response.status_code < 500, (path, response.text)
        body = (
            [json.loads(line) for line in response.text.splitlines()]
            if path.startswith("/export/") and response.status_code == 200
            else response.json()
        )
        got.append((path, body))
        return body

    for view in VIEWS:
        rows = served.of(view)
        keys = [r.key for r in rows] if view == "alert" else [r.key for r in rows[:SAMPLED_ROWS]]
        for key in keys:
            get(f"/views/{view}/{key}")
        get(f"/export/{view}")
        cursor: str | None = None
        while True:
            body = get(f"/views/{view}", limit=50, **({"cursor": cursor} if cursor else {}))
            cursor = body.get("next_cursor") if isinstance(body, dict) else None
            if not cursor:
                break
    for situation in served.of("community_situation"):
        get(f"/views/community_situation/{situation.key}/history", days=7)
    return got


def leaves(body: Any, keys: bool) -> Iterator[Any]:
    """Every scalar in a JSON body, and every map key when ``keys``."""
    if isinstance(body, dict):
        for k, v in body.items():
            if keys:
                yield k
            yield from leaves(v, keys)
    elif isinstance(body, list):
        for v in body:
            yield from leaves(v, keys)
    else:
        yield body


def tokens_of(values: Iterator[Any]) -> set[str]:
    return {t for v in values if isinstance(v, str) for t in _TOKEN.findall(v)}


# --- what it must not get ----------------------------------------------------------------------


@dataclass
class Secret:
    """Values of fields an audience may lack, and how to find them in what it reads."""

    what: str
    granted: Callable[[Callable[[str], frozenset[str]]], bool]
    ids: set[str] = field(default_factory=set)  # found among tokens of values and map keys
    words: set[str] = field(default_factory=set)  # found among tokens of values
    numbers: set[int] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)  # found inside string values
    patterns: tuple[re.Pattern[str], ...] = ()
    # Alert types, found among tokens of values and map keys (a count by type names it).
    alert_types: set[str] = field(default_factory=set)

    def found_in(self, bodies: list[tuple[str, Any]]) -> list[str]:
        found = []
        for path, body in bodies:
            values = list(leaves(_without_feed_times(body), keys=False))
            tokens = tokens_of(iter(values))
            keyed = tokens_of(leaves(body, keys=True))
            hits = keyed & self.ids | tokens & self.words | keyed & self.alert_types
            hits |= {str(v) for v in values if isinstance(v, int) and v in self.numbers}
            for text in (v for v in values if isinstance(v, str)):
                hits |= {t for t in self.texts if t in text}
                hits |= {m.group(0) for p in self.patterns for m in p.finditer(text)}
            found += [f"{path}: {hit}" for hit in sorted(hits)]
        return found


def _without_feed_times(body: Any) -> Any:
    """A situation's department_freshness is the newest event of each department in the
    community: the feed's clock (the last meter-reading round), not a dwelling's water use,
    though it equals the last reading of whichever dwelling was read last."""
    if isinstance(body, dict):
        return {k: _without_feed_times(v) for k, v in body.items() if k != "department_freshness"}
    if isinstance(body, list):
        return [_without_feed_times(v) for v in body]
    return body


def secrets_of(served: Served) -> list[Secret]:
    households = [r.data for r in served.of("household")]
    used = {h["last_water_activity_at"] for h in households if h["last_water_activity_at"]}
    return [
        Secret(
            "person_keys",
            lambda g: bool(g("resident_profile")) or "resident_person_keys" in g("household"),
            ids={r.key for r in served.of("resident_profile")},
        ),
        Secret(
            "dwelling_ids",
            lambda g: {"building", "unit", "room_number"} <= g("household"),
            ids={r.key for r in served.of("household")},
        ),
        Secret(
            "delivery ids",
            lambda g: "open_deliveries" in g("household"),
            ids={d for h in households for d in h["open_deliveries"]}
            | {r.data["delivery_id"] for r in served.of("alert") if r.data["delivery_id"]},
        ),
        Secret(
            "health status",
            lambda g: "health_status" in g("resident_profile"),
            words=HEALTH_WORDS | {"HEALTH_STATUS_RED"},
            alert_types={"RED_STATUS"},
        ),
        Secret(
            "water activity",
            lambda g: "last_water_activity_at" in g("household"),
            words={"NO_WATER_USE"},
            alert_types={"WELFARE_CHECK"},
            numbers=used | {t + DAY_MS for t in used},  # a welfare check opens 24 h after
            texts={_minute(t) for t in used},
        ),
        Secret(
            "living alone",
            lambda g: "elderly_living_alone" in g("resident_profile"),
            words={"NO_WATER_USE"},
            alert_types={"WELFARE_CHECK"},
        ),
        Secret(
            "resident counts",
            lambda g: "resident_count" in g("household"),
            words={"NO_SEPARATE_ROOM"},
            alert_types={"ISOLATION_RISK"},
            patterns=(re.compile(r"all \d+ residents"),),
        ),
        Secret(
            "quarantine and deliveries",
            lambda g: {"quarantined", "open_deliveries"} <= g("household"),
            words={"DELIVERY_NOT_FULFILLED"},
            alert_types={"QUARANTINE_DELIVERY"},
        ),
    ]


def _minute(millis: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)).strftime(
        "%Y-%m-%d %H:%M"
    )


def fields_granted(audience: str) -> Callable[[str], frozenset[str]]:
    def of(view: str) -> frozenset[str]:
        grant = POLICY.grant(audience, view)
        return grant.fields if grant else frozenset()

    return of


# --- the walk ----------------------------------------------------------------------------------


@pytest.mark.parametrize("audience", sorted(POLICY.audiences))
def test_no_audience_reads_a_value_of_a_field_it_is_not_granted_on_any_read_path(
    served: Served, audience: str
) -> None:
    bodies = everything_read_by(served, audience)
    granted = fields_granted(audience)
    leaks = [
        f"{secret.what}: {hit}"
        for secret in secrets_of(served)
        if not secret.granted(granted)
        for hit in secret.found_in(bodies)
    ]
    assert not leaks, f"{audience} read {len(leaks)} values it is not granted:\n" + "\n".join(
        leaks[:20]
    )


def test_every_audience_still_reads_what_its_inputs_grant(served: Served) -> None:
    """The walk is not vacuous: an audience granted the inputs reads the derived values."""
    for audience, alert_types in {
        "grid-office-610103001001": {
            "RED_STATUS",
            "WELFARE_CHECK",
            "ISOLATION_RISK",
            "QUARANTINE_DELIVERY",
        },
        "health-department": {"RED_STATUS", "ISOLATION_RISK"},
        "civil-affairs": {"WELFARE_CHECK"},
        "commerce-delivery": {"QUARANTINE_DELIVERY"},
    }.items():
        headers = {"Authorization": f"Bearer {served.tokens[audience]}"}
        response = served.client.get("/views/alert", params={"limit": 500}, headers=headers)
        assert response.status_code == 200, response.text
        assert {a["alert_type"] for a in response.json()["items"]} == alert_types, audience


# The alert types each audience may know of, from the table of what raises each
# type (health status; living alone and water activity; resident counts, isolation and
# quarantines; quarantine and deliveries), read against the shipped policy by hand; the
# audiences that read the demo community's situation.
KNOWN_ALERT_TYPES = {
    "grid-office-610103001001": {
        "RED_STATUS",
        "WELFARE_CHECK",
        "ISOLATION_RISK",
        "QUARANTINE_DELIVERY",
    },
    "health-department": {"RED_STATUS", "ISOLATION_RISK"},
    "civil-affairs": {"WELFARE_CHECK"},
    "community-dashboard": set(),
}


def open_alerts_by_type(served: Served) -> dict[str, int]:
    """The open alerts by type, counted from the stored alert rows themselves."""
    counted: dict[str, int] = {}
    for alert in served.of("alert"):
        if alert.data["status"] == "OPEN":
            kind = alert.data["alert_type"]
            counted[kind] = counted.get(kind, 0) + 1
    return counted


def situations_read(client: TestClient, secret: str, code: str) -> dict[str, Any]:
    """The community's open alerts by type on every read path that shows a situation."""
    headers = {"Authorization": f"Bearer {secret}"}

    def get(path: str, **params: Any) -> Any:
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 200, (path, response.text)
        return response

    row = get(f"/views/community_situation/{code}").json()
    (listed,) = get("/views/community_situation").json()["items"]
    (exported,) = [json.loads(x) for x in get("/export/community_situation").text.splitlines()]
    points = get(f"/views/community_situation/{code}/history", days=7).json()["points"]

    def nonzero(counts: dict[str, Any]) -> dict[str, Any]:  # a type counted 0 may show
        return {t: n for t, n in counts.items() if n != 0}

    return {
        "row": nonzero(row["open_alerts"]),
        "list": nonzero(listed["open_alerts"]),
        "export": nonzero(exported["open_alerts"]),
        "history": nonzero(points[-1]["open_alerts_by_type"]),
        "history total": points[-1]["open_alerts"],
        "provenance": "open_alerts" in row["provenance"],
    }


@pytest.mark.parametrize("audience", sorted(KNOWN_ALERT_TYPES))
def test_open_alerts_are_counted_only_by_the_types_an_audience_may_know_and_never_few(
    served: Served, audience: str
) -> None:
    (situation,) = served.of("community_situation")
    counts = open_alerts_by_type(served)
    assert min(counts.values()) < served.settings.min_shown_count, "some count is small"
    known = KNOWN_ALERT_TYPES[audience]
    shown = {t: None if 0 < n < served.settings.min_shown_count else n for t, n in counts.items()}
    expected = {t: n for t, n in shown.items() if t in known}
    got = situations_read(served.client, served.tokens[audience], situation.key)
    assert got == {
        "row": expected,
        "list": expected,
        "export": expected,
        "history": expected,
        "history total": None
        if None in expected.values()
        else sum(n for n in expected.values() if n is not None),
        # The merge keeps no provenance of counts; were it to, only a reader of every type
        # would see it (tests/unit/test_derived_sharing.py).
        "provenance": known == set(counts) and "open_alerts" in situation.provenance,
    }


def test_counts_at_or_above_the_smallest_shown_count_are_shown_and_summed(
    served: Served,
) -> None:
    (situation,) = served.of("community_situation")
    counts = open_alerts_by_type(served)
    settings = replace(served.settings, min_shown_count=max(counts.values()))
    with TestClient(create_api(settings, served.engine)) as client:
        got = situations_read(client, served.tokens["health-department"], situation.key)
        everything = situations_read(
            client, served.tokens["grid-office-610103001001"], situation.key
        )
    largest = max(counts.values())
    expected = {
        t: n if n in (0, largest) else None
        for t, n in counts.items()
        if t in {"RED_STATUS", "ISOLATION_RISK"}
    }
    assert got["row"] == expected
    assert everything["row"] == {t: n if n == largest else None for t, n in counts.items()}
    unsuppressed = replace(served.settings, min_shown_count=1)
    with TestClient(create_api(unsuppressed, served.engine)) as client:
        whole = situations_read(client, served.tokens["grid-office-610103001001"], situation.key)
    assert whole["row"] == counts and whole["history total"] == sum(counts.values())


def test_the_community_dashboard_reads_no_alert(served: Served) -> None:
    headers = {"Authorization": f"Bearer {served.tokens['community-dashboard']}"}
    for path in ("/views/alert", "/export/alert", f"/views/alert/{served.of('alert')[0].key}"):
        assert served.client.get(path, headers=headers).status_code == 403, path


def test_a_welfare_check_reads_as_words_with_only_the_granted_values(served: Served) -> None:
    headers = {"Authorization": f"Bearer {served.tokens['civil-affairs']}"}
    body = served.client.get("/views/alert", params={"limit": 500}, headers=headers).json()
    welfare = body["items"][0]
    assert welfare["reason_code"] == "NO_WATER_USE"
    # The hours tell when the meter was last read, which no audience is granted.
    assert set(welfare["reason_params"]) == {"since"}
    assert welfare["reason"].startswith(
        "elderly resident living alone: no water use for 24 hours or more (since "
    )


def test_a_page_of_alerts_is_full_of_the_types_the_reader_is_granted(served: Served) -> None:
    headers = {"Authorization": f"Bearer {served.tokens['civil-affairs']}"}
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        body = served.client.get("/views/alert", params=params, headers=headers).json()
        pages.append([a["alert_type"] for a in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [["WELFARE_CHECK"], ["WELFARE_CHECK"]]
