"""The Dispute and DisputeAnswer bodies: schema (xsd/dispute.xsd through settlement.xsd and the envelope),
reader/writer round trip, the dispute.* rules and the envelope checks, one failing case per code."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from lxml import etree

from gateway.documents import safe_xml, schema
from gateway.documents.reader import read_document
from gateway.documents.sample import sample_document, sample_dispute, sample_dispute_answer
from gateway.documents.writer import to_bytes
from gateway.domain import settlement as m
from gateway.domain.envelope import Header, MessageType
from gateway.domain.rules import check_document

RESIDENCE, INSURED = "370300", "370100"
PERIOD = "2026-10"


def header(kind: MessageType, sender: str, receiver: str, serial: str, **changes) -> Header:
    values = dict(message_id=f"{sender}X{kind.value.replace('_', '')}", type=kind, sender=sender, receiver=receiver,
                  period=PERIOD, serial=serial, revision=1, created=datetime(2026, 11, 25, tzinfo=timezone.utc))
    values.update(changes)
    return Header(**values)


def disputed(kind: str) -> tuple[m.Attachment, Header]:
    sender, receiver = (INSURED, RESIDENCE) if kind == "A4" else (RESIDENCE, INSURED)
    document = sample_document(kind, sender, receiver, PERIOD, persons=5, seed=3)
    return document, header(MessageType(kind), sender, receiver, document.serial)


def a_dispute(kind: str = "A3") -> m.Dispute:
    document, about = disputed(kind)
    return sample_dispute(document, about, about.receiver, seed=1)


def an_answer(outcome: str = m.PARTIALLY_ACCEPTED) -> m.DisputeAnswer:
    return sample_dispute_answer(a_dispute(), RESIDENCE, outcome=outcome)


def codes(document, head: Header | None = None) -> set[str]:
    return {f.code for f in check_document(document, head)}


def schema_codes(data: bytes) -> set[str]:
    return {f.code for f in schema.validate(safe_xml.parse(data).getroot())}


@pytest.mark.parametrize("kind", ["A1", "A2", "A3", "A4", "A5"])
def test_a_sample_dispute_about_each_attachment_passes_and_round_trips(kind: str) -> None:
    dispute = a_dispute(kind)
    data = to_bytes(dispute)
    assert schema_codes(data) == set()
    back = read_document(safe_xml.parse(data).getroot())
    assert replace(back, line=None) == dispute
    assert codes(back) == set()
    assert dispute.disputed_type == kind and {dispute.residence_city, dispute.insured_city} == {RESIDENCE, INSURED}
    subject = {"A1": "facility", "A2": "person", "A3": "amount", "A4": "amount", "A5": "facility"}[kind]
    assert dispute.subject == subject and dispute.expected != dispute.stated


def test_a_dispute_names_statements_by_serial_never_by_person() -> None:
    claim, about = disputed("A3")
    dispute = sample_dispute(claim, about, INSURED, seed=1)
    text = to_bytes(dispute).decode()
    assert dispute.statement_serials and set(dispute.statement_serials) <= {s.serial for s in claim.statements}
    for statement in claim.statements:
        assert statement.id_number not in text and statement.name not in text


@pytest.mark.parametrize("outcome", [m.ACCEPTED, m.REJECTED, m.PARTIALLY_ACCEPTED])
def test_each_answer_outcome_passes_and_round_trips(outcome: str) -> None:
    answer = an_answer(outcome)
    data = to_bytes(answer)
    assert schema_codes(data) == set()
    assert replace(read_document(safe_xml.parse(data).getroot()), line=None) == answer
    assert codes(answer) == set()
    assert (answer.corrected_amount is None) == (outcome == m.REJECTED)


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (lambda t: t.replace("<Subject>amount<", "<Subject>money<"), "xsd.enumeration"),
        (lambda t: t.replace("<DisputedType>A3<", "<DisputedType>ACK<"), "xsd.enumeration"),
        (lambda t: _set(t, "Expected", "-1.00"), "xsd.pattern"),
        (lambda t: _set(t, "Stated", "12.5"), "xsd.pattern"),
        (lambda t: _set(t, "Explanation", "   "), "xsd.pattern"),
        (lambda t: _drop(t, "Explanation"), "xsd.unexpected"),
        (lambda t: _drop(t, "RaisedAt"), "xsd.missing"),
        (lambda t: t.replace("<Serial>", "<Serial>bad serial ", 1), "xsd.pattern"),
    ],
)
def test_the_dispute_schema_refuses(edit, code: str) -> None:
    assert code in schema_codes(edit(to_bytes(a_dispute()).decode()).encode())


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (lambda t: t.replace("<Outcome>partially_accepted<", "<Outcome>maybe<"), "xsd.enumeration"),
        (lambda t: _set(t, "CorrectedAmount", "1.234"), "xsd.pattern"),
        (lambda t: _drop(t, "DisputeSerial"), "xsd.unexpected"),
    ],
)
def test_the_answer_schema_refuses(edit, code: str) -> None:
    assert code in schema_codes(edit(to_bytes(an_answer()).decode()).encode())


def _set(text: str, element: str, value: str) -> str:
    start = text.index(f"<{element}>") + len(element) + 2
    return text[:start] + value + text[text.index(f"</{element}>"):]


def _drop(text: str, element: str) -> str:
    start = text.index(f"<{element}>")
    return text[:start] + text[text.index(f"</{element}>") + len(element) + 3:]


def test_dispute_rules_one_failing_case_per_code() -> None:
    dispute = a_dispute()
    assert "dispute.no_difference" in codes(replace(dispute, expected=dispute.stated))
    assert "dispute.no_difference" not in codes(replace(dispute, subject=m.SUBJECT_PERSON, expected=dispute.stated))
    assert "dispute.statements" in codes(replace(dispute, subject=m.SUBJECT_PERSON, statement_serials=[]))
    doubled = dispute.statement_serials[:1] * 2
    assert "dispute.statements" in codes(replace(dispute, statement_serials=doubled))
    assert "dispute.facility" in codes(replace(dispute, subject=m.SUBJECT_FACILITY, facility_code=None))
    assert "route.same_city" in codes(replace(dispute, insured_city=RESIDENCE))
    assert "route.unknown_area" in codes(replace(dispute, insured_city="999999"))


def test_answer_rules_one_failing_case_per_code() -> None:
    rejected = an_answer(m.REJECTED)
    assert "dispute.corrected_amount" in codes(replace(rejected, corrected_amount=Decimal("1.00")))
    assert "dispute.correction" in codes(replace(rejected, correction_serial="A3-CORRECTED"))
    for outcome in (m.ACCEPTED, m.PARTIALLY_ACCEPTED):
        assert "dispute.corrected_amount" in codes(replace(an_answer(outcome), corrected_amount=None))
    assert codes(replace(an_answer(m.ACCEPTED), correction_serial="A3-CORRECTED")) == set()
    assert "route.same_city" in codes(replace(rejected, residence_city=INSURED))


@pytest.mark.parametrize("sender", [INSURED, RESIDENCE])
def test_a_dispute_goes_either_way_between_its_two_cities(sender: str) -> None:
    dispute = a_dispute()
    receiver = RESIDENCE if sender == INSURED else INSURED
    assert codes(dispute, header(MessageType.DISPUTE, sender, receiver, dispute.serial)) == set()


def test_the_dispute_agrees_with_its_envelope() -> None:
    dispute = a_dispute()
    good = header(MessageType.DISPUTE, INSURED, RESIDENCE, dispute.serial)
    assert "envelope.period" in codes(dispute, replace(good, period="2026-09"))
    assert "envelope.serial" in codes(dispute, replace(good, serial="OTHER"))
    assert "envelope.cities" in codes(dispute, replace(good, sender="370600"))
    assert "envelope.type" in codes(dispute, replace(good, type=MessageType.DISPUTE_ANSWER))
    answer = an_answer()
    assert "envelope.cities" in codes(answer, header(MessageType.DISPUTE_ANSWER, RESIDENCE, "370600", answer.serial))


def test_message_types_and_their_body_roots_are_in_the_envelope_schema() -> None:
    text = (schema.schema_path("envelope")).read_text(encoding="utf-8")
    for kind in (MessageType.DISPUTE, MessageType.DISPUTE_ANSWER):
        assert f'<xs:enumeration value="{kind.value}"/>' in text
        assert kind.is_dispute and not kind.is_attachment and not kind.is_reply and kind.names_reference
    tree = etree.parse(str(schema.schema_path("settlement")))
    assert "dispute.xsd" in {i.get("schemaLocation") for i in tree.getroot()}
