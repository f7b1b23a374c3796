"""``datong demo live``'s sending: the demo feed's events posted to the API's HTTP push.

It acts as the departments' systems do: it holds its own department tokens (made in the
view store for this run, revoked when it stops) and posts each event as JSON. A refusal
(4xx) means the feed built an event the contract does not take: the run stops and says
which. The API out of reach, busy or failing (a restart) is waited out, round by round.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx

from services.errors import DatongError
from services.settings import Settings

log = logging.getLogger("datong")
TRANSIENT = {429, 502, 503, 504}


def run_live(
    settings: Settings,
    folder: Path,
    *,
    interval_s: float,
    rounds: int | None,
    stop: threading.Event,
) -> dict[str, int]:
    """Send rounds of the demo's next events until ``stop`` is set or after ``rounds``;
    return how many went, by department."""
    from connectors.demo import Manifest, build_population
    from connectors.demo.live import DEPARTMENTS, LiveFeed
    from services.access.tokens import create_token, revoke_token
    from services.store.database import create_engine

    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise DatongError(f"no demo at {folder}: run `datong demo generate --out {folder}` first")
    manifest = Manifest.load(manifest_path)
    population = build_population(
        manifest.communities,
        manifest.residents,
        manifest.seed,
        datetime.fromisoformat(manifest.as_of),
    )
    started = datetime.now(UTC)
    run = f"{started:%Y%m%dT%H%M%S}"
    feed = LiveFeed(population, random.Random(f"datong-live:{manifest.seed}:{run}"), run)
    engine = create_engine(settings.database_url)
    tokens = {d: create_token(engine, department=d, name=f"demo-live-{d}") for d in DEPARTMENTS}
    sent = dict.fromkeys(DEPARTMENTS, 0)
    base = f"http://{settings.api_host}:{settings.api_port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            done = 0
            while not stop.is_set() and (rounds is None or done < rounds):
                for event in feed.tick(datetime.now(UTC)):
                    secret = tokens[event.department].secret
                    if _post(client, event.path, event.body, secret):
                        sent[event.department] += 1
                done += 1
                stop.wait(interval_s)
    finally:
        for token in tokens.values():
            revoke_token(engine, token.info.id)
        engine.dispose()
    return sent


def _post(client: httpx.Client, path: str, body: dict[str, object], secret: str) -> bool:
    """Post one event; True once the API took it, False when it could not now."""
    try:
        response = client.post(path, json=body, headers={"Authorization": f"Bearer {secret}"})
    except httpx.TransportError as exc:
        log.warning("demo live: the API is out of reach (%s); trying again next round", exc)
        return False
    if response.status_code == 202:
        return True
    if response.status_code in TRANSIENT or response.status_code >= 500:
        log.warning(
            "demo live: %s answered %s; trying again next round", path, response.status_code
        )
        return False
    raise DatongError(
        f"the API refused the demo's event at {path} ({response.status_code}): "
        f"{response.text[:500]}"
    )


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or Ctrl-C: the round in hand is finished, then the run ends."""
    stop = threading.Event()

    def handle(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop
