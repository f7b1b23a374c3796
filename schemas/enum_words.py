"""The words departments write for each enum symbol, and for yes and no: part of the contract.

Both ways in read them: the HTTP intake (``connectors.sources.json_contract``) and the file
mappings (an ``enum`` transform onto an enum field takes its own words, then these and the
symbols themselves), so a word accepted in a file is accepted over HTTP with the same
meaning. Words are compared after NFKC (full-width letters) and trimming. The shipped
mappings' own words are all listed here (``tests/unit/test_enum_words.py``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from functools import cache
from types import MappingProxyType

YES = ("是", "有", "Y", "YES", "TRUE", "1", "√", "✓")
NO = ("否", "无", "没有", "N", "NO", "FALSE", "0", "×")

# Avro enum full name -> {word: symbol}.
ENUM_WORDS: dict[str, dict[str, str]] = {
    "gov.civil_affairs.CareVisitKind": {
        "入户走访": "HOME_VISIT",
        "上门走访": "HOME_VISIT",
        "电话问候": "PHONE_CALL",
        "电话": "PHONE_CALL",
        "视频通话": "VIDEO_CALL",
        "视频": "VIDEO_CALL",
        "其他": "OTHER",
    },
    "gov.civil_affairs.CareVisitOutcome": {
        "情况良好": "WELL",
        "良好": "WELL",
        "正常": "WELL",
        "需跟进": "NEEDS_FOLLOW_UP",
        "需要跟进": "NEEDS_FOLLOW_UP",
        "未联系上": "NOT_REACHED",
        "无人应答": "NOT_REACHED",
        "已转介": "REFERRED_TO_SERVICES",
        "转介服务": "REFERRED_TO_SERVICES",
        "已送医": "REFERRED_TO_SERVICES",
    },
    "gov.commerce.DeliveryOutcome": {
        "已送达": "DELIVERED",
        "已签收": "DELIVERED",
        "已放门口": "LEFT_AT_DOOR",
        "无接触配送": "LEFT_AT_DOOR",
        "已取消": "CANCELLED",
    },
    "gov.common.AlertType": {
        "独居老人关怀": "WELFARE_CHECK",
        "隔离风险": "ISOLATION_RISK",
        "隔离配送": "QUARANTINE_DELIVERY",
        "红码预警": "RED_STATUS",
    },
    "gov.common.DisabilityGrade": {
        "无": "NONE",
        "无残疾": "NONE",
        "一级": "GRADE_1",
        "二级": "GRADE_2",
        "三级": "GRADE_3",
        "四级": "GRADE_4",
        "1级": "GRADE_1",
        "2级": "GRADE_2",
        "3级": "GRADE_3",
        "4级": "GRADE_4",
        "残疾一级": "GRADE_1",
        "残疾二级": "GRADE_2",
        "残疾三级": "GRADE_3",
        "残疾四级": "GRADE_4",
    },
    "gov.common.Gender": {
        "男": "MALE",
        "女": "FEMALE",
        "未知": "UNKNOWN",
        "M": "MALE",
        "F": "FEMALE",
    },
    "gov.common.HealthStatus": {
        "绿码": "GREEN",
        "绿色": "GREEN",
        "绿": "GREEN",
        "黄码": "YELLOW",
        "黄色": "YELLOW",
        "黄": "YELLOW",
        "红码": "RED",
        "红色": "RED",
        "红": "RED",
    },
    "gov.common.QuarantineKind": {
        "居家隔离": "HOME",
        "居家": "HOME",
        "集中隔离": "CENTRALIZED",
        "集中": "CENTRALIZED",
    },
    "gov.common.RenovationStage": {
        "计划": "PLANNED",
        "立项": "PLANNED",
        "设计": "DESIGN",
        "招标": "TENDERING",
        "招投标": "TENDERING",
        "施工": "CONSTRUCTION",
        "在建": "CONSTRUCTION",
        "验收": "ACCEPTANCE",
        "竣工": "COMPLETED",
        "完工": "COMPLETED",
        "已完成": "COMPLETED",
    },
    "gov.grid.GridReportKind": {
        "日常巡查": "INSPECTION",
        "巡查": "INSPECTION",
        "事件上报": "INCIDENT",
        "事件": "INCIDENT",
        "突发事件": "INCIDENT",
        "入户走访": "VISIT",
        "走访": "VISIT",
    },
    "gov.grid.GridTaskKind": {
        "预警处置": "ALERT_RESPONSE",
        "巡查": "INSPECTION",
        "入户走访": "VISIT",
        "走访": "VISIT",
        "便民服务": "SERVICE",
        "代购": "SERVICE",
        "陪诊": "SERVICE",
        "其他": "OTHER",
    },
    "gov.grid.TaskOutcome": {
        "已完成": "DONE",
        "完成": "DONE",
        "无法完成": "UNABLE_TO_COMPLETE",
        "已取消": "CANCELLED",
        "取消": "CANCELLED",
    },
    "gov.health.QuarantineOutcome": {
        "期满解除": "COMPLETED",
        "期满": "COMPLETED",
        "正常解除": "COMPLETED",
        "转院": "TRANSFERRED_TO_HOSPITAL",
        "转院治疗": "TRANSFERRED_TO_HOSPITAL",
        "转医院": "TRANSFERRED_TO_HOSPITAL",
        "撤销": "CANCELLED",
        "误判撤销": "CANCELLED",
        "其他": "OTHER",
    },
    "gov.health.TestResult": {
        "阴性": "NEGATIVE",
        "阳性": "POSITIVE",
        "可疑": "INCONCLUSIVE",
        "待复核": "INCONCLUSIVE",
        "无效": "INCONCLUSIVE",
    },
    "gov.health.TestType": {
        "核酸": "PCR",
        "核酸检测": "PCR",
        "新冠核酸": "PCR",
        "新冠病毒核酸检测": "PCR",
        "抗原": "ANTIGEN",
        "抗原检测": "ANTIGEN",
        "抗体": "ANTIBODY",
        "抗体检测": "ANTIBODY",
        "其他": "OTHER",
    },
    "gov.public_security.DeregistrationReason": {
        "迁出": "MOVED_AWAY",
        "死亡注销": "DEATH",
        "死亡": "DEATH",
        "注销": "OTHER",
        "删除申请": "ERASURE_REQUEST",
    },
}


def spoken(value: str) -> str:
    """A word as compared: NFKC (full-width letters), trimmed; inner spaces kept."""
    return unicodedata.normalize("NFKC", value).strip()


@cache
def words_of(enum: str) -> Mapping[str, str]:
    """The words of the Avro enum named ``enum`` (full name), as compared -> symbol."""
    return MappingProxyType({spoken(w): s for w, s in ENUM_WORDS.get(enum, {}).items()})


def symbol_for(value: str, symbols: Iterable[str], words: Mapping[str, str]) -> str | None:
    """The symbol ``value`` names (a symbol itself, or one of ``words``), or None."""
    text = spoken(value)
    if text in symbols:
        return text
    return words.get(text)


def accepted(symbols: Iterable[str], words: Iterable[str]) -> str:
    """What an enum field takes, in words for an error message."""
    listed = ", ".join(symbols)
    extra = ", ".join(words)
    return f"one of {listed}" + (f" (or the words {extra})" if extra else "")


def yes_no(value: str) -> bool | None:
    """True for a yes word, False for a no word (case-insensitive), None for anything else."""
    answer = spoken(value).upper()
    if answer in YES:
        return True
    return False if answer in NO else None
