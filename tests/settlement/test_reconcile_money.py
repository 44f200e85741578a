"""Reconciliation with the money (第二十八条 with 第二十六条, 第二十九条): per claim what was claimed, deducted,
supplemented, settled, paid, refunded and is outstanding, each with the documents it comes from; per person where
a refund names statements; differences for overpaid settlements, refunds that do not fit, money about unknown
settlements."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from settlement_month import build_month

from gateway.documents.sample import sample_payment, sample_refund
from gateway.domain.reconciliation import reconcile, reconcile_money

PERIOD = "2026-08"


def _month():
    return build_month("370300", "370100", PERIOD, seed=3)


def _reports(month, payments, refunds):
    reports = reconcile([month.claim], [month.settlement],
                        [(month.claim.residence_city, a5) for a5 in month.facility_settlements])
    return reconcile_money(reports, [month.claim], [month.settlement], payments, refunds, PERIOD)


def test_paid_in_two_parts_and_a_refund_balance_with_their_sources() -> None:
    month = _month()
    settled = month.settlement.totals.paid
    first = sample_payment(month.settlement, seed=1, value_date=date(2026, 10, 20))
    half = (settled / 2).quantize(Decimal("0.01"))
    first = dataclasses.replace(first, amount=half, settlements=[dataclasses.replace(first.settlements[0], amount=half)])
    second = sample_payment(month.settlement, seed=2, value_date=date(2026, 10, 28))
    rest = settled - half
    second = dataclasses.replace(second, amount=rest,
                                 settlements=[dataclasses.replace(second.settlements[0], amount=rest)])
    refund = sample_refund(month.claim, month.settlement, persons=2, value_date=date(2026, 11, 20))
    [report] = _reports(month, [first, second], [refund])
    line = report.money
    assert report.balanced, report.differences
    assert (line.claimed, line.deducted, line.supplemented, line.settled) == (
        month.claim.totals.claimed, month.settlement.totals.deducted, month.settlement.totals.supplemented, settled)
    assert line.paid == settled and line.outstanding == Decimal("0.00")
    assert line.refunded == refund.total and line.net_paid == settled - refund.total
    assert [e.serial for e in line.payments] == [first.serial, second.serial]
    sources = line.sources()
    assert first.serial in sources["paid"] and "2026-10-28" in sources["paid"] and refund.serial in sources["refunded"]
    # per person: the refunded statements, by position and 流水号 only
    refunded = {p.statement_serial: p.refunded for p in report.persons if p.refunded}
    assert refunded == {i.statement_serial: i.amount for i in refund.items}
    as_json = str(report.as_dict())
    for item in refund.items:
        assert item.id_number not in as_json and item.name not in as_json


def test_an_unpaid_settlement_is_outstanding_without_being_a_difference() -> None:
    month = _month()
    [report] = _reports(month, [], [])
    assert report.balanced and report.money.outstanding == month.settlement.totals.paid
    assert report.money.sources()["paid"] == "none"


def test_overpayment_and_refunds_that_do_not_fit_are_differences() -> None:
    month = _month()
    advice = sample_payment(month.settlement, value_date=date(2026, 10, 20))
    more = month.settlement.totals.paid + Decimal("10.00")
    advice = dataclasses.replace(advice, amount=more, settlements=[dataclasses.replace(advice.settlements[0], amount=more)])
    refund = sample_refund(month.claim, month.settlement, persons=1)
    [item] = refund.items
    too_much = dataclasses.replace(item, amount=item.amount * 3)
    stranger = dataclasses.replace(item, statement_serial=None, id_number="110101199003070000")
    refund = dataclasses.replace(refund, items=[too_much, stranger], facility_code="F370300XX")
    [report] = _reports(month, [advice], [refund])
    codes = sorted(d.code for d in report.differences)
    assert codes == ["reconcile.overpaid", "reconcile.refund_facility", "reconcile.refund_person",
                     "reconcile.refund_statement"]
    assert report.money.outstanding == Decimal("-10.00")
    assert "110101199003070000" not in str(report.as_dict())


def test_money_about_a_settlement_not_received_is_reported_on_its_own() -> None:
    month = _month()
    other = dataclasses.replace(build_month("370300", "370100", PERIOD, seed=9).settlement, serial="S-NEVER-SENT")
    advice = sample_payment(other, value_date=date(2026, 10, 20))
    reports = _reports(month, [advice], [])
    assert len(reports) == 2
    orphan = reports[1]
    assert [d.code for d in orphan.differences] == ["reconcile.paid_unknown_settlement"]
    assert orphan.money.paid == other.totals.paid and orphan.settlement_serial == "S-NEVER-SENT"
