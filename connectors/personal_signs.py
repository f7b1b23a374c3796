"""The signs that a column holds personal data: words in its header, shapes of its values.

Pure, and cheap where it runs per cell. A header is read once per mapping; values are
sniffed on a sample (``datong mapping check --sample``) and, for ID numbers and phone
numbers, on every row at run time; the HTTP intake asks ``pushed_class`` of every string it
is sent. Each function returns a personal class of ``schemas.data_classes`` (identifier,
name, phone) or None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date

from connectors.identity import check_digit
from schemas.data_classes import IDENTIFIER, NAME, PHONE

# Header words, most telling first: 联系人电话 is a phone, 受检者姓名 a name.
HEADER_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (IDENTIFIER, ("身份证", "证件号", "证件号码", "身份号码", "公民身份", "护照号")),
    (PHONE, ("电话", "手机", "联系方式", "移动号码")),
    (NAME, ("姓名", "名字", "联系人", "户主", "监护人", "受检者", "受种者", "患者")),
)
# Endings that say the column is about a thing, though a personal word appears in it:
# 患者数 and 联系人数 are counts, 证件类型 a category, 受检者单位 an organisation.
_NOT_A_PERSON = ("数", "数量", "人数", "类型", "类别", "编码", "代码", "机构", "单位")

_SEPARATORS = str.maketrans("", "", " -")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[1-9][0-9]{1,2}-[0-9]{7,8}")
_ID = re.compile(r"[0-9]{17}[0-9Xx]")
_SHORTEST, _LONGEST = 11, 24  # a mobile number; an ID number with spaces and +86 prefixes
_ID_LENGTH = 18
# Inside free text: a run of digits that is exactly a mobile number or an ID number.
_MOBILE_IN = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_ID_IN = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_CJK_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,3}·[\u4e00-\u9fff]{1,6}")
# The surnames of most residents (the hundred most common, a few of them two characters).
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
    "邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳"
)
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "司徒")
# Endings of places and organisations, which are 2-4 characters as names are: 协和医院, 王府井店.
_NOT_A_NAME_END = frozenset("院所站店局室心区市县村街路楼号组队处科部厂司校园馆社场中性码类")
# Field classes whose values are prose: a number written inside them is sniffed too.
PROSE_CLASSES = frozenset({"free_text"})
NAME_SHARE = 0.8  # of a sample's non-empty values, to call the column one of names
NAME_SAMPLE_MINIMUM = 3  # fewer values say nothing


def header_class(header: str) -> str | None:
    """The personal class a column's header names (``受检者姓名`` -> name), or None."""
    if header.endswith(_NOT_A_PERSON):
        return None
    for klass, words in HEADER_WORDS:
        if any(word in header for word in words):
            return klass
    return None


def value_class(value: str) -> str | None:
    """IDENTIFIER for an 18-digit ID number (a province, a birth date, the check digit),
    PHONE for a mainland mobile or landline number (with or without +86, spaces, dashes),
    else None; cheap for anything shorter than a phone number, as most cells are."""
    if not _SHORTEST <= len(value) <= _LONGEST:
        return None
    if _LANDLINE.fullmatch(value):
        return PHONE
    compact = value.translate(_SEPARATORS)
    if _ID.fullmatch(compact) and _is_id_number(compact):
        return IDENTIFIER
    if compact.startswith("+86"):
        compact = compact[3:]
    return PHONE if _MOBILE.fullmatch(compact) else None


def text_class(text: str) -> str | None:
    """``value_class`` of the whole text, or of an ID or mobile number written inside it
    (``联系电话13812345678``), for free text; None for text shorter than a phone number."""
    found = value_class(text)
    if found is not None or len(text) <= _SHORTEST:
        return found
    if holds_id_number(text):
        return IDENTIFIER
    return PHONE if _MOBILE_IN.search(text) else None


def holds_id_number(text: str) -> bool:
    """Whether an ID number is written anywhere in ``text`` as a run of 18 characters."""
    return any(_is_id_number(m.group().upper()) for m in _ID_IN.finditer(text))


def sniffer(field_class: str) -> Callable[[str], str | None]:
    """How a value headed for a field of ``field_class`` is sniffed for ID and phone numbers:
    the whole value, or inside it too for prose."""
    return text_class if field_class in PROSE_CLASSES else value_class


def pushed_class(value: str, field_class: str) -> str | None:
    """The personal class a value pushed into a field of ``field_class`` shows: an ID number
    anywhere in it, a phone number as the whole value (or inside prose), or a name as the
    whole value of a ``code`` field (no code of a thing is 2-4 Chinese characters after a
    surname; a label such as 白菜 or prose may be, so names are not guessed there)."""
    value = value.strip()
    found = sniffer(field_class)(value)
    if found is not None:
        return found
    if len(value) >= _ID_LENGTH and holds_id_number(value):
        return IDENTIFIER
    return NAME if field_class == "code" and looks_like_name(value) else None


def _is_id_number(digits: str) -> bool:
    """18 characters that read as a resident ID number: a province code (11-82), a birth
    date that exists from 1900 on, the right check digit. An 18-digit serial number (an
    order, a record) passes the check digit one time in eleven, a real date far less."""
    if not "11" <= digits[:2] <= "82" or not "1900" <= digits[6:10] <= "2099":
        return False
    try:
        date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    return check_digit(digits[:17]) == digits[17].upper()


def looks_like_name(value: str) -> bool:
    """2-4 Chinese characters (or a minority name with ·) starting with a common surname,
    not ending as a place or an organisation does."""
    if not _CJK_NAME.fullmatch(value) or value[-1] in _NOT_A_NAME_END:
        return False
    return value[0] in _SURNAMES or value.startswith(_COMPOUND_SURNAMES)


def sample_class(values: Iterable[str]) -> str | None:
    """The personal class a sample of a column's values shows: any ID or phone number, or
    mostly names (``NAME_SHARE`` of at least ``NAME_SAMPLE_MINIMUM`` values)."""
    seen = names = 0
    for value in values:
        found = value_class(value)
        if found is not None:
            return found
        seen += 1
        names += looks_like_name(value)
    if seen >= NAME_SAMPLE_MINIMUM and names >= NAME_SHARE * seen:
        return NAME
    return None
