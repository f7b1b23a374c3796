"""What the retention bounds make due: closed alerts and snapshots past their days, never
an open alert, and dead letters at their topic's retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.retention import (
    CLOSED_ALERT,
    SITUATION_SNAPSHOT,
    Expiry,
    Retention,
    closed_alert_expired,
    dead_letter_expiry,
    expiries,
)
from services.settings import Settings

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
DAY_MS = 24 * 3600 * 1000


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_history_older_than_its_bound_is_due() -> None:
    due = expiries(Retention(closed_alert_days=400, snapshot_days=30), NOW)

    assert due == [
        Expiry(CLOSED_ALERT, NOW - timedelta(days=400)),
        Expiry(SITUATION_SNAPSHOT, NOW - timedelta(days=30)),
    ]


def test_the_bounds_default_to_four_hundred_days(tmp_path: Path) -> None:
    retention = Retention.from_settings(Settings.from_env({"DATONG_VAR_DIR": str(tmp_path)}))

    assert retention == Retention(closed_alert_days=400, snapshot_days=400)


def test_a_closed_alert_expires_once_it_closed_before_the_bound() -> None:
    before = NOW - timedelta(days=400)
    closed = {"status": "CLOSED", "closed_at": _ms(before) - 1}

    assert closed_alert_expired(closed, before)
    assert not closed_alert_expired({**closed, "closed_at": _ms(before)}, before)


def test_an_open_alert_never_expires_however_old() -> None:
    ancient = {"status": "OPEN", "opened_at": 0, "closed_at": None}

    assert not closed_alert_expired(ancient, NOW)


def test_a_dead_letter_leaves_its_topic_at_the_topics_retention() -> None:
    written = _ms(NOW)

    assert dead_letter_expiry(written, 30 * DAY_MS) == NOW + timedelta(days=30)
    assert dead_letter_expiry(written, -1) is None  # a topic that keeps everything
