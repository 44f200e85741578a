"""An ACK's note is said whole in the receiving city's language (issue 14): a claim delivered with warnings of
the checks across documents gets a note all in Chinese for a zh-CN city, all in English for an `en` one, each
finding with its stable code; personal data quoted by a finding is masked, as in a NACK."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from adapters.replies import ReplySettings, SignedReplies
from gateway.documents.check import check_message
from gateway.domain.findings import Finding, phrase
from gateway.service.process import REDROP_NOTE

from tests.envelope.helpers import packed_sample

ID_NUMBER = "370302195003041234"


def _warned() -> list[Finding]:
    return [
        Finding("cross.entitled", "{who}: no entitlement notified to this residence city (待遇享受通知, 第十七条) "
                "covers {days}: the person is not entitled on those days",
                who=phrase("statement {n} (serial {serial})", n=1, serial="S-1"), days="2026-08-03"),
        Finding("cross.double_billing", "the file is not well-formed XML: {error}; fix it at line {at}",
                error=f"<IdNumber>{ID_NUMBER}</IdNumber>", at=2),
    ]


def _ack(parties, trust, languages: dict[str, str], **kwargs) -> str:
    gateway = parties["gateway"]
    replies = SignedReplies(ReplySettings(code=gateway.code, key=gateway.key_path, certificate=gateway.cert_path,
                                          languages=languages))
    answered = check_message(packed_sample(parties["zibo"]), trust)
    assert answered.header.sender == "370300"
    data = replies.ack(answered.header, answered.sha256, datetime.now(timezone.utc), **kwargs)
    result = check_message(data, trust)
    assert result.valid, result.findings
    return result.document.note


def test_a_warning_note_to_a_chinese_city_reads_all_chinese(parties, trust):
    note = _ack(parties, trust, {}, warned=_warned())
    assert note.startswith("交叉核对提示（已投递）：cross.double_billing, cross.entitled；")
    assert ("cross.entitled: 第 1 张结算单（流水号 S-1）：没有推送给本居住地的待遇享受通知（第十七条）覆盖 2026-08-03："
            "该参保人员在这些日期不享受待遇") in note
    assert "checks across documents" not in note and "statement 1" not in note and "the file is" not in note
    assert ID_NUMBER not in note
    # no English words of ours: what is left once the codes and the (masked) values are set aside
    words = set(re.findall(r"[A-Za-z]{3,}", re.sub(r"cross\.[a-z_]+|<[^>]*>", "", note)))
    assert words <= {"XML", "IdNumber"}, words


def test_a_warning_note_to_an_english_city_reads_all_english(parties, trust):
    note = _ack(parties, trust, {"370300": "en"}, warned=_warned())
    assert note.startswith("checks across documents warned (delivered): cross.double_billing, cross.entitled; ")
    assert "cross.entitled: statement 1 (serial S-1)" in note
    # English throughout (the procedure's own terms in brackets, as every English finding carries them)
    assert note == ("checks across documents warned (delivered): cross.double_billing, cross.entitled; "
                    "cross.entitled: statement 1 (serial S-1): no entitlement notified to this residence city "
                    "(待遇享受通知, 第十七条) covers 2026-08-03: the person is not entitled on those days; "
                    "cross.double_billing: the file is not well-formed XML: <IdNumber>3703**********1234</IdNumber>; "
                    "fix it at line 2")
    assert ID_NUMBER not in note


def test_another_citys_language_does_not_leak_into_the_ack(parties, trust):
    note = _ack(parties, trust, {"370100": "en"}, warned=_warned())
    assert note.startswith("交叉核对提示")


def test_the_redrop_note_is_said_in_the_citys_language(parties, trust):
    assert _ack(parties, trust, {}, note=REDROP_NOTE) == "再次投递：发送方重新提交了已失败的报文"
    assert _ack(parties, trust, {"370300": "en"}, note=REDROP_NOTE) == REDROP_NOTE.message
    assert _ack(parties, trust, {}) is None
