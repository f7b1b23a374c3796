"""The household-registry export of the public security bureau (户籍业务导出).

One row per registry transaction; the mapping itself is data, in ``public_security.yaml``.
Columns (Chinese headers as the export writes them): 业务流水号 serial, 业务类型 action,
公民身份号码 ID number, 姓名 name, 性别 gender, 出生日期 birth date, 联系电话 phone,
户号 household number, 房屋编码 house code, 社区代码 community code, 住址 address,
办理时间 when the transaction took effect. The names stay here for the code that writes
such exports (test factories, the bench).
"""

from __future__ import annotations

from connectors.mappings.loader import department_spec
from connectors.mappings.mapper import DepartmentMapper

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

# The registry export's columns in the order the bureau's system writes them.
HEADER = (
    SERIAL,
    ACTION,
    ID_NUMBER,
    NAME,
    GENDER,
    BIRTH_DATE,
    PHONE,
    HOUSEHOLD_NO,
    DWELLING_ID,
    COMMUNITY,
    ADDRESS,
    EFFECTIVE,
)


class HouseholdRegisterMapping(DepartmentMapper):
    """The registry export's mapper from ``public_security.yaml``, keyed by ``hmac_key``."""

    def __init__(self, hmac_key: bytes) -> None:
        super().__init__(department_spec("public_security"), hmac_key)
