"""An alert's reason in words, rendered for one reader from its code and the values it may see.

The merge stores a reason as ``reason_code`` and ``reason_params`` (the values it cites), never
as words: words that embed a value would carry it to every reader of the alert. The read path
first drops the params the audience is not granted (``services.access.derivation``), then
renders what is left; a missing value is left out of the sentence, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

LANGUAGES = ("en", "zh")


def render_reason(code: str, params: Mapping[str, int], language: str = "en") -> str:
    """The reason ``code`` in words for the grid worker, citing only ``params``, in English
    (``en``) or Chinese (``zh``)."""
    words = _WORDS.get(code)
    # A code added to the contract before its words: say so rather than fail the read.
    return words(params, language == "zh") if words else code.replace("_", " ").lower()


def _no_water_use(params: Mapping[str, int], zh: bool) -> str:
    hours = params.get("hours")
    since = _time(params["since"]) if "since" in params else None
    if zh:
        silence = f"{hours} 小时" if hours is not None else "24 小时以上"
        return f"独居老人：{silence}未用水" + (f"（自 {since} 起）" if since else "")
    silence = f"for {hours} hours" if hours is not None else "for 24 hours or more"
    return f"elderly resident living alone: no water use {silence}" + (
        f" (since {since})" if since else ""
    )


def _no_separate_room(params: Mapping[str, int], zh: bool) -> str:
    count = params.get("resident_count")
    if zh:
        who = f"{count} 名住户" if count is not None else "住户"
        return f"居家隔离但无人可单独隔离：{who}共同隔离"
    who = f"all {count} residents are" if count is not None else "its residents are"
    return f"home quarantine where no one can isolate apart: {who} isolated together"


def _delivery_not_fulfilled(params: Mapping[str, int], zh: bool) -> str:
    due = _time(params["due_at"]) if "due_at" in params else None
    if zh:
        return "隔离户的配送尚未完成" + (f"（应于 {due} 送达）" if due else "")
    return "delivery to a quarantined household not yet fulfilled" + (f", due {due}" if due else "")


def _health_status_red(_: Mapping[str, int], zh: bool) -> str:
    return "健康码转为红码" if zh else "health status turned RED"


_WORDS: dict[str, Callable[[Mapping[str, int], bool], str]] = {
    "NO_WATER_USE": _no_water_use,
    "NO_SEPARATE_ROOM": _no_separate_room,
    "DELIVERY_NOT_FULFILLED": _delivery_not_fulfilled,
    "HEALTH_STATUS_RED": _health_status_red,
}


def _time(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
