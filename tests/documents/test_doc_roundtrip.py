"""Reader and writer: model → XML → model is lossless; samples pass the schema and every rule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from docs_support import INSURED, PERIOD, RESIDENCE, direction, header_for, received, without_lines
from gateway.documents.reader import read_document
from gateway.documents.sample import sample_bytes, sample_document
from gateway.documents.schema import validate
from gateway.documents.writer import document_xml, to_bytes
from gateway.domain import settlement as m
from gateway.domain.idnumber import is_valid
from gateway.domain.rules import check_document

KINDS = ["A1", "A2", "A3", "A4", "A5"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [0, 1, 2, 5])
@pytest.mark.parametrize("persons", [1, 3, 40])
def test_samples_pass_schema_and_every_rule(kind, seed, persons):
    sender, receiver = direction(kind)
    doc = sample_document(kind, sender, receiver, PERIOD, persons=persons, seed=seed)
    root = etree.fromstring(to_bytes(doc))
    assert validate(root) == []
    assert check_document(read_document(root), header_for(doc, kind)) == []


@pytest.mark.parametrize("kind", KINDS)
def test_model_xml_model_round_trip(kind):
    sender, receiver = direction(kind)
    doc = sample_document(kind, sender, receiver, PERIOD, persons=9, seed=4)
    back = read_document(etree.fromstring(to_bytes(doc)))
    assert without_lines(back) == doc
    assert to_bytes(back) == to_bytes(doc)


def test_reader_records_the_line_of_each_item():
    doc, root = received("A3", persons=5)
    statements = root.findall(".//{urn:ltcgw:settlement:1}PersonStatement")
    assert [s.line for s in doc.statements] == [e.sourceline for e in statements]
    assert doc.totals.line == root.find("{urn:ltcgw:settlement:1}Totals").sourceline
    assert all(row.line for claim in doc.facility_claims for s in claim.schemes for row in s.lines)


def test_reader_types():
    doc, _ = received("A2")
    assert isinstance(doc.total_cost, Decimal) and doc.total_cost.as_tuple().exponent == -2
    assert isinstance(doc.start_date, date) and isinstance(doc.benefit_days, int)


def test_optional_fields_round_trip_as_absent():
    doc = sample_document("A2", RESIDENCE, INSURED, PERIOD)
    doc.facility_level = None
    xml = to_bytes(doc)
    assert b"FacilityLevel" not in xml
    assert read_document(etree.fromstring(xml)).facility_level is None
    settlement = sample_document("A4", INSURED, RESIDENCE, PERIOD, seed=0)
    settlement.adjustments = None
    back = read_document(etree.fromstring(to_bytes(settlement)))
    assert back.adjustments is None and back.supplement_note is None


def test_dates_with_a_time_zone_are_read():
    doc, root = received("A2")
    root.find("{urn:ltcgw:settlement:1}StartDate").text = "2026-08-01+08:00"
    assert validate(root) == []
    assert read_document(root).start_date == date(2026, 8, 1)


@pytest.mark.parametrize(
    "reply",
    [
        m.Ack("370200", "delivered"),
        m.Ack("370200"),
        m.Nack([m.NackError("amount.words", "Totals: ...", 12, "/CityClaim/Totals"), m.NackError("xsd.root", "x")], "a.xml"),
        m.Receipt("rejected", "duplicate"),
        m.Receipt("accepted"),
    ],
)
def test_replies_round_trip_and_validate(reply):
    element = document_xml(reply)
    assert validate(element) == []
    assert read_document(etree.fromstring(to_bytes(reply))) == reply


def test_writer_does_not_round_an_amount_with_more_decimals():
    doc = sample_document("A2", RESIDENCE, INSURED, PERIOD)
    doc.self_paid = Decimal("1.005")
    root = etree.fromstring(to_bytes(doc))
    assert root.findtext("{urn:ltcgw:settlement:1}SelfPaid") == "1.005"
    assert {f.code for f in validate(root)} >= {"xsd.pattern"}


def test_reader_refuses_an_unknown_root():
    with pytest.raises(ValueError):
        read_document(etree.fromstring(b"<Other/>"))


def test_to_bytes_is_utf8_with_a_declaration():
    data = sample_bytes("A2", RESIDENCE, INSURED, PERIOD)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    data.decode("utf-8")


def test_same_seed_same_document_new_seed_new_serials():
    one = sample_document("A3", RESIDENCE, INSURED, PERIOD, persons=5, seed=1)
    assert one == sample_document("A3", RESIDENCE, INSURED, PERIOD, persons=5, seed=1)
    other = sample_document("A3", RESIDENCE, INSURED, PERIOD, persons=5, seed=2)
    assert other.serial != one.serial
    assert not {s.serial for s in one.statements} & {s.serial for s in other.statements}


def test_a4_settles_the_a3_of_the_same_seed_and_a5_follows_the_a4():
    claim = sample_document("A3", RESIDENCE, INSURED, PERIOD, persons=30, seed=7)
    settlement = sample_document("A4", INSURED, RESIDENCE, PERIOD, persons=30, seed=7)
    assert settlement.claim_serial == claim.serial
    assert settlement.totals.claimed == claim.totals.claimed
    assert settlement.totals.deducted > 0 and settlement.deduction_note
    serials = {s.serial for s in claim.statements}
    assert all(a.statement_serial in serials for a in settlement.adjustments)
    facility = sample_document("A5", RESIDENCE, INSURED, PERIOD, persons=30, seed=7)
    assert facility.settlement_serial == settlement.serial
    assert facility.facility_code == claim.facility_claims[0].facility_code


def test_sample_people_are_realistic():
    claim = sample_document("A3", RESIDENCE, INSURED, PERIOD, persons=200, seed=3)
    assert 3 <= len(claim.facility_claims) <= 200
    for s in claim.statements:
        assert is_valid(s.id_number) and s.id_number.startswith(INSURED[:4])
        assert 1930 <= int(s.id_number[6:10]) <= 1960  # elderly people
        assert int(s.id_number[16]) % 2 == (1 if s.sex == "1" else 0)
        assert 2 <= len(s.name) <= 3
        assert s.facility_code.startswith("L" + RESIDENCE)
        assert s.covered == 0 or Decimal("0.69") <= s.fund_paid / s.covered <= Decimal("0.91")
    assert len({s.name for s in claim.statements}) > 150


@pytest.mark.slow
def test_hundred_thousand_persons_are_generated_quickly():
    import time

    start = time.perf_counter()
    claim = sample_document("A3", RESIDENCE, INSURED, PERIOD, persons=100_000, seed=1)
    elapsed = time.perf_counter() - start
    assert len(claim.statements) == 100_000
    assert elapsed < 15, elapsed  # measured about 1.4 s on the 2-core machine; generous for CI noise
    assert check_document(claim) == []


def test_samples_refuse_what_no_valid_document_could_be():
    with pytest.raises(ValueError):
        sample_document("A3", RESIDENCE, RESIDENCE, PERIOD)
    with pytest.raises(ValueError):
        sample_document("ACK", RESIDENCE, INSURED, PERIOD)
