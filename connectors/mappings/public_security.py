"""The household-registry export of the public security bureau (户籍业务导出).

One row per registry transaction. Columns (Chinese headers as the export writes them):
业务流水号 serial, 业务类型 action, 公民身份号码 ID number, 姓名 name, 性别 gender,
出生日期 birth date, 联系电话 phone, 户号 household number, 房屋编码 house code,
社区代码 community code, 住址 address, 办理时间 when the transaction took effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import Event
from connectors.dates import parse_date, parse_datetime, utc
from connectors.errors import RecordError
from connectors.identity import birth_of, gender_of, mask_name, mask_phone, normalize_id, person_key

DEPARTMENT = "public-security"

SERIAL = "业务流水号"
ACTION = "业务类型"
ID_NUMBER = "公民身份号码"
NAME = "姓名"
GENDER = "性别"
BIRTH_DATE = "出生日期"
PHONE = "联系电话"
HOUSEHOLD_NO = "户号"
DWELLING_ID = "房屋编码"
COMMUNITY = "社区代码"
ADDRESS = "住址"
EFFECTIVE = "办理时间"

# Action words as registry clerks enter them -> (event, deregistration reason).
ACTIONS: dict[str, tuple[str, str | None]] = {
    "登记": ("resident-registered", None),
    "户口登记": ("resident-registered", None),
    "出生登记": ("resident-registered", None),
    "迁入": ("resident-registered", None),
    "居住登记": ("resident-registered", None),
    "迁移": ("resident-moved", None),
    "住址变更": ("resident-moved", None),
    "变更住址": ("resident-moved", None),
    "迁出": ("resident-deregistered", "MOVED_AWAY"),
    "死亡注销": ("resident-deregistered", "DEATH"),
    "死亡": ("resident-deregistered", "DEATH"),
    "注销": ("resident-deregistered", "OTHER"),
    "删除申请": ("resident-deregistered", "ERASURE_REQUEST"),
}
GENDERS = {"男": "MALE", "女": "FEMALE", "未知": "UNKNOWN", "M": "MALE", "F": "FEMALE"}

REQUIRED = (SERIAL, ACTION, ID_NUMBER, EFFECTIVE)


def _text(fields: Mapping[str, str | None], name: str, required: bool = False) -> str | None:
    if name not in fields:
        if required:
            raise RecordError(name, "column is missing from the export", "missing_column")
        return None
    value = fields[name]
    if value is None:
        if required:
            raise RecordError(
                name, "is missing (the row has fewer columns than the header)", "missing_field"
            )
        return None
    value = value.strip()
    if not value:
        if required:
            raise RecordError(name, "is empty", "missing_field")
        return None
    return value


class RegistryMapping:
    """Maps one registry row to a public-security event, pseudonymized under ``hmac_key``."""

    department = DEPARTMENT

    def __init__(self, hmac_key: bytes) -> None:
        self._hmac_key = hmac_key

    def __call__(self, fields: Mapping[str, str | None]) -> Event:
        """Map a registry row; RecordError names the first bad field."""
        values = {name: _text(fields, name, required=True) for name in REQUIRED}
        action = str(values[ACTION])
        if action not in ACTIONS:
            raise RecordError(ACTION, f"is not one of {', '.join(ACTIONS)}", "bad_enum")
        event, reason = ACTIONS[action]
        id_number = normalize_id(str(values[ID_NUMBER]), ID_NUMBER)
        key = person_key(id_number, self._hmac_key)
        record: dict[str, Any] = {
            "event_id": f"{DEPARTMENT}:{values[SERIAL]}",
            "event_time": utc(parse_datetime(str(values[EFFECTIVE]), EFFECTIVE)),
            "department": DEPARTMENT,
            "person_key": key,
        }
        if event == "resident-registered":
            record.update(self._registered(fields, id_number))
        elif event == "resident-moved":
            record.update(_place(fields))
        else:
            record["reason"] = reason
        return Event(DEPARTMENT, event, key, record)

    def _registered(self, fields: Mapping[str, str | None], id_number: str) -> dict[str, Any]:
        birth = birth_of(id_number, ID_NUMBER)
        stated_birth = _text(fields, BIRTH_DATE)
        if stated_birth is not None and parse_date(stated_birth, BIRTH_DATE) != birth:
            raise RecordError(
                BIRTH_DATE, f"does not match the date of birth in {ID_NUMBER}", "inconsistent"
            )
        gender_word = _text(fields, GENDER)
        gender = gender_of(id_number)
        if gender_word is not None:
            if gender_word not in GENDERS:
                raise RecordError(GENDER, f"is not one of {', '.join(GENDERS)}", "bad_enum")
            gender = GENDERS[gender_word]
        phone = _text(fields, PHONE)
        return {
            "name_masked": mask_name(_text(fields, NAME, required=True) or "", NAME),
            "gender": gender,
            "birth_date": birth,
            "phone_masked": mask_phone(phone, PHONE) if phone else None,
            "household_no": _text(fields, HOUSEHOLD_NO),
            **_place(fields),
        }


def _place(fields: Mapping[str, str | None]) -> dict[str, Any]:
    return {
        "dwelling_id": _text(fields, DWELLING_ID),
        "community_code": _text(fields, COMMUNITY, required=True),
        "address": _text(fields, ADDRESS),
    }
