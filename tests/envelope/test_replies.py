"""ACK, NACK and RECEIPT: signed, answering a message by id and SHA-256, and checked like any message."""

from __future__ import annotations

import hashlib

from gateway.documents.check import check_message
from gateway.documents.envelope import file_name
from gateway.documents.replies import NACK_ERROR_LIMIT, make_ack, make_nack, make_receipt
from gateway.domain.envelope import MessageType
from gateway.domain.findings import Finding

from tests.envelope.helpers import packed_sample


def test_ack_answers_the_message_and_passes_the_check(parties, trust):
    claim = packed_sample(parties["zibo"])
    answered = check_message(claim, trust)
    gateway = parties["gateway"]
    ack = make_ack(answered.header, answered.sha256, key=gateway.key, cert=gateway.cert, note="delivered")
    result = check_message(ack, trust)
    assert result.valid, result.findings
    header = result.header
    assert (header.type, header.sender, header.receiver) == (MessageType.ACK, "370000", "370300")
    assert (header.reply_to, header.reply_to_sha256) == (answered.header.message_id, answered.sha256)
    assert result.document.delivered_to == "370100" and result.document.note == "delivered"
    assert file_name(header) == f"ACK_{answered.header.message_id}.xml"


def test_nack_lists_every_finding_and_is_capped(parties, trust):
    answered = check_message(packed_sample(parties["zibo"]), trust)
    gateway = parties["gateway"]
    findings = [Finding("amount.total_split", f"row {n} is off", line=n + 10) for n in range(NACK_ERROR_LIMIT + 5)]
    nack = make_nack(answered.header, answered.sha256, findings, key=gateway.key, cert=gateway.cert,
                     original_name="claim.xml")
    result = check_message(nack, trust)
    assert result.valid, result.findings
    errors = result.document.errors
    assert len(errors) == NACK_ERROR_LIMIT + 1
    assert (errors[0].code, errors[0].line) == ("amount.total_split", 10)
    assert errors[-1].code == "nack.more" and errors[-1].message == "另有 5 个错误未列出"  # zh-CN unless asked
    assert result.document.original_name == "claim.xml"


def test_nack_of_an_unreadable_file_names_its_sha256(parties, trust):
    garbage = b"\x89PNG not xml"
    sha = hashlib.sha256(garbage).hexdigest()
    gateway = parties["gateway"]
    nack = make_nack(None, sha, check_message(garbage, trust).findings, key=gateway.key, cert=gateway.cert,
                     sender="370300", period="2026-10")
    result = check_message(nack, trust)
    assert result.valid, result.findings
    assert (result.header.receiver, result.header.reply_to, result.header.reply_to_sha256) == ("370300", None, sha)
    assert result.document.errors[0].code == "xml.syntax"
    assert file_name(result.header) == f"NACK_{sha[:16]}.xml"


def test_receipt_goes_back_from_receiver_to_sender(parties, trust):
    claim = packed_sample(parties["zibo"])
    jinan = parties["jinan"]
    for reason, status in ((None, "accepted"), ("期间不符", "rejected")):
        receipt = make_receipt(claim, key=jinan.key, cert=jinan.cert, reject_reason=reason)
        result = check_message(receipt, trust)
        assert result.valid, result.findings
        assert (result.header.sender, result.header.receiver) == ("370100", "370300")
        assert result.header.reply_to_sha256 == hashlib.sha256(claim).hexdigest()
        assert (result.document.status, result.document.reason) == (status, reason)


def test_a_city_cannot_send_an_ack(parties, trust):
    answered = check_message(packed_sample(parties["zibo"]), trust)
    jinan = parties["jinan"]
    fake = make_ack(answered.header, answered.sha256, key=jinan.key, cert=jinan.cert, gateway_code="370100")
    assert "envelope.direction" in check_message(fake, trust).codes
