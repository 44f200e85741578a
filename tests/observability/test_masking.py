"""The masking rules: what is masked, what is left readable, and the structlog processor."""

from __future__ import annotations

import pytest

from gateway.observability.masking import mask_id_number, mask_name, mask_processor, mask_text, mask_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IdNumber 37030219500304123X refused", "IdNumber 3703**********123X refused"),
        ("old card 370302500304123", "old card 3703*******4123"),
        ("file 王秀英_370302195003041234.xml", "file 王**_3703**********1234.xml"),
        ("Entity '诸葛明' not defined", "Entity '诸葛*' not defined"),
        ("passport E12345678, 港澳通行证 H1234567890", "passport E******78, 港澳通行证 H********90"),
        ("台湾居民来往大陆通行证 12345678", "台湾居民来往大陆通行证 ******78"),
        ("<ns:Name>李四</ns:Name><IdNumber>370302195003041234</IdNumber>", "<ns:Name>李*</ns:Name><IdNumber>3703**********1234</IdNumber>"),
        ("<Checker>张建国</Checker>", "<Checker>张**</Checker>"),
        ("id_number=370302195003041234 姓名：赵丽", "id_number=****************** 姓名：赵*"),
    ],
)
def test_names_and_id_numbers_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected
    assert mask_text(expected) == expected  # idempotent: masking masked text changes nothing


@pytest.mark.parametrize(
    "text",
    [
        "37030020261125144100A1B2C3D4",  # a message id: sender + time + hex
        "sha256 e5db2d18e68c9883242fe994c19b3cd0040ed57f52e25b327639b7aeefaa9a4f",
        "A3-370300-370100-202610-60 r1 2026-10 370100->370300",
        "BenefitDays 待遇享受天数 exceeds; 费用审核 and 项目 are the form's words",
        "济南市 淄博市 烟台市 青岛市 医疗保障事业中心",
    ],
)
def test_the_gateway_s_own_words_stay_readable(text: str) -> None:
    assert mask_text(text) == text


def test_values_keys_and_containers() -> None:
    assert mask_id_number("370302195003041234") == "3703**********1234"
    assert mask_name("欧阳秀英") == "欧阳**" and mask_name("王五") == "王*"
    masked = mask_value({"id_number": "370302195003041234", "person_name": "Li Si",
                         "findings": [{"message": "王秀英 370302195003041234"}], "count": 3})
    assert masked == {"id_number": "3703**********1234", "person_name": "L****",
                      "findings": [{"message": "王** 3703**********1234"}], "count": 3}
    event = mask_processor(None, "info", {"event": "captured", "name": "A3_张三_370302195003041234.xml",
                                          "exception": "Traceback ... ValueError: 370302195003041234"})
    assert event == {"event": "captured", "name": "A3_张*_3703**********1234.xml",
                     "exception": "Traceback ... ValueError: 3703**********1234"}
