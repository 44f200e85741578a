"""Settlement rules: each rule has a failing case asserting its code, where it points, and that no
message carries a name or an ID number."""

from __future__ import annotations

from decimal import Decimal

import pytest

from docs_support import INSURED, RESIDENCE, assert_no_personal_data, header_for, received
from gateway.domain.envelope import MessageType
from gateway.domain.rules import check_document

ONE = Decimal("1.00")


def findings_of(doc, header=None, **options):
    findings = check_document(doc, header, **options)
    assert_no_personal_data(findings, doc)
    return findings


def only(findings, code):
    matching = [f for f in findings if f.code == code]
    assert matching, f"no {code} in {[f.code for f in findings]}"
    return matching


@pytest.fixture
def a3():
    return received("A3", persons=12, seed=3)[0]


@pytest.fixture
def a2():
    return received("A2")[0]


def test_statement_total_split(a2):
    a2.total_cost += ONE
    [finding] = findings_of(a2)
    assert finding.code == "amount.total_split" and finding.line == a2.line
    assert f"{a2.total_cost}" in finding.message and f"{a2.total_cost - ONE}" in finding.message


def test_statement_fund_share_and_burden(a2):
    a2.fund_paid += ONE
    assert [f.code for f in findings_of(a2)] == ["amount.fund_share"]
    a2.fund_paid -= ONE
    a2.personal_burden -= ONE
    [finding] = findings_of(a2)
    assert finding.code == "amount.burden" and str(a2.personal_burden + ONE) in finding.message


def test_row_total_split_fund_share_and_words():
    doc, _ = received("A1", persons=6)
    row = doc.schemes[0].lines[0]
    row.self_paid += ONE
    row.co_pay += ONE
    row.claimed_in_words = "壹元整"
    codes = {f.code: f for f in findings_of(doc)}
    assert codes["amount.total_split"].line == row.line
    assert codes["amount.fund_share"].line == row.line
    assert codes["amount.words"].line == row.line
    assert "service type" in codes["amount.words"].message


def test_words_accept_allowed_variants_and_refuse_missing_zero():
    doc, _ = received("A1", persons=6)
    total = doc.schemes[0].total
    if total.claimed_in_words.endswith("整"):  # the same figure written another allowed way
        total.claimed_in_words = total.claimed_in_words[:-1] + "正"
    assert "amount.words" not in {f.code for f in findings_of(doc)}
    total.claimed_in_words = total.claimed_in_words + "整整"
    assert only(findings_of(doc), "amount.words")[0].path.endswith("/Total")


def test_sum_rows_per_scheme():
    doc, _ = received("A1", persons=20)
    scheme = doc.schemes[0]
    scheme.total.visits += 1
    scheme.total.days += 2
    found = only(findings_of(doc), "sum.rows")
    assert {f.line for f in found} == {scheme.total.line}
    assert any("Visits" in f.message and str(scheme.total.visits - 1) in f.message for f in found)
    assert len(found) == 2


def test_a3_totals_against_forms_and_statements(a3):
    a3.totals.visits += 1
    found = only(findings_of(a3), "sum.details")
    assert len(found) == 2  # against the A1 forms and against the statements
    assert {f.line for f in found} == {a3.totals.line}


def test_a1_line_against_its_statements(a3):
    statement = a3.statements[0]
    statement.benefit_days -= 1  # still within the span; the facility's line now disagrees
    found = only(findings_of(a3), "sum.details")
    messages = " ".join(f.message for f in found)
    assert f"facility {statement.facility_code}" in messages and "Days" in messages
    assert "service type " + statement.service_type in messages


def test_statements_without_a_line_or_form(a3):
    statement = a3.statements[0]
    statement.facility_code = "L999"
    messages = " ".join(f.message for f in only(findings_of(a3), "sum.details"))
    assert "facility L999" in messages and "no FacilityClaim form" in messages


def test_duplicates(a3):
    a3.statements[1].serial = a3.statements[0].serial
    claim = a3.facility_claims[0]
    claim.schemes[0].lines.append(claim.schemes[0].lines[0])
    a3.facility_claims.append(a3.facility_claims[1])
    found = only(findings_of(a3), "sum.duplicate")
    assert len(found) == 3
    assert a3.statements[1].line in {f.line for f in found}


def test_dates(a2):
    a2.start_date = a2.start_date.replace(month=7)
    assert only(findings_of(a2), "period.outside")[0].line == a2.line
    a2.start_date, a2.end_date = a2.end_date.replace(day=20), a2.end_date.replace(day=10)
    assert only(findings_of(a2), "period.order")
    a2.start_date, a2.end_date = a2.end_date.replace(day=1), a2.end_date.replace(day=5)
    a2.benefit_days = 6
    [finding] = only(findings_of(a2), "period.days")
    assert "6" in finding.message and "5 days" in finding.message


def test_period_mismatch_inside_a_claim(a3):
    a3.statements[2].period = "2026-07"
    a3.facility_claims[0].period = "2026-07"
    found = only(findings_of(a3), "period.mismatch")
    assert len(found) == 2
    assert a3.statements[2].line in {f.line for f in found}


def test_id_check_only_for_resident_id_cards(a2):
    a2.id_number = a2.id_number[:17] + ("0" if a2.id_number[17] != "0" else "1")
    [finding] = findings_of(a2)
    assert finding.code == "person.id_check" and "IdNumber" in finding.message
    a2.id_type = "08"  # a passport has no check character
    assert findings_of(a2) == []


def test_person_cities_in_a_claim_and_against_the_envelope(a3, a2):
    a3.statements[4].insured_city = "370700"
    [finding] = only(findings_of(a3), "person.cities")
    assert finding.line == a3.statements[4].line and "statement 5" in finding.message
    header = header_for(a2, "A2", receiver="370700")
    assert only(findings_of(a2, header), "person.cities")


def test_envelope_type_period_serial(a3):
    header = header_for(a3, "A3", type=MessageType.A4)
    assert [f.code for f in findings_of(a3, header)] == ["envelope.type"]
    header = header_for(a3, "A3", period="2026-09", serial="OTHER-1")
    assert {f.code for f in findings_of(a3, header)} == {"envelope.period", "envelope.serial"}


def test_envelope_cities_follow_the_direction(a3):
    # An A3 whose envelope runs the wrong way (as if sent by the insured city).
    header = header_for(a3, "A3", sender=INSURED, receiver=RESIDENCE)
    found = only(findings_of(a3, header), "envelope.cities")
    assert len(found) == 2
    a4 = received("A4")[0]
    assert findings_of(a4, header_for(a4, "A4")) == []
    assert only(findings_of(a4, header_for(a4, "A4", sender=RESIDENCE, receiver=INSURED)), "envelope.cities")
    a5 = received("A5")[0]
    assert only(findings_of(a5, header_for(a5, "A5", receiver="370700")), "envelope.cities")


def test_a4_paid_deducted_notes_adjustments():
    a4 = received("A4", seed=0)[0]
    totals = a4.totals
    totals.paid += ONE
    assert only(findings_of(a4), "settlement.paid")[0].line == totals.line
    totals.paid -= ONE
    a4.deduction_note = None
    assert only(findings_of(a4), "settlement.note")
    a4.deduction_note = "扣减"
    a4.adjustments[0].deducted += ONE
    [finding] = only(findings_of(a4), "settlement.adjustments")
    assert str(totals.deducted + ONE) in finding.message
    a4.adjustments[0].deducted -= ONE
    totals.deducted = totals.claimed + ONE
    [finding] = only(findings_of(a4), "settlement.deducted")
    assert f"{totals.deducted} exceeds Claimed 申请拨付金额 {totals.claimed}" in finding.message


def test_a4_supplement_needs_its_note():
    a4 = received("A4", seed=1)[0]
    assert a4.totals.supplemented > 0
    a4.supplement_note = "  "
    assert "SupplementNote" in only(findings_of(a4), "settlement.note")[0].message


def test_a5_per_line_and_total():
    a5 = received("A5", persons=20, seed=0)[0]
    line = a5.schemes[0].lines[0]
    line.paid += ONE
    found = findings_of(a5)
    assert only(found, "settlement.paid")[0].line == line.line
    assert only(found, "sum.rows")  # the total no longer sums its lines
    a5.schemes[0].total.paid_in_words = "零元整"
    assert only(findings_of(a5), "amount.words")[0].path.endswith("/Total")


def test_service_types_are_the_configured_list(a3):
    used = {s.service_type for s in a3.statements}
    allowed = sorted(used)[1:]
    found = only(findings_of(a3, service_types=allowed), "codes.service_type")
    assert all(sorted(used)[0] in f.message for f in found)
    assert findings_of(a3, service_types=sorted(used) + ["99"]) == []


def test_unknown_and_same_areas(a3):
    assert only(findings_of(a3, known_areas={RESIDENCE}), "route.unknown_area")[0].message.startswith("InsuredCity")
    a3.insured_city = a3.residence_city
    assert only(findings_of(a3), "route.same_city")


def test_every_finding_is_collected_and_none_leaks_personal_data(a3):
    for s in a3.statements:
        s.total_cost += ONE
        s.id_number = s.id_number[:10] + "13" + s.id_number[12:]  # month 13
        s.benefit_days = 31
    a3.totals.claimed_in_words = "错"
    findings = check_document(a3)
    assert_no_personal_data(findings, a3)
    codes = [f.code for f in findings]
    assert codes.count("person.id_check") == len(a3.statements)
    assert codes.count("amount.total_split") == len(a3.statements)
    assert {"amount.words", "sum.details"} <= set(codes)


def test_care_yet_to_come_cannot_be_claimed(a3):
    """Issue 12: dates that cannot be true yet are refused; a statement's care ends before the message is made."""
    statement = a3.statements[0]
    made = statement.end_date  # made on the last day of care: true
    assert not [f for f in findings_of(a3, header_for(a3, "A3"), today=made) if f.code == "date.future"]
    day_before = made.replace(day=made.day - 1)
    [found] = [f for f in findings_of(a3, header_for(a3, "A3"), today=day_before)
               if f.code == "date.future" and statement.serial in f.message]
    assert made.isoformat() in found.message and found.line == statement.line
