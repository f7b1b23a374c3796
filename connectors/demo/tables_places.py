"""The exports about places: the housing registry, renovation, and the grid office.

Column names, value words and date forms follow connectors/mappings/EXPORTS.md.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from connectors.demo import vocab
from connectors.demo.model import Population
from connectors.demo.table import (
    CSV_UTF8,
    XLSX,
    Cell,
    Table,
    address_text,
    columns,
    minutes,
    stamp_of,
)

STAGES = ("PLANNED", "DESIGN", "TENDERING", "CONSTRUCTION", "ACCEPTANCE", "COMPLETED")
STAGE_WORDS = dict(zip(STAGES, ("立项", "设计", "招标", "施工", "验收", "竣工"), strict=True))
REPORT_WORDS = {"INSPECTION": "日常巡查", "INCIDENT": "事件上报", "VISIT": "入户走访"}
OUTCOME_WORDS = {"DONE": "已完成", "UNABLE_TO_COMPLETE": "无法完成", "CANCELLED": "已取消"}
DIGITISED = date(2018, 1, 1)  # when the housing registry was first keyed in


def housing(pop: Population) -> list[Table]:
    """房屋基础信息 (UTF-8 CSV from the housing platform) and 老旧小区改造进度 (a spreadsheet)."""
    homes = Table(
        "housing",
        "房屋基础信息",
        stamp_of(pop.as_of),
        CSV_UTF8,
        columns(
            "房屋编码 社区代码 社区名称 网格编号 省 市 区县 街道 楼栋 单元 房号 "
            "所在楼层 有无电梯 户型 独立卫生间 房屋坐落 登记时间"
        ),
        "登记时间",
        text_column="房屋坐落",
        enum_column="有无电梯",
        unknown_word="不详",
        unknown_code="bad_bool",
    )
    for index, d in enumerate(pop.dwellings):
        a = d.address
        baths = 1 if d.has_separate_bathroom else 0
        halls = 1 if d.rooms > 1 else 0
        homes.add(
            "dwelling-registered",
            {
                "房屋编码": d.dwelling_id,
                "社区代码": d.community_code,
                "社区名称": a.community,
                "网格编号": d.grid_id,
                "省": a.province,
                "市": a.city,
                "区县": a.district,
                "街道": a.street,
                "楼栋": f"{d.building}号楼" if index % 5 else f"{d.building}栋",
                "单元": f"{d.unit}单元",
                "房号": d.room_number,
                "所在楼层": str(d.floor),
                "有无电梯": "有" if d.has_lift else "无",
                "户型": f"{d.rooms}室{halls}厅{baths}卫",
                "独立卫生间": "是" if d.has_separate_bathroom else "否",
                "房屋坐落": a.full_text,
                # a stable, spread-out day in the three years the registry was keyed in
                "登记时间": f"{DIGITISED + timedelta(days=(index * 7919) % 1096):%Y-%m-%d}",
            },
        )
    return [homes, _renovation(pop)]


def _renovation(pop: Population) -> Table:
    table = Table(
        "housing",
        "老旧小区改造进度",
        f"{pop.as_of:%Y%m}",
        XLSX,
        columns(
            "项目编号 社区代码 项目名称 改造楼栋 当前阶段 完成进度 改造内容 批复预算(万元) 填报日期"
        ),
        "填报日期",
        text_column="改造内容",
        enum_column="当前阶段",
        unknown_word="暂停",
    )
    names = {c.code: c.name.removesuffix("社区") for c in pop.communities}
    for r in pop.renovations:
        table.add(
            "renovation-progress-reported",
            {
                "项目编号": r.project_id,
                "社区代码": r.community_code,
                "项目名称": f"{names[r.community_code]}小区综合整治",
                "改造楼栋": "、".join(f"{b}号楼" for b in r.buildings),
                "当前阶段": STAGE_WORDS[r.stage],
                "完成进度": f"{r.percent}%",
                "改造内容": r.works,
                "批复预算(万元)": r.budget_fen / 1_000_000,  # a number cell, in 万元
                "填报日期": f"{r.at:%Y-%m-%d}",
            },
        )
    return table


def grid(pop: Population) -> list[Table]:
    """网格事件上报 and 网格任务流转 from the grid management platform (UTF-8 CSV)."""
    homes = {d.dwelling_id: d for d in pop.dwellings}
    reports = Table(
        "grid",
        "网格事件上报",
        stamp_of(pop.as_of),
        CSV_UTF8,
        columns(
            "上报编号 社区代码 网格编号 上报类型 房屋地址 当事人身份证号 网格员 "
            "情况描述 是否需要跟进 发生时间"
        ),
        "发生时间",
        id_column="当事人身份证号",
        text_column="情况描述",
        enum_column="上报类型",
        unknown_word="其它上报",
        address_column="房屋地址",
    )
    for r in pop.grid_reports:
        reports.add(
            "grid-report-filed",
            {
                "上报编号": r.report_id,
                "社区代码": r.community_code,
                "网格编号": r.grid_id,
                "上报类型": REPORT_WORDS[r.kind],
                "房屋地址": address_text(homes[r.dwelling_id], 2) if r.dwelling_id else "",
                "当事人身份证号": r.id_number or "",
                "网格员": worker_name(r.reporter),
                "情况描述": r.summary,
                "是否需要跟进": "是" if r.follow_up else "否",
                "发生时间": minutes(r.at),
            },
        )
    return [reports, _tasks(pop)]


def _tasks(pop: Population) -> Table:
    homes = {d.dwelling_id: d for d in pop.dwellings}
    table = Table(
        "grid",
        "网格任务流转",
        stamp_of(pop.as_of),
        CSV_UTF8,
        columns(
            "流水号 操作类型 任务编号 社区代码 网格编号 任务类型 预警编号 预警类型 房屋地址 "
            "对象身份证号 处置人工号 要求完成时间 任务说明 办结结果 办结说明 操作时间"
        ),
        "操作时间",
        text_column="任务说明",
        enum_column="操作类型",
        unknown_word="挂起",
        address_column="房屋地址",
    )
    steps: list[tuple[datetime, str, dict[str, Cell]]] = []
    for t in pop.grid_tasks:
        common: dict[str, Cell] = {
            "任务编号": t.task_id,
            "社区代码": t.community_code,
            "网格编号": t.grid_id,
        }
        assigned = {
            "操作类型": "派单",
            "任务类型": "便民服务",
            "房屋地址": address_text(homes[t.dwelling_id], 2) if t.dwelling_id else "",
            "处置人工号": t.assignee,
            "要求完成时间": minutes(t.due_at),
            "任务说明": t.summary,
        }
        steps.append((t.assigned_at, "task-assigned", {**common, **assigned}))
        if t.completed_at is not None and t.outcome is not None:
            closed = {
                "操作类型": "办结",
                "办结结果": OUTCOME_WORDS[t.outcome],
                "办结说明": "已现场处置" if t.outcome == "DONE" else "需协调相关部门",
            }
            steps.append((t.completed_at, "task-completed", {**common, **closed}))
    steps.sort(key=lambda s: s[0])
    for at, event, cells in steps:
        serial = f"{cells['任务编号']}-{1 if event == 'task-assigned' else 2:02d}"
        table.add(event, {**cells, "流水号": serial, "操作时间": minutes(at)})
    return table


def worker_name(code: str) -> str:
    """The grid worker's name, the same for a staff code every time."""
    rng = random.Random(f"worker:{code}")
    surname = rng.choices([s for s, _ in vocab.SURNAMES], [w for _, w in vocab.SURNAMES])[0]
    return surname + "".join(rng.choice(vocab.GIVEN["1970"][rng.randint(0, 1)]) for _ in "12")
