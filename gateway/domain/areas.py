"""Insurance areas (统筹区) by the six-digit codes of the national healthcare-security platform.

An area is either a prefecture-level city of Shandong (its administrative code, GB/T 2260) or one of the two
provincial pools the procedure is also addressed to. The gateway itself signs its ACK/NACK under the
province's code, so that a city can pin the gateway's certificate like any other sender's.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

SHANDONG_CITIES: Mapping[str, str] = MappingProxyType(
    {
        "370100": "济南市",
        "370200": "青岛市",
        "370300": "淄博市",
        "370400": "枣庄市",
        "370500": "东营市",
        "370600": "烟台市",
        "370700": "潍坊市",
        "370800": "济宁市",
        "370900": "泰安市",
        "371000": "威海市",
        "371100": "日照市",
        # 371200 莱芜市 merged into 济南市 in 2019: its code is retired.
        "371300": "临沂市",
        "371400": "德州市",
        "371500": "聊城市",
        "371600": "滨州市",
        "371700": "菏泽市",
    }
)

# The national platform codes a province's own pool as XX9900; 胜利油田's separate pool is coded beside it.
# Both are configurable per deployment (config [cities]); see docs/documents.md for the source and caveat.
PROVINCIAL_POOLS: Mapping[str, str] = MappingProxyType(
    {
        "379900": "山东省本级",
        "379901": "胜利油田医疗保险管理服务中心",
    }
)

KNOWN_AREAS: Mapping[str, str] = MappingProxyType({**SHANDONG_CITIES, **PROVINCIAL_POOLS})

GATEWAY_AREA = "370000"  # 山东省: the exchange is run for the province (规程 第四条)


def area_name(code: str) -> str:
    """The area's Chinese name, or the code itself when it is not one we know."""
    return KNOWN_AREAS.get(code, GATEWAY_AREA == code and "山东省" or code)
