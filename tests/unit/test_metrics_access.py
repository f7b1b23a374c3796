"""Who may read /metrics: anyone when no token is set, else only the bearer of the token."""

from __future__ import annotations

import pytest

from services.metrics_access import metrics_allowed

TOKEN = "a-metrics-token-of-some-length"


def test_open_metrics_need_no_header() -> None:
    assert metrics_allowed(None, None)
    assert metrics_allowed("Bearer anything", None)


def test_the_token_as_a_bearer_credential_is_allowed_whatever_the_schemes_case() -> None:
    assert metrics_allowed(f"Bearer {TOKEN}", TOKEN)
    assert metrics_allowed(f"bearer {TOKEN}", TOKEN)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN],
)
def test_anything_else_is_refused(header: str | None) -> None:
    assert not metrics_allowed(header, TOKEN)
