"""The civil-affairs exports: care-need assessments and care visits, kept as spreadsheets.

Column names and value words follow connectors/mappings/EXPORTS.md.
"""

from __future__ import annotations

from connectors.demo.model import Population
from connectors.demo.table import XLSX, Table, chinese_date, columns, stamp_of
from connectors.demo.tables_people import names_of

GRADE_WORDS = dict(
    zip(("NONE", "GRADE_1", "GRADE_2", "GRADE_3", "GRADE_4"), "无一二三四", strict=True)
)
VISIT_KINDS = {"HOME_VISIT": "入户走访", "PHONE_CALL": "电话问候", "VIDEO_CALL": "视频通话"}
VISIT_OUTCOMES = {
    "WELL": "情况良好",
    "NEEDS_FOLLOW_UP": "需跟进",
    "NOT_REACHED": "未联系上",
    "REFERRED_TO_SERVICES": "已转介",
}


def _yes(value: bool) -> str:
    return "是" if value else "否"


def _grade(grade: str) -> str:
    word = GRADE_WORDS[grade]
    return word if grade == "NONE" else f"{word}级"


def civil_affairs(pop: Population) -> list[Table]:
    """关爱对象评估台账 and 走访慰问记录, kept by the street office as spreadsheets."""
    return [_assessments(pop), _visits(pop)]


def _assessments(pop: Population) -> Table:
    table = Table(
        "civil-affairs",
        "关爱对象评估台账",
        stamp_of(pop.as_of),
        XLSX,
        columns(
            "评估编号 身份证号码 姓名 是否独居老人 残疾等级 "
            "是否低保 低保金额(元) 下次复核日期 评估日期"
        ),
        "评估日期",
        id_column="身份证号码",
        enum_column="残疾等级",
        unknown_word="五级",
    )
    name = names_of(pop)
    for serial, a in enumerate(pop.assessments, start=1):
        table.add(
            "care-need-assessed",
            {
                "评估编号": f"MZPG{a.assessed_at:%Y}-{serial:05d}",
                "身份证号码": a.id_number,
                "姓名": name(a.id_number),
                "是否独居老人": _yes(a.elderly_living_alone),
                "残疾等级": _grade(a.disability_grade),
                "是否低保": _yes(a.subsistence_allowance),
                "低保金额(元)": f"{a.allowance_fen / 100:,.2f}" if a.allowance_fen else None,
                "下次复核日期": a.next_review,  # a date cell
                "评估日期": chinese_date(a.assessed_at.date()),
            },
        )
    return table


def _visits(pop: Population) -> Table:
    table = Table(
        "civil-affairs",
        "走访慰问记录",
        stamp_of(pop.as_of),
        XLSX,
        columns("走访编号 身份证号码 姓名 走访方式 走访结果 走访单位 备注 走访时间"),
        "走访时间",
        id_column="身份证号码",
        text_column="备注",
        enum_column="走访结果",
        unknown_word="一般",
    )
    name = names_of(pop)
    for v in pop.visits:
        table.add(
            "care-visit-logged",
            {
                "走访编号": v.visit_id,
                "身份证号码": v.id_number,
                "姓名": name(v.id_number),
                "走访方式": VISIT_KINDS[v.kind],
                "走访结果": VISIT_OUTCOMES[v.outcome],
                "走访单位": v.visitor_org,
                "备注": v.notes,
                # a date-time cell: the spreadsheet stores it without a zone (China time)
                "走访时间": v.at.replace(tzinfo=None),
            },
        )
    return table
