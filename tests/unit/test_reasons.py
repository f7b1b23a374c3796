"""An alert's reason in both languages, citing only the values a reader may see."""

from __future__ import annotations

import pytest

from services.access.reasons import render_reason

SINCE = 1_717_279_500_000  # 2024-06-01 22:05 UTC
DUE = 1_717_315_200_000  # 2024-06-02 08:00 UTC


@pytest.mark.parametrize(
    ("code", "params", "english", "chinese"),
    [
        (
            "NO_WATER_USE",
            {"hours": 31, "since": SINCE},
            "elderly resident living alone: no water use for 31 hours (since 2024-06-01 22:05 UTC)",
            "独居老人：31 小时未用水（自 2024-06-01 22:05 UTC 起）",
        ),
        (
            "NO_WATER_USE",
            {},
            "elderly resident living alone: no water use for 24 hours or more",
            "独居老人：24 小时以上未用水",
        ),
        (
            "NO_SEPARATE_ROOM",
            {"resident_count": 3},
            "home quarantine where no one can isolate apart: all 3 residents are isolated together",
            "居家隔离但无人可单独隔离：3 名住户共同隔离",
        ),
        (
            "NO_SEPARATE_ROOM",
            {},
            "home quarantine where no one can isolate apart: its residents are isolated together",
            "居家隔离但无人可单独隔离：住户共同隔离",
        ),
        (
            "DELIVERY_NOT_FULFILLED",
            {"due_at": DUE},
            "delivery to a quarantined household not yet fulfilled, due 2024-06-02 08:00 UTC",
            "隔离户的配送尚未完成（应于 2024-06-02 08:00 UTC 送达）",
        ),
        ("HEALTH_STATUS_RED", {}, "health status turned RED", "健康码转为红码"),
    ],
)
def test_each_reason_reads_the_same_in_english_and_chinese(
    code: str, params: dict[str, int], english: str, chinese: str
) -> None:
    assert render_reason(code, params) == english
    assert render_reason(code, params, "zh") == chinese


def test_a_code_without_words_yet_is_shown_as_the_code_in_either_language() -> None:
    assert render_reason("NEW_RULE", {}, "zh") == render_reason("NEW_RULE", {}) == "new rule"
