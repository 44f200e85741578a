"""The entitlement documents (第十条, 第十五条, 第十七条): schema (xsd/entitlement.xsd through settlement.xsd and the
envelope), reader/writer round trip, samples, the rules (one failing case per code) and the envelope checks, and
the register's view of a notice and a filing."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from lxml import etree

from gateway.documents import safe_xml, schema
from gateway.documents.render import render_pdf
from gateway.documents.reader import read_document
from gateway.documents.sample import sample_document
from gateway.documents.sample_entitlement import (
    filing_for,
    notice_for,
    sample_assessment_request,
    sample_assessment_result,
    sample_change_filing,
    sample_entitlement,
    sample_entitlement_notice,
)
from gateway.documents.writer import to_bytes
from gateway.domain import entitlement as ent
from gateway.domain.envelope import Header, MessageType
from gateway.domain.idnumber import make_id_number, sex_of
from gateway.domain.rules import check_document

INSURED, RESIDENCE, OTHER = "370100", "370300", "370600"
PERIOD = "2026-10"
TODAY = date(2026, 11, 20)
CREATED = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing

KINDS = [
    ("ENTITLEMENT", INSURED, RESIDENCE, "start"),
    ("ENTITLEMENT", INSURED, RESIDENCE, "change"),
    ("ENTITLEMENT", INSURED, RESIDENCE, "end"),
    ("CHANGE_FILING", RESIDENCE, INSURED, "assignment"),
    ("CHANGE_FILING", RESIDENCE, INSURED, "change"),
    ("ASSESSMENT_REQUEST", INSURED, RESIDENCE, None),
    ("ASSESSMENT_RESULT", RESIDENCE, INSURED, None),
]


def header(doc, sender: str, receiver: str, revision: int = 1, **changes) -> Header:
    values = dict(message_id=f"{sender}X1", type=doc.type, sender=sender, receiver=receiver, period=doc.period,
                  serial=doc.serial, revision=revision, created=CREATED)
    values.update(changes)
    return Header(**values)


def codes(doc, head: Header | None = None) -> set[str]:
    return {f.code for f in check_document(doc, head)}


def schema_codes(data: bytes) -> set[str]:
    return {f.code for f in schema.validate(safe_xml.parse(data).getroot())}


def notice(**changes) -> ent.EntitlementNotice:
    return replace(sample_entitlement_notice(INSURED, RESIDENCE, PERIOD, seed=2, today=TODAY), **changes)


def filing(**changes) -> ent.ChangeFiling:
    return replace(sample_change_filing(RESIDENCE, INSURED, PERIOD, seed=2, kind="change", today=TODAY), **changes)


def result(**changes) -> ent.AssessmentResult:
    request = sample_assessment_request(INSURED, RESIDENCE, PERIOD, seed=2, today=TODAY)
    return replace(sample_assessment_result(request, today=TODAY), **changes)


@pytest.mark.parametrize(("kind", "sender", "receiver", "variant"), KINDS)
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_each_sample_passes_schema_and_rules_and_round_trips(kind, sender, receiver, variant, seed) -> None:
    doc = sample_entitlement(kind, sender, receiver, PERIOD, seed=seed, kind=variant, today=TODAY)
    assert doc.type is MessageType(kind)
    data = to_bytes(doc)
    assert schema_codes(data) == set()
    back = read_document(safe_xml.parse(data).getroot())
    assert _without_lines(back) == doc
    revision = 2 if variant in ("change", "end") and kind == "ENTITLEMENT" else 1
    assert codes(back, header(back, sender, receiver, revision)) == set()
    assert {doc.insured_city, doc.residence_city} == {INSURED, RESIDENCE}


def test_one_seed_is_one_person_through_the_flow() -> None:
    request = sample_assessment_request(INSURED, RESIDENCE, PERIOD, seed=4, today=TODAY)
    answer = sample_assessment_result(request, today=TODAY)
    start = sample_entitlement_notice(INSURED, RESIDENCE, PERIOD, seed=4, today=TODAY)
    end = sample_entitlement_notice(INSURED, RESIDENCE, PERIOD, seed=4, kind="end", today=TODAY)
    assignment = sample_change_filing(RESIDENCE, INSURED, PERIOD, seed=4, today=TODAY)
    assert answer.request_serial == request.serial and answer.period == request.period
    assert {d.id_number for d in (request, answer, start, end, assignment)} == {start.id_number}
    assert end.serial == start.serial and end.end is not None and start.end is None  # a revision of the notice
    assert assignment.entitlement_serial == start.serial
    assert sex_of(start.id_number) == start.sex
    assert request.requested_at <= answer.assessed_at <= answer.reported_at <= TODAY


def test_a_seed_is_the_same_person_in_every_month() -> None:
    october = sample_entitlement_notice(INSURED, RESIDENCE, PERIOD, seed=4, today=TODAY)
    november = sample_change_filing(RESIDENCE, INSURED, "2026-11", seed=4, kind="change", today=TODAY,
                                    entitlement_serial=october.serial)
    assert november.id_number == october.id_number and november.name == october.name
    assert november.effective_from.month == 11 and november.entitlement_serial == october.serial
    other = sample_entitlement_notice(INSURED, RESIDENCE, PERIOD, seed=5, today=TODAY)
    assert other.id_number != october.id_number and other.serial != october.serial


def test_the_people_of_a_sample_claim_can_be_given_their_entitlements() -> None:
    claim = sample_document("A3", RESIDENCE, INSURED, PERIOD, persons=12, seed=3)
    notices = [notice_for(s, today=TODAY) for s in claim.statements]
    assert len({n.serial for n in notices}) == len(notices)
    for statement, doc in zip(claim.statements, notices):
        assert (doc.id_number, doc.insured_city, doc.residence_city) == (statement.id_number, INSURED, RESIDENCE)
        assert doc.service_types == [statement.service_type]
        assert doc.start_date <= statement.start_date and statement.end_date <= doc.valid_until
        view = ent.arrangement(doc)
        assert view.care_facility == statement.facility_code
        assert codes(doc, header(doc, INSURED, RESIDENCE)) == set()
        assigned = filing_for(doc, today=TODAY)
        assert assigned.entitlement_serial == doc.serial and assigned.facility(ent.CARE).code == statement.facility_code
        assert codes(assigned, header(assigned, RESIDENCE, INSURED)) == set()


def test_notice_and_filing_feed_a_register_without_names() -> None:
    start = notice()
    view = ent.arrangement(start)
    assert (view.id_number, view.insured_city, view.residence_city) == (start.id_number, INSURED, RESIDENCE)
    assert (view.since, view.until, view.ended) == (start.start_date, start.valid_until, False)
    assert view.service_types == tuple(start.service_types) and view.care_facility == start.facilities[0].code
    ended = ent.arrangement(sample_entitlement_notice(INSURED, RESIDENCE, PERIOD, seed=2, kind="end", today=TODAY))
    assert ended.ended and ended.until < start.valid_until
    changed = ent.arrangement(filing())
    assert changed.since == filing().effective_from and changed.until is None
    assert changed.care_facility.startswith("L") and changed.device_facility.startswith("D")
    assert changed.entitlement_serial == start.serial
    assert not hasattr(view, "name")


def test_validity_limit_is_two_years_to_the_day() -> None:
    assert ent.validity_limit(date(2026, 3, 15)) == date(2028, 3, 15)
    assert ent.validity_limit(date(2028, 2, 29)) == date(2030, 2, 28)


def test_sex_of_an_id_number() -> None:
    assert sex_of(make_id_number("370102", date(1950, 1, 2), 11)) == "1"
    assert sex_of(make_id_number("370102", date(1950, 1, 2), 12)) == "2"
    assert sex_of("370102195001020000") is None  # not a valid number


# --- the rules: one failing case per code -------------------------------------------------------------------

def test_sex_must_agree_with_the_id_number() -> None:
    doc = notice()
    other = "2" if doc.sex == "1" else "1"
    assert "person.sex" in codes(replace(doc, sex=other))
    assert "person.sex" not in codes(replace(doc, sex="9"))  # 未说明: no contradiction
    assert "person.sex" in codes(replace(result(), sex="2" if result().sex == "1" else "1"))
    request = sample_assessment_request(INSURED, RESIDENCE, PERIOD, seed=2, today=TODAY)
    assert "person.sex" in codes(replace(request, sex="2" if request.sex == "1" else "1"))
    assert "person.id_check" in codes(replace(doc, id_number=doc.id_number[:-1] + ("0" if doc.id_number[-1] != "0" else "1")))
    assert codes(replace(doc, id_type="08", id_number="E12345678")) == set()  # a passport has no check digit


def test_dates_that_cannot_be_true_yet_are_refused() -> None:
    doc = notice()
    head = header(doc, INSURED, RESIDENCE)
    tomorrow = date(2026, 11, 21)
    assert "date.future" in codes(replace(doc, assessed_at=tomorrow, valid_until=date(2028, 11, 20)), head)
    assert "date.future" in codes(replace(doc, issued_at=tomorrow), head)
    assert "date.future" not in codes(replace(doc, issued_at=TODAY), head)  # Beijing's today is not the future
    late = datetime(2026, 11, 20, 17, 0, tzinfo=timezone.utc)  # already 21 November in Beijing
    assert "date.future" not in codes(replace(doc, issued_at=tomorrow), replace(head, created=late))
    death = replace(doc, kind="end", end=ent.EntitlementEnd(tomorrow, "death"))
    assert "date.future" in codes(death, replace(head, revision=2))
    moving = replace(doc, kind="end", end=ent.EntitlementEnd(tomorrow, "moved"))  # announced ahead: allowed
    assert "date.future" not in codes(moving, replace(head, revision=2))
    assert "date.future" in codes(filing(filed_at=tomorrow), header(filing(), RESIDENCE, INSURED))
    answer = result()
    assert "date.future" in codes(replace(answer, reported_at=tomorrow), header(answer, RESIDENCE, INSURED))
    assert "date.future" not in codes(replace(doc, issued_at=tomorrow))  # no envelope: no creation to compare


def test_validity_is_at_most_two_years() -> None:
    doc = notice()
    beyond = date.fromordinal(ent.validity_limit(doc.assessed_at).toordinal() + 1)
    assert "assessment.validity" in codes(replace(doc, valid_until=beyond))
    assert "assessment.validity" not in codes(replace(doc, valid_until=ent.validity_limit(doc.assessed_at)))
    assert "assessment.validity" in codes(replace(doc, valid_until=doc.assessed_at))
    answer = result()
    assert "assessment.validity" in codes(replace(answer, valid_until=date(answer.assessed_at.year + 3, 1, 1)))


def test_at_least_two_assessors() -> None:
    answer = result()
    assert "assessment.assessors" in codes(replace(answer, assessors=answer.assessors[:1]))
    same = [ent.Assessor("张明", "PG1"), ent.Assessor("张明", "PG1")]
    assert "assessment.assessors" in codes(replace(answer, assessors=same))
    assert "assessment.assessors" not in codes(replace(answer, assessors=[ent.Assessor("张明"), ent.Assessor("李华")]))
    assert "assessment.order" in codes(replace(answer, reported_at=date(2026, 1, 1)))


def test_one_care_facility_and_at_most_one_device_facility() -> None:
    changed = filing()
    care = ent.Facility(ent.CARE, "L370300000009", "淄博市长青护理院")
    device = ent.Facility(ent.DEVICE, "D370300000009", "淄博市康复辅具租赁服务站")
    assert "entitlement.care_facility" in codes(replace(changed, facilities=changed.facilities + [care]))
    assert "entitlement.care_facility" in codes(replace(changed, facilities=[device]))  # a filing names one
    assert "entitlement.device_facility" in codes(replace(changed, facilities=changed.facilities + [device]))
    doc = notice()
    assert "entitlement.care_facility" in codes(replace(doc, facilities=doc.facilities + [care]))
    assert "entitlement.care_facility" not in codes(replace(doc, facilities=[]))  # a notice may leave it to 派单


def test_service_types_from_the_residence_city_list() -> None:
    doc = notice()
    assert "codes.service_type" in codes(replace(doc, service_types=["99"]))
    assert "entitlement.service_types" in codes(replace(doc, service_types=["01", "01"]))
    assert codes(doc) == set()
    assert {f.code for f in check_document(doc, service_types={"07"})} >= {"codes.service_type"}


def test_start_end_and_kind() -> None:
    doc = notice()
    assert "entitlement.start" in codes(replace(doc, start_date=date(2026, 1, 1)))
    assert "entitlement.start" in codes(replace(doc, start_date=date(2030, 1, 1)))
    assert "entitlement.kind" in codes(replace(doc, kind="end"))
    end = ent.EntitlementEnd(date(2026, 10, 31), "expired")
    assert "entitlement.kind" in codes(replace(doc, end=end))
    assert codes(replace(doc, kind="end", end=end)) == set()
    assert "entitlement.end" in codes(replace(doc, kind="end", end=replace(end, end_date=date(2026, 1, 1))))
    assert "entitlement.end" in codes(replace(doc, kind="end", end=replace(end, end_date=date(2030, 1, 1))))
    reassessed = replace(doc, kind="change", assessed_at=date(2026, 11, 15), valid_until=date(2028, 11, 14))
    assert codes(reassessed) == set()  # a re-assessment comes after the start


def test_a_first_issue_is_filed_under_the_month_it_takes_effect() -> None:
    doc = notice()
    head = header(doc, INSURED, RESIDENCE, period="2026-09")
    assert "entitlement.period" in codes(replace(doc, period="2026-09"), head)
    assert "entitlement.period" not in codes(replace(doc, period="2026-09", kind="change"), replace(head, revision=2))
    changed = filing()
    assert "entitlement.period" in codes(replace(changed, period="2026-12"),
                                         header(changed, RESIDENCE, INSURED, period="2026-12"))


def test_cities_and_the_direction() -> None:
    doc = notice()
    assert "route.same_city" in codes(replace(doc, residence_city=INSURED))
    assert "route.unknown_area" in codes(replace(doc, residence_city="999999"))
    # A notice goes from the insured city to the residence city: sent the other way, it is refused.
    wrong_way = header(doc, RESIDENCE, INSURED)
    assert "envelope.cities" in codes(doc, wrong_way)
    assert "envelope.cities" in codes(doc, header(doc, INSURED, OTHER))
    changed = filing()
    assert "envelope.cities" in codes(changed, header(changed, INSURED, RESIDENCE))
    assert codes(changed, header(changed, RESIDENCE, INSURED)) == set()
    assert "envelope.period" in codes(doc, header(doc, INSURED, RESIDENCE, period="2026-11"))
    assert "envelope.serial" in codes(doc, header(doc, INSURED, RESIDENCE, serial="OTHER"))
    assert "envelope.type" in codes(doc, header(doc, INSURED, RESIDENCE, type=MessageType.CHANGE_FILING))


def test_messages_carry_no_name_and_no_id_number() -> None:
    doc = notice()
    broken = replace(doc, sex="2" if doc.sex == "1" else "1", issued_at=date(2027, 1, 1), service_types=["99"],
                     valid_until=date(2030, 1, 1), start_date=date(2026, 1, 1))
    findings = check_document(broken, header(doc, RESIDENCE, INSURED))
    assert len(findings) >= 5
    for finding in findings:
        assert doc.name not in finding.message and doc.id_number not in finding.message


# --- the schema -------------------------------------------------------------------------------------------------

def _set(text: str, element: str, value: str) -> str:
    start = text.index(f"<{element}>") + len(element) + 2
    return text[:start] + value + text[text.index(f"</{element}>"):]


def _drop(text: str, element: str) -> str:
    start = text.index(f"<{element}>")
    return text[:start] + text[text.index(f"</{element}>") + len(element) + 3:]


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (lambda t: _set(t, "Kind", "begin"), "xsd.enumeration"),
        (lambda t: _set(t, "Sex", "3"), "xsd.enumeration"),
        (lambda t: _set(t, "PersonCategory", "3"), "xsd.enumeration"),
        (lambda t: _set(t, "DisabilityLevel", "6"), "xsd.enumeration"),
        (lambda t: _set(t, "AssessedAt", "2026-13-01"), "xsd.datatype"),
        (lambda t: _set(t, "ServiceType", "1"), "xsd.pattern"),
        (lambda t: _drop(t, "StartDate"), "xsd.unexpected"),
        (lambda t: _set(t, "Role", "hospital"), "xsd.enumeration"),
        (lambda t: t.replace("</StartDate>", "</StartDate><End><EndDate>2026-10-31</EndDate><EndReason>bored"
                             "</EndReason></End>"), "xsd.enumeration"),
    ],
)
def test_the_notice_schema_refuses(edit, code: str) -> None:
    text = to_bytes(notice()).decode()
    assert schema_codes(text.encode()) == set()
    assert code in schema_codes(edit(text).encode())


def test_the_other_schemas_refuse() -> None:
    text = to_bytes(filing()).decode()
    assert "xsd.enumeration" in schema_codes(_set(text, "Kind", "start").encode())
    assert "xsd.unexpected" in schema_codes(_drop(text, "EntitlementSerial").encode())
    text = to_bytes(sample_assessment_request(INSURED, RESIDENCE, PERIOD, today=TODAY)).decode()
    assert "xsd.enumeration" in schema_codes(_set(text, "Reason", "curiosity").encode())
    assert "xsd.pattern" in schema_codes(text.replace("</PersonCategory>", "</PersonCategory><Phone>call me</Phone>")
                                         .encode())
    text = to_bytes(result()).decode()
    assert "xsd.enumeration" in schema_codes(_set(text, "Method", "phone").encode())
    assert "xsd.missing" in schema_codes(text.replace(text[text.index("<Assessor>"):text.index("</Assessors>")], "")
                                         .encode())


def test_message_types_and_their_body_roots_are_in_the_envelope_schema() -> None:
    text = schema.schema_path("envelope").read_text(encoding="utf-8")
    roots = {"ENTITLEMENT": "EntitlementNotice", "CHANGE_FILING": "ChangeFiling",
             "ASSESSMENT_REQUEST": "AssessmentRequest", "ASSESSMENT_RESULT": "AssessmentResult"}
    for kind, root in roots.items():
        message_type = MessageType(kind)
        assert f'<xs:enumeration value="{kind}"/>' in text and f'<xs:element ref="s:{root}"/>' in text
        assert message_type.is_entitlement and message_type.is_city_document
        assert not message_type.is_attachment and not message_type.is_dispute and not message_type.names_reference
    tree = etree.parse(str(schema.schema_path("settlement")))
    assert "entitlement.xsd" in {i.get("schemaLocation") for i in tree.getroot()}
    # Direction: the insured city notifies and asks; the residence city files and answers.
    for kind, sender_is_residence in (("ENTITLEMENT", False), ("CHANGE_FILING", True), ("ASSESSMENT_REQUEST", False),
                                      ("ASSESSMENT_RESULT", True)):
        head = Header("M", MessageType(kind), "370100", "370300", PERIOD, "S", 1, CREATED)
        assert head.residence_city == ("370100" if sender_is_residence else "370300")


def _without_lines(value):
    import dataclasses

    if dataclasses.is_dataclass(value):
        changes = {f.name: _without_lines(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if "line" in changes:
            changes["line"] = None
        return dataclasses.replace(value, **changes)
    if isinstance(value, list):
        return [_without_lines(v) for v in value]
    return value


TITLES = {("ENTITLEMENT", "start"): "待遇享受通知单", ("ENTITLEMENT", "change"): "待遇变更通知单",
          ("ENTITLEMENT", "end"): "待遇终止通知单", ("CHANGE_FILING", "assignment"): "定点服务机构派单备案表",
          ("CHANGE_FILING", "change"): "定点服务机构及护理服务类型变更备案表",
          ("ASSESSMENT_REQUEST", None): "失能等级委托评估函", ("ASSESSMENT_RESULT", None): "失能等级委托评估结果反馈单"}


@pytest.mark.parametrize(("kind", "sender", "receiver", "variant"), KINDS)
def test_each_renders_as_a_printable_form(tmp_path, kind, sender, receiver, variant) -> None:
    doc = sample_entitlement(kind, sender, receiver, PERIOD, seed=5, kind=variant, today=TODAY)
    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(render_pdf(doc))
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                                             text=True).stdout)
    assert "省内异地长期护理保险" + TITLES[(kind, variant)] in text
    assert doc.serial in text and "济南市" in text and "淄博市" in text
    if kind == "ASSESSMENT_RESULT":
        assert all(a.name in text for a in doc.assessors)
    if kind == "CHANGE_FILING":
        assert all(f.code in text for f in doc.facilities)


def test_the_kit_samples_each_type_and_refuses_a_kind_of_another(tmp_path, capsys) -> None:
    from gateway.entrypoints.cli import main

    addressing = ["--sender", INSURED, "--receiver", RESIDENCE, "--period", PERIOD]
    assert main(["sample", "ENTITLEMENT", *addressing, "--kind", "assignment"]) == 2
    assert "--kind assignment is not a kind of ENTITLEMENT" in capsys.readouterr().err
    assert main(["sample", "ASSESSMENT_REQUEST", "--sender", INSURED]) == 2
    assert "needs --receiver, --period" in capsys.readouterr().err
    target = tmp_path / "notice.xml"
    assert main(["sample", "ENTITLEMENT", *addressing, "--kind", "end", "-o", str(target)]) == 0
    notice = read_document(safe_xml.parse(target.read_bytes()).getroot())
    assert notice.kind == "end" and notice.end is not None
    assert main(["sample", "ASSESSMENT_RESULT", "--ref", str(target)]) == 2  # a bare document has no header
    capsys.readouterr()
