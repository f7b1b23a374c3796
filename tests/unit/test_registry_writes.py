"""Which token may write which registry subject, and how a write is audited."""

from __future__ import annotations

import pytest

from services.api.authentication import Principal
from services.api.registry_writes import audit_entry, subject_department, write_refusal

HEALTH = Principal("t1", "health-t1", None, "health")
READER = Principal("t2", "grid-t2", "grid-office-110105001001", None)


@pytest.mark.parametrize(
    ("subject", "department"),
    [
        ("src.health.test-result-reported-value", "health"),
        ("src.public-security.resident-registered-key", "public-security"),
        ("view.resident_profile-value", None),
        ("src.health", None),
        ("src..x-value", None),
        ("health.x-value", None),
    ],
)
def test_a_subject_belongs_to_the_department_its_source_topic_names(
    subject: str, department: str | None
) -> None:
    assert subject_department(subject) == department


def test_a_department_token_writes_its_own_subjects_only() -> None:
    assert write_refusal(HEALTH, "register", "src.health.scope-value") is None
    refused = write_refusal(HEALTH, "delete-subject", "src.public-security.x-value")
    assert refused is not None
    assert "health's token may delete-subject only health's subjects (src.health.*)" in refused
    assert "this subject is public-security's" in refused
    view = write_refusal(HEALTH, "register", "view.alert-value")
    assert view is not None and "the hub's" in view


def test_no_token_sets_the_global_level_and_an_audience_writes_nothing() -> None:
    assert write_refusal(HEALTH, "set-config", None) is not None
    refused = write_refusal(READER, "register", "src.health.scope-value")
    assert refused is not None and "grid-office-110105001001" in refused


def test_an_audit_record_keeps_a_hostile_subject_inert_and_short() -> None:
    entry = audit_entry(HEALTH, "register", "src.health.\x00\ud800" + "9" * 500, {}, 403)
    assert entry.key is not None and entry.key.isascii() and len(entry.key) == 128
    assert entry.key.startswith("src.health.\\x00\\ud800")
    assert (entry.audience, entry.view, entry.rows, entry.status) == (
        "department:health",
        "registry",
        0,
        403,
    )
