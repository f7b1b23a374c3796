"""The exports about people: the household registry and the health commission.

Column names, value words and date forms follow connectors/mappings/EXPORTS.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from connectors.demo.model import Population
from connectors.demo.table import (
    CSV_GB18030,
    CSV_UTF8_BOM,
    Cell,
    Table,
    address_text,
    columns,
    minutes,
    seconds,
    slashed,
    stamp_of,
)

GENDER_WORDS = {"MALE": "男", "FEMALE": "女"}
STATUS_WORDS = {"GREEN": "绿码", "YELLOW": "黄码", "RED": "红码"}
RESULT_WORDS = {"POSITIVE": "阳性", "NEGATIVE": "阴性", "INCONCLUSIVE": "待复核"}
KIND_WORDS = {"HOME": "居家隔离", "CENTRALIZED": "集中隔离"}
LIFT_WORDS = {"COMPLETED": "期满解除", "TRANSFERRED_TO_HOSPITAL": "转院治疗", "CANCELLED": "撤销"}


def registry(pop: Population) -> list[Table]:
    """户籍业务导出 (GB18030 CSV): one registration per resident, in the order of registration."""
    table = Table(
        "public-security",
        "户籍业务导出",
        stamp_of(pop.as_of),
        CSV_GB18030,
        columns(
            "业务流水号 业务类型 公民身份号码 姓名 性别 出生日期 联系电话 "
            "户号 房屋编码 社区代码 住址 办理时间"
        ),
        "办理时间",
        id_column="公民身份号码",
        text_column="住址",
        enum_column="业务类型",
        unknown_word="补录",
    )
    homes = {d.dwelling_id: d for d in pop.dwellings}
    people = sorted(pop.residents, key=lambda r: (r.registered_at, r.id_number))
    for serial, person in enumerate(people, start=1):
        if (person.registered_at.date() - person.birth_date).days < 60:
            action = "出生登记"
        elif person.id_number[:6] != person.community_code[:6]:
            action = "迁入"  # born elsewhere: moved in from another county
        else:
            action = "户口登记"
        table.add(
            "resident-registered",
            {
                "业务流水号": f"RB{person.registered_at:%Y%m%d}{serial:06d}",
                "业务类型": action,
                "公民身份号码": person.id_number,
                "姓名": person.name,
                "性别": GENDER_WORDS[person.gender],
                "出生日期": f"{person.birth_date:%Y-%m-%d}",
                "联系电话": person.phone or "",
                "户号": person.household_no,
                "房屋编码": person.dwelling_id,
                "社区代码": person.community_code,
                "住址": homes[person.dwelling_id].address.full_text,
                "办理时间": seconds(person.registered_at),
            },
        )
    return [table]


def health(pop: Population) -> list[Table]:
    """健康码状态变更, 核酸检测结果, 疫苗接种记录 and 隔离管控台账 (UTF-8 with BOM, from Excel)."""
    return [_statuses(pop), _tests(pop), _vaccinations(pop), _quarantines(pop)]


def names_of(pop: Population) -> Callable[[str], str]:
    """Residents' names by ID number."""
    names = {r.id_number: r.name for r in pop.residents}
    return names.__getitem__


def _statuses(pop: Population) -> Table:
    table = Table(
        "health",
        "健康码状态变更",
        stamp_of(pop.as_of),
        CSV_UTF8_BOM,
        columns("记录编号 证件号码 姓名 健康码状态 变更原因 变更时间"),
        "变更时间",
        id_column="证件号码",
        text_column="变更原因",
        enum_column="健康码状态",
        unknown_word="灰码",
    )
    name = names_of(pop)
    for serial, change in enumerate(pop.health_statuses, start=1):
        table.add(
            "health-status-changed",
            {
                "记录编号": f"JKM{change.at:%Y%m%d}{serial:06d}",
                "证件号码": change.id_number,
                "姓名": name(change.id_number),
                "健康码状态": STATUS_WORDS[change.status],
                "变更原因": change.reason,
                "变更时间": seconds(change.at),
            },
        )
    return table


def _tests(pop: Population) -> Table:
    table = Table(
        "health",
        "核酸检测结果",
        stamp_of(pop.as_of),
        CSV_UTF8_BOM,
        columns("样本编号 证件号码 姓名 检测项目 检测结果 采样时间 检测机构代码 报告时间"),
        "报告时间",
        id_column="证件号码",
        enum_column="检测结果",
        unknown_word="弱阳",
    )
    name = names_of(pop)
    for test in pop.tests:
        table.add(
            "test-result-reported",
            {
                "样本编号": f"S{test.id_number[:6]}{test.test_id[4:]}",
                "证件号码": test.id_number,
                "姓名": name(test.id_number),
                "检测项目": "核酸检测",
                "检测结果": RESULT_WORDS[test.result],
                "采样时间": minutes(test.sampled_at),
                "检测机构代码": test.lab,
                "报告时间": minutes(test.reported_at),
            },
        )
    return table


def _vaccinations(pop: Population) -> Table:
    table = Table(
        "health",
        "疫苗接种记录",
        stamp_of(pop.as_of),
        CSV_UTF8_BOM,
        columns(
            "接种记录编号 受种者身份证号 受种者姓名 疫苗名称 "
            "接种剂次 疫苗批号 接种单位编码 接种时间"
        ),
        "接种时间",
        id_column="受种者身份证号",
    )
    name = names_of(pop)
    for dose in pop.vaccinations:
        table.add(
            "vaccination-recorded",
            {
                "接种记录编号": dose.record_id,
                "受种者身份证号": dose.id_number,
                "受种者姓名": name(dose.id_number),
                "疫苗名称": dose.vaccine,
                "接种剂次": f"第{dose.dose}剂",
                "疫苗批号": dose.batch_no,
                "接种单位编码": dose.site_code,
                "接种时间": slashed(dose.at),
            },
        )
    return table


def _quarantines(pop: Population) -> Table:
    """Orders and releases in one ledger; a release repeats its order's kind and address."""
    table = Table(
        "health",
        "隔离管控台账",
        stamp_of(pop.as_of),
        CSV_UTF8_BOM,
        columns(
            "流水号 管控措施 隔离编号 证件号码 姓名 联系电话 隔离方式 隔离地址 隔离点编码 "
            "隔离开始时间 计划解除时间 隔离原因 解除方式 操作时间"
        ),
        "操作时间",
        id_column="证件号码",
        text_column="隔离原因",
        enum_column="管控措施",
        unknown_word="转运",
        address_column="隔离地址",
    )
    steps = sorted(_ledger(pop), key=lambda s: s[0])
    for serial, (at, event, cells) in enumerate(steps, start=1):
        table.add(event, {**cells, "流水号": f"GL{at:%Y%m%d}{serial:06d}", "操作时间": minutes(at)})
    return table


def _ledger(pop: Population) -> list[tuple[datetime, str, dict[str, Cell]]]:
    """Each order, and each release, as (when, event, cells) before numbering."""
    people = {r.id_number: r for r in pop.residents}
    homes = {d.dwelling_id: d for d in pop.dwellings}
    steps: list[tuple[datetime, str, dict[str, Cell]]] = []
    for order in pop.quarantines:
        person = people[order.id_number]
        common: dict[str, Cell] = {
            "隔离编号": order.quarantine_id,
            "证件号码": order.id_number,
            "姓名": person.name,
            "联系电话": person.phone or "",
            "隔离方式": KIND_WORDS[order.kind],
            "隔离地址": address_text(homes[order.dwelling_id], 5) if order.dwelling_id else "",
        }
        ordered = {
            "管控措施": "开始隔离",
            "隔离点编码": order.facility or "",
            "隔离开始时间": minutes(order.starts_at),
            "计划解除时间": minutes(order.planned_end_at),
            "隔离原因": order.reason,
        }
        steps.append((order.ordered_at, "quarantine-ordered", {**common, **ordered}))
        if order.lifted_at is not None and order.outcome is not None:
            lifted = {"管控措施": "解除隔离", "解除方式": LIFT_WORDS[order.outcome]}
            steps.append((order.lifted_at, "quarantine-lifted", {**common, **lifted}))
    return steps
