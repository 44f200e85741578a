"""The register's decisions alone (gateway/domain/register.py): keys, summaries without personal data, and each
check across documents on sample claims and their persons' entitlements."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from gateway.documents.sample import sample_document
from gateway.documents.sample_entitlement import filing_for, notice_for
from gateway.domain import register as reg
from gateway.domain.findings import Finding

JINAN, ZIBO, YANTAI = "370100", "370300", "370600"
PERIOD = "2026-10"
KEYS = reg.parse_keys("# two keys, the last is current\nold " + "11" * 32 + "\nnew " + "22" * 32 + "\n")


def claim(seed: int = 1, persons: int = 3, residence: str = ZIBO):
    return sample_document("A3", residence, JINAN, PERIOD, persons=persons, seed=seed)


def known_for(document, *, keyring: reg.Keyring = KEYS, billed=()) -> reg.Known:
    """The register after the notices and 派单 filings of every person of `document` (and `billed` claims)."""
    rows = []
    for statement in document.statements:
        notice = notice_for(statement)
        rows.append(reg.arrangement_row(reg.summarize(notice, keyring), 1))
        rows.append(reg.arrangement_row(reg.summarize(filing_for(notice), keyring), 1))
    billings = [b for other in billed for b in reg.claim_rows(reg.summarize(other, keyring), 1)[1]]
    return reg.Known(rows, billings)


def codes(findings: list[Finding]) -> list[str]:
    return sorted(f.code for f in findings)


def test_a_key_file_gives_hashes_under_every_key_and_refuses_weak_or_repeated_keys() -> None:
    person = KEYS.person("370102195001011234")
    assert KEYS.current == "new" and person.key_id == "new" and len(person.hashes) == 2
    assert person.current == reg.parse_keys("new " + "22" * 32).person("370102195001011234").current
    assert person == KEYS.person(" 370102195001011234 ".lower())  # trimmed, case-folded
    assert "22" * 32 not in repr(KEYS) and reg.parse_keys(f"a {'11' * 32}\nb {'22' * 32}", "a").current == "a"
    for text in ("", "k1 " + "ab" * 16, f"k1 {'11' * 32}\nk1 {'22' * 32}", "k1 zz", f"k1 {'11' * 32}"):
        with pytest.raises(ValueError):
            reg.parse_keys(text, "other" if text.startswith("k1 " + "11") and "\n" not in text else None)


def test_a_summary_is_plain_picklable_data_without_names_or_id_numbers() -> None:
    document = claim(persons=5)
    summary = reg.summarize(document, KEYS)
    data = pickle.dumps(summary)
    assert pickle.loads(data) == summary and len(summary.statements) == 5
    for statement in document.statements:
        assert statement.id_number.encode() not in data and statement.name.encode("utf-8") not in data
        assert statement.id_number not in repr(summary) and statement.name not in repr(summary)


def test_a_claim_of_entitled_persons_passes_every_check() -> None:
    document = claim()
    assert reg.check_claim(reg.summarize(document, KEYS), known_for(document)) == []


def test_persons_without_an_entitlement_or_after_its_end_are_not_entitled() -> None:
    document = claim()
    summary = reg.summarize(document, KEYS)
    findings = reg.check_claim(summary, reg.Known())
    assert codes(findings) == ["cross.entitled"] * 3
    known = known_for(document)
    first = document.statements[0]
    ended = [replace(r, until=first.start_date - timedelta(days=1), ended=True)
             if not r.filing and r.person in summary.statements[0].person else r for r in known.arrangements]
    [finding] = reg.check_claim(summary, reg.Known(ended))
    assert finding.code == "cross.entitled" and finding.message.startswith("statement 1 ")
    assert first.id_number not in finding.message and first.name not in finding.message


def test_another_care_type_or_facility_than_filed_is_found() -> None:
    document = claim()
    summary = reg.summarize(document, KEYS)
    known = known_for(document)
    moved = [replace(r, care_facility="LELSEWHERE", service_types=("05",)) if r.filing and
             r.person in summary.statements[1].person else r for r in known.arrangements]
    assert codes(reg.check_claim(summary, reg.Known(moved))) == ["cross.care_type", "cross.facility"]


def test_billed_twice_within_a_claim_across_claims_and_across_residence_cities() -> None:
    document = claim()
    twice = replace(document, statements=[*document.statements, replace(document.statements[0], serial="DUP-1")])
    found = reg.check_claim(reg.summarize(twice, KEYS), known_for(twice))
    assert "cross.double_billing" in codes(found)
    # the same persons again in another claim of the pair: each is billed already
    again = replace(document, serial="OTHER-1")
    assert codes(reg.check_claim(reg.summarize(again, KEYS), known_for(again, billed=[document]))).count(
        "cross.double_billing") == 3
    # a revision of the same claim replaces its own rows: not double
    assert reg.check_claim(reg.summarize(document, KEYS), known_for(document, billed=[document])) == []
    # 烟台 bills one of 淄博's persons to 济南 for the same days
    person = document.statements[0]
    yantai = claim(seed=7, persons=1, residence=YANTAI)
    stolen = replace(yantai, statements=[replace(yantai.statements[0], id_number=person.id_number, sex=person.sex,
                                                 start_date=person.start_date, end_date=person.end_date)])
    found = reg.check_claim(reg.summarize(stolen, KEYS), known_for(document, billed=[document]))
    assert "cross.double_billing" in codes(found)
    message = next(f.message for f in found if f.code == "cross.double_billing")
    assert "another residence city" in message and ZIBO not in message


def test_sex_against_the_id_number_and_the_days_of_a_month() -> None:
    document = claim(persons=1)
    statement = document.statements[0]
    wrong = replace(document, statements=[replace(statement, sex="1" if statement.sex == "2" else "2")])
    assert codes(reg.check_claim(reg.summarize(wrong, KEYS), known_for(wrong))) == ["cross.sex"]
    # two care facilities in one month, no change filed; and more days than October has
    split = [replace(statement, serial="S-1", facility_code="LX1", start_date=date(2026, 10, 1),
                     end_date=date(2026, 10, 15), benefit_days=15),
             replace(statement, serial="S-2", start_date=date(2026, 10, 16), end_date=date(2026, 10, 31),
                     benefit_days=16)]
    many = replace(document, statements=split)
    known = known_for(replace(document, statements=[split[1]]))
    found = codes(reg.check_claim(reg.summarize(many, KEYS), known))
    assert "cross.one_facility" in found and "cross.facility" in found
    earlier = replace(document, serial="E-1", statements=[replace(statement, serial="E-S", benefit_days=31,
                      start_date=date(2026, 10, 1), end_date=date(2026, 10, 31))])
    later = replace(document, serial="L-1", statements=[replace(statement, serial="L-S", benefit_days=1,
                    start_date=date(2026, 10, 31), end_date=date(2026, 10, 31))])
    found = codes(reg.check_claim(reg.summarize(later, KEYS), known_for(later, billed=[earlier])))
    assert "cross.month_days" in found and "cross.double_billing" in found


def test_a_settlement_answers_a_known_claim_with_its_amount_and_its_persons() -> None:
    document = claim(persons=20, seed=4)
    settlement = sample_document("A4", JINAN, ZIBO, PERIOD, persons=20, seed=4)
    record, billings = reg.claim_rows(reg.summarize(document, KEYS), 1)
    s = reg.summarize(settlement, KEYS)
    assert reg.check_settlement(s, record, billings) == []
    assert codes(reg.check_settlement(s, None, [])) == ["cross.claim_unknown"]
    assert codes(reg.check_settlement(replace(s, claimed=s.claimed + Decimal("1.00")), record, billings)) == ["cross.claimed"]
    if s.adjustments:
        number, serial, _ = s.adjustments[0]
        stranger = KEYS.person("110101194001010014")
        wrong = replace(s, adjustments=((number, serial, stranger), (number + 1, "NO-SUCH", stranger)))
        assert codes(reg.check_settlement(wrong, record, billings)) == ["cross.adjustment"] * 2


def test_modes_sort_findings_per_check_and_rotation_names_rows_to_hash_again() -> None:
    found = [Finding("cross.double_billing", "x"), Finding("cross.entitled", "y"), Finding("cross.sex", "z")]
    checks = reg.CrossChecks("warn", {"double_billing": "refuse", "sex": "off"})
    refused, warned = reg.sort_findings(found, checks)
    assert [f.code for f in refused] == ["cross.double_billing"] and [f.code for f in warned] == ["cross.entitled"]
    person = KEYS.person("370102195001011234")
    assert reg.stale_hashes([person], [person.hashes[1]]) == [(person.hashes[1], person.current, "new")]
    assert reg.stale_hashes([person], [person.current]) == []


def test_active_pairs_are_the_pairs_with_somebody_entitled_that_month() -> None:
    document = claim()
    rows = known_for(document).arrangements
    assert reg.active_pairs(rows, PERIOD) == {(ZIBO, JINAN)}
    assert reg.active_pairs(rows, "2026-09") == set()
    ended = [replace(r, until=date(2026, 10, 31)) for r in rows]
    assert reg.active_pairs(ended, "2026-11") == set() and reg.active_pairs(ended, PERIOD) == {(ZIBO, JINAN)}
