"""The grid worker's loop through a running hub: the real broker, a merge worker, the store,
and the API taking, visiting and closing a welfare-check alert as the grid department's own
events (``POST /alerts/{alert_id}/work`` -> the intake -> ``src.grid.*`` -> the alert view).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.alert_loop import GRID_OFFICE, api_of, raise_welfare_check, stored_alert
from tests.support.api_tokens import reader_headers
from tests.support.hub import Hub

pytestmark = pytest.mark.integration


def work(api: str, headers: dict[str, str], alert_id: str, body: Any) -> httpx.Response:
    return httpx.post(f"{api}/alerts/{alert_id}/work", json=body, headers=headers, timeout=30)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_grid_office_takes_visits_and_closes_a_welfare_check_through_its_own_events(
    start_broker: Any, database_url: str, make_hub: Any
) -> None:
    hub: Hub = make_hub(start_broker(), database_url)
    hub.start("api")
    hub.start("worker")
    api = api_of(hub)
    alert_id, raised = raise_welfare_check(hub, "one")
    assert (raised["status"], raised["assignee_code"]) == ("OPEN", None)
    grid = reader_headers(database_url, GRID_OFFICE)

    taken = work(api, grid, alert_id, {"action": "take", "assignee_code": "W-007"})
    assert taken.status_code == 202, taken.text
    assert taken.json()["event_ids"][0].startswith("grid:")
    held = hub.wait_for(
        lambda: (a := stored_alert(hub, alert_id))["assignee_code"] == "W-007" and a,
        "the alert to show its assignee",
    )
    # Due when the welfare check's 24 h response limit runs out after the alert opened.
    assert held["due_at"] == raised["opened_at"] + 24 * 3_600_000
    assert held["task_id"] == taken.json()["task_id"] and held["assigned_at"] is not None

    nobody = work(api, grid, alert_id, {"action": "visit", "outcome": "NOBODY_HOME"})
    assert nobody.status_code == 202, nobody.text
    hub.wait_for(
        lambda: stored_alert(hub, alert_id)["visit_outcome"] == "NOBODY_HOME",
        "the visit nobody answered",
    )
    assert stored_alert(hub, alert_id)["status"] == "OPEN"

    note = "resident well, fridge stocked"
    done = work(api, grid, alert_id, {"action": "visit", "outcome": "DONE", "note": note})
    assert done.status_code == 202, done.text
    closed = hub.wait_for(
        lambda: (a := stored_alert(hub, alert_id))["status"] == "CLOSED" and a,
        "the alert closed by the visit",
    )
    # The grid office reads the closed alert, with who did it, when, and the note.
    read = httpx.get(f"{api}/views/alert/{alert_id}", headers=grid, timeout=30).json()
    assert (read["status"], read["visit_outcome"], read["note"]) == ("CLOSED", "DONE", note)
    assert (read["assignee_code"], read["closed_at"]) == ("W-007", closed["visited_at"])
    metrics = httpx.get(f"{api}/metrics", timeout=30).text
    assert 'datong_ingest_requests_total{department="grid",status="202"} 3.0' in metrics


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_only_an_audience_granted_the_alerts_subject_may_act_and_bad_input_is_named(
    start_broker: Any, database_url: str, make_hub: Any
) -> None:
    hub: Hub = make_hub(start_broker(), database_url)
    hub.start("api")
    hub.start("worker")
    api = api_of(hub)
    alert_id, _ = raise_welfare_check(hub, "two")
    take = {"action": "take", "assignee_code": "W-001"}

    # No alert grant at all: refused, saying so.
    dashboard = work(api, reader_headers(database_url, "community-dashboard"), alert_id, take)
    assert dashboard.status_code == 403 and "granted no alerts" in dashboard.json()["error"]
    # The health department reads no welfare checks, another grid office not this community:
    # the alert is absent for them, as on every read path.
    for audience in ("health-department", "grid-office-610103001001"):
        absent = work(api, reader_headers(database_url, audience), alert_id, take)
        assert absent.status_code == 404, (audience, absent.text)

    grid = reader_headers(database_url, GRID_OFFICE)
    refused = {
        "assignee_code": work(api, grid, alert_id, {"action": "take", "assignee_code": "张三"}),
        "note": work(
            api, grid, alert_id, {"action": "visit", "outcome": "DONE", "note": "call 13812345678"}
        ),
        "referred_to": work(
            api, grid, alert_id, {"action": "visit", "outcome": "REFERRED", "referred_to": "x"}
        ),
        "action": work(api, grid, alert_id, {"action": "delete"}),
    }
    for field, answer in refused.items():
        assert (answer.status_code, answer.json().get("field")) == (422, field), answer.text
    assert "13812345678" not in refused["note"].text
    not_json = httpx.post(f"{api}/alerts/{alert_id}/work", content=b"{", headers=grid, timeout=30)
    assert not_json.status_code == 400
    untaken = work(api, grid, alert_id, {"action": "visit", "outcome": "DONE"})
    assert untaken.status_code == 409 and "take it" in untaken.json()["error"]
    assert work(api, grid, "0" * 32, take).status_code == 404
    assert stored_alert(hub, alert_id)["assignee_code"] is None  # nothing refused was published
