"""The public release in words, Chinese and English: figures, stages, notices. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FIGURES = {
    "quarantined_households": ("居家隔离户数", "Households in home quarantine"),
    "pending_deliveries": ("待配送物资", "Deliveries pending"),
}
STAGES = {
    "PLANNED": ("规划", "planned"),
    "DESIGN": ("设计", "design"),
    "TENDERING": ("招标", "tendering"),
    "CONSTRUCTION": ("施工", "construction"),
    "ACCEPTANCE": ("验收", "acceptance"),
    "COMPLETED": ("完工", "completed"),
}
WITHHELD = ("不公布", "not shown")
NO_BUILDING = ("未登记楼栋", "building not recorded")


def count(value: int | None, base: int) -> tuple[str, str]:
    """A published count as the range it stands for, or the words for a withheld one."""
    if value is None:
        return WITHHELD
    text = f"{value}–{value + base - 1}"
    return text, text


def stage(symbol: str | None) -> tuple[str, str]:
    """A renovation stage in both languages."""
    return STAGES.get(symbol or "", (symbol or "—", symbol or "—"))


def notice(item: Mapping[str, Any], base: int) -> tuple[str, str]:
    """A notice of change in both languages."""
    if item["figure"] == "renovation_stage":
        before, after = stage(item.get("from")), stage(item["to"])
        project = item["project_id"]
        return (
            f"改造项目 {project}：{before[0]} → {after[0]}",
            f"Renovation project {project}: {before[1]} → {after[1]}",
        )
    zh, en = FIGURES[item["figure"]]
    old, new = count(item.get("from"), base), count(item.get("to"), base)
    return f"{zh}：{old[0]} → {new[0]}", f"{en}: {old[1]} → {new[1]}"
