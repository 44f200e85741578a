"""The 第三十一条 pieces and the withdrawal as documents: schema, round trip, one failing case per new rule code,
and their printed forms."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import date, timedelta

import pytest

from gateway.documents import safe_xml
from gateway.documents.reader import read_document
from gateway.documents.render import render_pdf
from gateway.documents.sample import sample_dispute, sample_dispute_result, sample_withdrawal
from gateway.documents.writer import to_bytes
from gateway.domain import settlement as m
from gateway.domain.envelope import MessageType
from tests.disputes.test_dispute_documents import INSURED, RESIDENCE, codes, disputed, header, schema_codes

APPLIED = date(2026, 11, 20)


def application(kind: str = "person") -> m.Dispute:
    document, about = disputed("A3")
    return sample_dispute(document, about, RESIDENCE, seed=1, applicant=kind, applied_on=APPLIED,
                          raised_at=date(2026, 11, 24))


def dispute_header(dispute: m.Dispute, sender: str = RESIDENCE):
    receiver = INSURED if sender == RESIDENCE else RESIDENCE
    return header(MessageType.DISPUTE, sender, receiver, dispute.serial)


@pytest.mark.parametrize("kind", ["person", "facility"])
def test_an_application_passes_and_round_trips(kind: str) -> None:
    dispute = application(kind)
    data = to_bytes(dispute)
    assert schema_codes(data) == set()
    back = read_document(safe_xml.parse(data).getroot())

    def unlined(d: m.Dispute) -> m.Dispute:
        return replace(d, line=None, application=replace(d.application, line=None))

    assert unlined(back) == unlined(dispute)
    assert codes(dispute, dispute_header(dispute)) == set()


def test_each_application_rule() -> None:
    person = application("person")
    app = person.application
    assert "dispute.applicant" in codes(replace(person, application=replace(app, id_number="370302199001011234")))
    assert "dispute.applicant" in codes(replace(person, application=replace(app, id_number=None)))
    assert "dispute.applicant" in codes(replace(person, application=replace(app, facility_code="X1")))
    facility = application("facility")
    assert "dispute.applicant" in codes(replace(facility, application=replace(facility.application, facility_code=None)))
    assert "dispute.applicant" in codes(replace(facility, application=replace(facility.application, id_type="01",
                                                                               id_number=app.id_number)))
    later = replace(person, application=replace(app, applied_on=person.raised_at + timedelta(days=1)))
    assert "dispute.application_date" in codes(later)
    assert codes(person, dispute_header(person, sender=INSURED)) == {"dispute.applicant_direction"}


def test_a_result_and_its_rules() -> None:
    dispute = application()
    result = sample_dispute_result(dispute, answered_on=date(2026, 11, 25))
    data = to_bytes(result)
    assert schema_codes(data) == set()
    assert read_document(safe_xml.parse(data).getroot()).dispute_serial == dispute.serial
    head = header(MessageType.DISPUTE_RESULT, RESIDENCE, INSURED, result.serial)
    assert codes(result, head) == set()
    assert "dispute.answered_on" in codes(replace(result, answered_on=date(2026, 12, 1)), head)
    assert "dispute.corrected_amount" in codes(replace(result, corrected_amount=None), head)
    assert "dispute.applicant_direction" in codes(result, header(MessageType.DISPUTE_RESULT, INSURED, RESIDENCE,
                                                                 result.serial))


def test_a_withdrawal_and_its_rules() -> None:
    document, about = disputed("A3")
    withdrawal = sample_withdrawal(document, about, withdrawn_at=date(2026, 11, 25))
    data = to_bytes(withdrawal)
    assert schema_codes(data) == set()
    assert read_document(safe_xml.parse(data).getroot()).withdrawn_serial == document.serial
    head = header(MessageType.WITHDRAWAL, RESIDENCE, INSURED, withdrawal.serial)
    assert codes(withdrawal, head) == set()
    assert codes(replace(withdrawal, withdrawn_at=date(2026, 11, 26)), head) == {"withdrawal.date"}
    assert codes(withdrawal, header(MessageType.WITHDRAWAL, INSURED, RESIDENCE, withdrawal.serial)) == {
        "withdrawal.direction"}
    blank = data.replace(withdrawal.reason.encode(), b"   ")
    assert schema_codes(blank)  # a withdrawal says why


def text_of(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf)
    return re.sub(r"\s+", "", subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                                             text=True).stdout)


def test_the_forms_print(tmp_path) -> None:
    dispute = application("facility")
    text = text_of(render_pdf(dispute), tmp_path)
    assert "申请人" in text and dispute.application.facility_code in text and "自申请之日起15个工作日内" in text
    result = text_of(render_pdf(sample_dispute_result(dispute, answered_on=date(2026, 11, 25))), tmp_path)
    assert "争议处理结果反馈单" in result and dispute.serial in result
