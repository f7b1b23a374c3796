"""`datong demo live`: the demo's departments push new events over HTTP, and they are merged.

A hub (API and worker) holds a small demo's residents and homes, fed by their connectors;
the live feed then runs a few rounds. Its events reach the views through the real intake,
topics and merge: every sending department's freshness in the community's situation moves
to a time after the feed started, and the tokens it made for the run are revoked at its end.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.demo import generate
from connectors.demo.live import DEPARTMENTS, EVERY_ROUND
from services.access.tokens import list_tokens
from services.store.database import create_engine
from tests.support.hub import Hub
from tests.support.stored_views import view_rows

pytestmark = pytest.mark.integration


def _freshness(hub: Hub) -> dict[str, int]:
    """The newest event time (epoch ms) of each department over every community."""
    newest: dict[str, int] = {}
    rows = view_rows(hub.settings.database_url, "community_situation")
    for _, data, _ in rows.values():
        freshness = data.get("department_freshness") or {}
        assert isinstance(freshness, dict)
        for department, at in freshness.items():
            newest[department] = max(newest.get(department, 0), _ms(at))
    return newest


def _ms(at: Any) -> int:
    if isinstance(at, int | float):
        return int(at)
    return int(datetime.fromisoformat(str(at).replace("Z", "+00:00")).timestamp() * 1000)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_live_feed_events_are_merged_for_every_sending_department(
    start_broker: Callable[[], str], database_url: str, make_hub: Callable[..., Hub]
) -> None:
    hub = make_hub(start_broker(), database_url)
    hub.start("api")
    hub.start("worker")
    out = hub.tmp / "demo"
    generate(out, communities=1, residents=120, seed=3, as_of=datetime.now(UTC))
    for department in ("housing", "public-security"):  # the homes, then the people in them
        source = str(out / department)
        connector = hub.start("connector", "run", department, "--source", source)
        assert connector.wait(120) == 0, hub.logs()[-3000:]
    hub.wait_for(lambda: _freshness(hub), "the demo's community in the views")

    started_ms = int(datetime.now(UTC).timestamp() * 1000)
    live = hub.start(
        "demo",
        "live",
        "--demo-dir",
        str(out),
        "--rounds",
        "3",
        "--interval",
        "0.1",
        long_running=False,
    )
    code = live.wait(120)
    printed = (hub.tmp / f"demo-{hub.processes.index(live)}.log").read_text(errors="replace")
    assert code == 0, printed
    found = re.search(r"sent (\d+) events \((.*)\)", printed)
    assert found is not None, printed
    sent = {d: int(n) for d, n in (item.rsplit(" ", 1) for item in found[2].split(", "))}
    assert {d: n for d, n in sent.items() if d in EVERY_ROUND} == dict.fromkeys(EVERY_ROUND, 3)
    assert sent.get("housing", 0) <= 1  # a renovation report a minute, the first round's
    assert int(found[1]) == sum(sent.values())
    sending = [d for d, n in sent.items() if n]

    hub.wait_for(
        lambda: all(_freshness(hub).get(d, 0) >= started_ms for d in sending),
        "every sending department's newest event merged",
    )
    engine = create_engine(hub.settings.database_url)
    try:
        made = [t for t in list_tokens(engine) if t.name.startswith("demo-live-")]
    finally:
        engine.dispose()
    assert sorted(str(t.department) for t in made) == sorted(DEPARTMENTS)
    assert all(t.revoked_at is not None for t in made)
