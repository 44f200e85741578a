"""Masking of personal data (names, ID numbers) in anything the gateway writes for people or other cities.

The documents' personal data stays in the spool; the gateway's own texts are written from codes and structure.
This module is the second line: whatever string reaches a log line, a console page, a NACK going to another
city or a CLI output passes through `mask_text` (or `mask_value` for nested data), so that a file name, an
exception or a parser message quoting a document cannot carry a person out.

What is masked:
- 18-character resident ID numbers (公民身份号码) and the old 15-digit ones: `3703**********123X`;
- other ID document numbers (passports, 港澳/台湾 permits, foreigners' permanent residence cards): a letter
  prefix with 7–12 digits, or 8–10 digits after such a document's keyword;
- Chinese personal names standing on their own (2–4 characters beginning with a common surname, not part of
  a longer Chinese text) and after 姓名/name markers;
- the content of known personal elements and fields (`<Name>`, `<IdNumber>`, `id_number=`...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "*"
# The ~100 most common single-character surnames and the compound ones (复姓) that still occur.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常"
    "温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍"
    "涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景"
    "党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐")
# Fields (log keys, dict keys, XML elements) that hold a person's name or document number, whatever they hold.
PERSONAL_FIELDS = frozenset(
    {"idnumber", "id_number", "id_no", "idno", "personname", "person_name", "insured_name", "patient_name",
     "姓名", "证件号码", "身份证号码", "公民身份号码"}
)
_PERSONAL_ELEMENTS = ("Name", "IdNumber", "PersonName", "Checker", "FirstReviewer", "PreparedBy", "ReviewedBy", "Reviewer")
# The gateway's own words that begin like a name (费用审核 starts with the surname 费): never masked.
DOMAIN_WORDS = frozenset({"申请单", "申请拨付", "费用初审", "费用复核", "费用审核", "费用总额", "项目", "金额", "万亿", "查明原因",
                          "明细", "时间", "单位", "经办", "经办人", "审核", "审核人", "复核", "复核人", "负责人", "汇总", "合计"})

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])|(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])")
_LETTER_ID = re.compile(r"(?<![0-9A-Za-z])([A-Z]{1,3})(\d{7,12})(?![0-9A-Za-z])")
_KEYWORD_ID = re.compile(r"((?:通行证|护照|居留证|军官证|警官证|passport|permit)[^0-9A-Za-z]{0,6})(\d{8,10})(?![0-9A-Za-z])", re.I)
_NAME_TOKEN = re.compile(rf"(?<![{_CJK}])[{_CJK}]{{2,4}}(?![{_CJK}])")
_NAME_MARKER = re.compile(rf"((?:姓名|名字|Name)\s*[:：=]\s*['\"]?)([{_CJK}A-Za-z·]{{1,20}})")
_ELEMENT = re.compile(r"(<(?:\w+:)?(%s)(?:\s[^>]*)?>)([^<]*)(</)" % "|".join(_PERSONAL_ELEMENTS))
_FIELD = re.compile(r"((?:%s)\s*[=:]\s*['\"]?)([^'\",;\s)]+)" % "|".join(sorted(PERSONAL_FIELDS, key=len, reverse=True)), re.I)


def mask_id_number(number: str) -> str:
    """`370302195003041234` → `3703**********1234`: the province and city stay readable, the person not."""
    number = number.strip()
    if len(number) <= 8:
        return MASK * len(number)
    return number[:4] + MASK * (len(number) - 8) + number[-4:]


def mask_name(name: str) -> str:
    """`王秀英` → `王**`: the surname alone identifies nobody."""
    name = name.strip()
    keep = 2 if name[:2] in COMPOUND_SURNAMES else 1
    return name[:keep] + MASK * (len(name) - keep)


def _looks_like_name(token: str) -> bool:
    if token in DOMAIN_WORDS:
        return False
    if token[:2] in COMPOUND_SURNAMES:
        return len(token) >= 3
    return token[0] in SURNAMES


def _mask_document_number(match: re.Match[str]) -> str:
    prefix, digits = match.group(1), match.group(2)
    return prefix + MASK * (len(digits) - 2) + digits[-2:]


def mask_text(text: str) -> str:
    """The text with every name and ID number it shows masked (idempotent: masked text stays as it is)."""
    if not text:
        return text
    text = _ELEMENT.sub(lambda m: m.group(1) + _mask_any(m.group(2), m.group(3)) + m.group(4), text)
    text = _FIELD.sub(lambda m: m.group(1) + MASK * len(m.group(2)), text)
    text = _NAME_MARKER.sub(lambda m: m.group(1) + mask_name(m.group(2)), text)
    text = _RESIDENT_ID.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _KEYWORD_ID.sub(_mask_document_number, text)
    text = _LETTER_ID.sub(_mask_document_number, text)
    return _NAME_TOKEN.sub(lambda m: mask_name(m.group(0)) if _looks_like_name(m.group(0)) else m.group(0), text)


def _mask_any(element: str, value: str) -> str:
    if not value.strip():
        return value
    return mask_id_number(value) if element == "IdNumber" else mask_name(value)


def mask_value(value: Any, key: str | None = None) -> Any:
    """Strings masked, containers walked (keys naming personal fields mask their whole value)."""
    if key is not None and key.lower() in PERSONAL_FIELDS and value is not None:
        text = str(value)
        return mask_name(text) if "name" in key.lower() or key == "姓名" else mask_id_number(text)
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [mask_value(v) for v in value]
    if isinstance(value, BaseException):
        return mask_text(f"{type(value).__name__}: {value}")
    return value


def mask_processor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor, the last before rendering: every value of every event is masked, tracebacks too."""
    return {k: mask_value(v, k) for k, v in event_dict.items()}
