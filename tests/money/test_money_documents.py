"""The PaymentAdvice (PAYMENT, 第二十六条) and RecoveryRefund (REFUND, 第二十九条) bodies: schema (xsd/money.xsd
through settlement.xsd and the envelope), reader/writer round trip, the payment.* and refund.* rules and the
envelope checks, one failing case per code; no finding carries a name or an ID number."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from gateway.documents import safe_xml, schema
from gateway.documents.reader import read_document
from gateway.documents.sample import sample_money
from gateway.documents.writer import to_bytes
from gateway.domain import settlement as m
from gateway.domain.envelope import Header, MessageType
from gateway.domain.rules import check_document

RESIDENCE, INSURED = "370300", "370100"
PERIOD = "2026-10"
PAID_ON = date(2026, 12, 20)


def payment(**changes) -> m.PaymentAdvice:
    return replace(sample_money("PAYMENT", INSURED, RESIDENCE, PERIOD, persons=6, seed=2, value_date=PAID_ON),
                   **changes)


def refund(**changes) -> m.RecoveryRefund:
    return replace(sample_money("REFUND", RESIDENCE, INSURED, PERIOD, persons=12, seed=2, value_date=PAID_ON),
                   **changes)


def header(doc, *, sender: str | None = None, receiver: str | None = None, **changes) -> Header:
    kind = doc.type
    default = (INSURED, RESIDENCE) if kind is MessageType.PAYMENT else (RESIDENCE, INSURED)
    values = dict(message_id="370100X1", type=kind, sender=sender or default[0], receiver=receiver or default[1],
                  period=PERIOD, serial=doc.serial, revision=1,
                  created=datetime(2026, 12, 21, 2, tzinfo=timezone.utc))
    values.update(changes)
    return Header(**values)


def codes(doc, head: Header | None = None, **options) -> set[str]:
    return {f.code for f in check_document(doc, head, **options)}


def schema_codes(data: bytes) -> set[str]:
    return {f.code for f in schema.validate(safe_xml.parse(data).getroot())}


@pytest.mark.parametrize("build", [payment, refund])
def test_samples_pass_schema_and_rules_and_round_trip(build) -> None:
    doc = build()
    data = to_bytes(doc)
    assert schema_codes(data) == set()
    back = read_document(safe_xml.parse(data).getroot())
    assert type(back) is type(doc) and to_bytes(back) == data
    assert codes(back, header(back), today=PAID_ON) == set()


def test_a_payment_pays_the_sample_settlement_of_the_same_seed() -> None:
    from gateway.documents.sample import sample_document

    settlement = sample_document("A4", INSURED, RESIDENCE, PERIOD, persons=6, seed=2)
    advice = payment()
    assert [(s.serial, s.period, s.amount) for s in advice.settlements] == [
        (settlement.serial, PERIOD, settlement.totals.paid)]
    assert advice.amount == settlement.totals.paid and advice.payee_reference is None


def test_payment_rules_one_code_each() -> None:
    good = payment()
    ref = good.settlements[0]
    assert codes(payment(amount=Decimal("0.00"), settlements=[replace(ref, amount=Decimal("0.00"))])) == {
        "payment.amount"}
    assert "payment.decimals" in codes(payment(amount=good.amount + Decimal("0.001")))
    assert codes(payment(amount=good.amount + 1)) == {"payment.sum"}
    assert codes(payment(settlements=[ref, ref], amount=good.amount * 2)) == {"payment.settlements"}
    other_month = replace(ref, period="2026-09")
    assert codes(payment(settlements=[other_month])) == {"payment.settlements"}
    # value date: not after today, nor after the day the signed header was created (China time)
    assert codes(good, today=date(2026, 12, 19)) == {"payment.value_date"}
    assert codes(good, header(good, created=datetime(2026, 12, 19, 15, 59, tzinfo=timezone.utc))) == {
        "payment.value_date"}  # 23:59 on 12-19 in China: still the day before the value date
    assert codes(good, header(good, created=datetime(2026, 12, 19, 16, 0, tzinfo=timezone.utc))) == set()
    assert codes(payment(residence_city=INSURED)) == {"route.same_city"}


def test_payment_direction_and_envelope() -> None:
    good = payment()
    # a "payment" sent by the residence city to the insured city: the body names the envelope's cities reversed
    reversed_head = header(good, sender=RESIDENCE, receiver=INSURED)
    assert codes(good, reversed_head) == {"payment.direction"}
    assert codes(good, header(good, sender="370600")) == {"envelope.cities"}
    assert codes(good, header(good, period="2026-09")) == {"envelope.period"}
    assert codes(good, header(good, serial="X-1")) == {"envelope.serial"}
    assert codes(good, header(good, type=MessageType.REFUND)) == {"envelope.type"}


def test_refund_rules_one_code_each() -> None:
    good = refund()
    first, second = good.items[0], good.items[1]
    assert len(good.items) == 2 and good.total == first.amount + second.amount
    assert codes(refund(total=good.total + 1)) == {"refund.total"}
    zero = replace(first, amount=Decimal("0.00"))
    assert codes(refund(items=[zero, second], total=second.amount)) == {"refund.amount"}
    assert "refund.decimals" in codes(refund(total=good.total + Decimal("0.005")))
    later = replace(first, month="2026-11")
    assert codes(refund(items=[later, second])) == {"refund.month"}
    unsettled = replace(first, month="2026-09")
    assert codes(refund(items=[unsettled, second])) == {"refund.month"}
    assert codes(refund(items=[first, replace(second, id_number=first.id_number)])) == {"refund.duplicate"}
    assert codes(refund(settlements=good.settlements * 2)) == {"refund.settlements"}
    assert codes(good, today=date(2026, 12, 1)) == {"refund.value_date"}
    bad_id = replace(first, id_number=first.id_number[:-1] + ("0" if first.id_number[-1] != "0" else "1"))
    findings = check_document(refund(items=[bad_id, second]))
    assert {f.code for f in findings} == {"person.id_check"}
    for finding in check_document(refund(items=[bad_id, replace(second, id_number=bad_id.id_number)],
                                         total=Decimal("1.00"))):
        for item in (bad_id, second):  # personal data never reaches a finding: it travels in NACKs and logs
            assert item.name not in finding.message and item.id_number not in finding.message


def test_refund_direction() -> None:
    good = refund()
    assert codes(good, header(good)) == set()
    assert codes(good, header(good, sender=INSURED, receiver=RESIDENCE)) == {"refund.direction"}


def test_schema_refuses_what_the_forms_do_not_allow() -> None:
    text = to_bytes(payment()).decode()
    assert "xsd.pattern" in schema_codes(text.replace("<Amount>", "<Amount>-", 1).encode())
    assert schema_codes(text.replace("<PayerReference>", "<X>").replace("</PayerReference>", "</X>").encode()) == {
        "xsd.unexpected"}  # the insured city's own payment reference is required
    refund_text = to_bytes(refund()).decode()
    blank = refund_text.split("<Reason>")[0] + "<Reason> </Reason>" + refund_text.split("</Reason>")[1]
    assert schema_codes(blank.encode()) == {"xsd.pattern"}


def test_the_money_types_are_documents_of_a_fixed_direction() -> None:
    for kind in (MessageType.PAYMENT, MessageType.REFUND):
        assert kind.is_money and not kind.is_attachment and not kind.is_dispute and not kind.is_reply
        assert not kind.names_reference
    pay = header(payment())
    assert (pay.insured_city, pay.residence_city) == (INSURED, RESIDENCE)
    back = header(refund())
    assert (back.insured_city, back.residence_city) == (INSURED, RESIDENCE)
