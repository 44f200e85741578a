"""Code lists of the settlement documents, with their Chinese labels.

The schema fixes the national lists (证件类型, 性别, 失能等级, 人员类别, 医疗机构等级); the care-service types
are each residence city's own (规程 第十六条), so the schema only fixes their shape and the rules check the
configured list, DEFAULT_SERVICE_TYPES unless a deployment says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# 证件类型 (national code psn_cert_type)
ID_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "01": "居民身份证（户口簿）",
        "02": "中国人民解放军军官证",
        "03": "中国人民武装警察警官证",
        "04": "香港特区护照/港澳居民来往内地通行证",
        "05": "澳门特区护照/港澳居民来往内地通行证",
        "06": "台湾居民来往大陆通行证",
        "07": "外国人永久居留身份证",
        "08": "外国人护照",
        "09": "残疾人证",
        "10": "军烈属证明",
        "11": "外国人就业证",
        "12": "外国专家证",
        "13": "外国人常驻记者证",
        "14": "台港澳人员就业证",
        "15": "回国（来华）定居专家证",
        "16": "中国护照",
        "17": "港澳台居民居住证",
        "90": "社会保障卡",
        "99": "其他身份证件",
    }
)
RESIDENT_ID_CARD = "01"  # the only type whose number carries a GB 11643 check character

# 性别 (GB/T 2261.1)
SEXES: Mapping[str, str] = MappingProxyType({"0": "未知的性别", "1": "男", "2": "女", "9": "未说明的性别"})

# 失能等级 (医保发〔2021〕37号)
DISABILITY_LEVELS: Mapping[str, str] = MappingProxyType(
    {"0": "基本正常", "1": "轻度失能", "2": "中度失能", "3": "重度失能Ⅰ级", "4": "重度失能Ⅱ级", "5": "重度失能Ⅲ级"}
)

# 人员类别 = insurance scheme
PERSON_CATEGORIES: Mapping[str, str] = MappingProxyType({"1": "职工", "2": "居民"})

# 医疗机构等级
FACILITY_LEVELS: Mapping[str, str] = MappingProxyType({"1": "一级", "2": "二级", "3": "三级", "9": "未定级"})

# 护理服务类型: the default list, after the types the procedure names (第十六条)
DEFAULT_SERVICE_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "01": "居家护理",
        "02": "社区护理",
        "03": "机构护理（医疗专护）",
        "04": "机构护理（医养院护）",
        "05": "日间照料",
        "06": "辅助器具租赁",
    }
)

RECEIPT_STATUSES = ("accepted", "rejected")
