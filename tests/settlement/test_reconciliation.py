"""Reconciliation (第二十八条): a consistent year balances; every kind of mismatch is found and located."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

from settlement_month import Month, build_month

from gateway.domain.deadlines import all_pairs, shift_period
from gateway.domain.reconciliation import Reconciliation, reconcile, reconcile_claim

CITIES = ("370100", "370200", "370300", "370600")


def _run(month: Month) -> Reconciliation:
    return reconcile_claim(month.claim, month.settlement, month.facility_settlements,
                           residence=month.claim.residence_city, insured=month.claim.insured_city,
                           period=month.claim.period)


def _codes(report: Reconciliation) -> list[str]:
    return [d.code for d in report.differences]


def test_a_year_between_four_cities_balances() -> None:
    periods = [shift_period("2025-10", n) for n in range(12)]
    months = [build_month(p.residence, p.insured, period, seed=n)
              for n, period in enumerate(periods) for p in all_pairs(CITIES)]
    reports = reconcile(
        [m.claim for m in months], [m.settlement for m in months],
        [(m.claim.residence_city, a5) for m in months for a5 in m.facility_settlements],
    )
    assert len(reports) == 12 * 12
    assert [r for r in reports if not r.balanced] == []
    sample = reports[0]
    paid = next(f for f in sample.figures if f.name == "paid")
    assert paid.settlement == paid.facility_settlements is not None
    claimed = next(f for f in sample.figures if f.name == "claimed")
    assert claimed.claim == claimed.settlement == claimed.facility_settlements
    # person by person: the two adjusted statements, first and last of the claim
    assert [p.position for p in sample.persons] == [1, 6]
    assert sample.persons[0].paid == sample.persons[0].claimed - sample.persons[0].deducted


def test_settlement_that_does_not_repeat_the_claim() -> None:
    month = build_month("370100", "370200", "2026-08")
    month.settlement.totals.claimed += Decimal("10.00")
    month.settlement.totals.paid += Decimal("10.00")
    report = _run(month)
    assert "reconcile.claim_figure" in _codes(report)
    difference = next(d for d in report.differences if d.code == "reconcile.claim_figure")
    assert "申请拨付金额" in difference.where and month.settlement.serial in difference.where
    assert Decimal(difference.actual) - Decimal(difference.expected) == Decimal("10.00")
    # the A5s still add up to the original figure: the difference is also listed against them
    assert "reconcile.facility_sum" in _codes(report)


def test_paid_identity_and_adjustment_sums() -> None:
    month = build_month("370100", "370200", "2026-08")
    month.settlement.totals.paid -= Decimal("1.00")
    month.settlement.adjustments[0].deducted += Decimal("5.00")
    report = _run(month)
    codes = _codes(report)
    assert "reconcile.paid_identity" in codes
    assert "reconcile.adjustment_sum" in codes
    # the person's higher deduction no longer matches its facility's A5
    facility = next(d for d in report.differences if d.code == "reconcile.facility_adjustment")
    assert month.claim.statements[0].facility_code in facility.where


def test_adjustments_naming_unknown_or_other_persons_never_print_id_numbers() -> None:
    month = build_month("370100", "370200", "2026-08")
    adjustments = month.settlement.adjustments
    adjustments[0].id_number = "370102199001011234"
    adjustments.append(dataclasses.replace(adjustments[1], statement_serial="NOSUCH", supplemented=Decimal("0.00")))
    adjustments[1].deducted = month.claim.statements[-1].fund_paid + Decimal("1.00")
    month.settlement.totals.deducted += adjustments[1].deducted
    month.settlement.totals.paid -= adjustments[1].deducted
    report = _run(month)
    codes = _codes(report)
    assert {"reconcile.adjustment_person", "reconcile.unknown_statement", "reconcile.over_deduction"} <= set(codes)
    text = json.dumps(report.as_dict(), ensure_ascii=False)
    for statement in month.claim.statements:
        assert statement.id_number not in text
        assert statement.name not in text
    assert "370102199001011234" not in text
    over = next(d for d in report.differences if d.code == "reconcile.over_deduction")
    assert f"statement {len(month.claim.statements)}" in over.where


def test_facility_settlements_missing_or_off() -> None:
    month = build_month("370100", "370200", "2026-08", facilities=3)
    dropped = month.facility_settlements.pop(1)
    month.facility_settlements[0].schemes[0].total.paid += Decimal("2.00")
    report = _run(month)
    codes = _codes(report)
    missing = next(d for d in report.differences if d.code == "reconcile.facility_settlement_missing")
    assert dropped.facility_code in missing.where
    sums = [d for d in report.differences if d.code == "reconcile.facility_sum"]
    assert {d.where.split(": ")[1] for d in sums} >= {"实拨金额", "申请拨付金额"}
    assert "reconcile.paid_identity" in codes  # the A5 whose 实拨 was changed, located by its serial
    located = next(d for d in report.differences if d.code == "reconcile.paid_identity")
    assert month.facility_settlements[0].serial in located.where


def test_a_facility_settlement_is_missing_only_where_the_pair_carries_it() -> None:
    """第二十五条: an A5 goes through the gateway only for the pairs of [settlement] a5_pairs; a pair without one
    owes none, so its claim and settlement balance with no A5 at all, while a carrying pair still misses it."""
    carried = build_month("370100", "370200", "2026-08", facilities=2)
    home = build_month("370300", "370200", "2026-08", facilities=2)
    months = (carried, home)
    reports = {(r.residence, r.insured): r for r in reconcile(
        [m.claim for m in months], [m.settlement for m in months], [], a5_pairs={("370100", "370200")})}
    missing = [d for d in reports[("370100", "370200")].differences if d.code == "reconcile.facility_settlement_missing"]
    assert len(missing) == 2
    assert reports[("370300", "370200")].balanced, reports[("370300", "370200")].differences
    every = reconcile([home.claim], [home.settlement], [])  # no configuration (files): every pair could carry one
    assert "reconcile.facility_settlement_missing" in _codes(every[0])


def test_unmatched_documents() -> None:
    claimed_only = build_month("370300", "370100", "2026-08")
    orphan = build_month("370600", "370100", "2026-08")
    reports = reconcile([claimed_only.claim], [], [("370600", a5) for a5 in orphan.facility_settlements])
    by_residence = {r.residence: r for r in reports}
    assert _codes(by_residence["370300"]) == ["reconcile.settlement_missing"]
    assert _codes(by_residence["370600"]) == ["reconcile.settlement_unknown"]
    no_claim = reconcile([], [orphan.settlement], [])
    assert "reconcile.claim_missing" in _codes(no_claim[0])


def test_month_without_adjustments_balances_on_totals() -> None:
    month = build_month("370100", "370200", "2026-08", adjust=False)
    report = _run(month)
    assert report.balanced and report.persons == []
