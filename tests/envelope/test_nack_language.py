"""A NACK carries each finding's stable code and its message in the receiving city's language (issue 14):
zh-CN unless the city's `language` says "en"; personal data quoted by a finding is masked in either."""

from __future__ import annotations

from datetime import datetime, timezone

from adapters.replies import ReplySettings, SignedReplies
from gateway.documents.check import check_message
from gateway.domain.findings import Finding, phrase

from tests.envelope.helpers import packed_sample

ID_NUMBER = "370302195003041234"


def _findings() -> list[Finding]:
    return [
        Finding("period.order", "{who}: EndDate {end} is before StartDate {start}", 12, "/PersonStatement",
                who=phrase("statement {n} (serial {serial})", n=1, serial="S-9"), end="2026-10-01",
                start="2026-10-05"),
        Finding("xml.syntax", "the file is not well-formed XML: {error}; fix it at line {at}", 3,
                error=f"unexpected <IdNumber>{ID_NUMBER}</IdNumber>", at=3),
    ]


def _nack(parties, trust, languages: dict[str, str]):
    gateway = parties["gateway"]
    replies = SignedReplies(ReplySettings(code=gateway.code, key=gateway.key_path, certificate=gateway.cert_path,
                                          languages=languages))
    answered = check_message(packed_sample(parties["zibo"]), trust)
    data = replies.nack("370300", answered.header, answered.sha256, _findings(), datetime.now(timezone.utc))
    result = check_message(data, trust)
    assert result.valid, result.findings
    return result.document.errors


def test_a_nack_is_in_chinese_by_default(parties, trust):
    errors = _nack(parties, trust, {})
    assert [e.code for e in errors] == ["period.order", "xml.syntax"]
    assert errors[0].message == "第 1 张结算单（流水号 S-9）：结束日期 EndDate 2026-10-01 早于开始日期 StartDate 2026-10-05"
    assert errors[1].message.startswith("文件不是格式正确的 XML") and ID_NUMBER not in errors[1].message
    assert "3703" in errors[1].message  # masked, not dropped: the clerk still sees where


def test_a_city_that_asks_for_english_gets_english(parties, trust):
    errors = _nack(parties, trust, {"370300": "en"})
    assert [e.code for e in errors] == ["period.order", "xml.syntax"]
    assert errors[0].message == "statement 1 (serial S-9): EndDate 2026-10-01 is before StartDate 2026-10-05"
    assert errors[1].message.startswith("the file is not well-formed XML") and ID_NUMBER not in errors[1].message


def test_another_citys_language_does_not_leak(parties, trust):
    errors = _nack(parties, trust, {"370100": "en"})  # Jinan reads English; the NACK goes to Zibo
    assert errors[0].message.startswith("第 1 张结算单")
