"""Model → XML: the settlement documents and replies as elements of urn:ltcgw:settlement:1.

Uses the reader's field tables, so reading and writing cannot drift apart. Amounts are written with
exactly two decimals; a model amount with more is written as it is, for the schema to refuse rather than
the writer to round it silently.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache

from lxml import etree

from gateway.documents import reader as r
from gateway.domain import entitlement as ent
from gateway.domain import settlement as m

_P = r._P
_CENT = Decimal("0.01")


def _format(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, ".2f") if value == value.quantize(_CENT) else format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@cache
def _plan(fields: tuple[r.Field, ...]) -> tuple[tuple[str, str, bool], ...]:
    return tuple((_P + f.element, f.attr, f.optional) for f in fields)


def _put(parent: etree._Element, item: object, fields: tuple[r.Field, ...]) -> None:
    sub = etree.SubElement
    for tag, attr, optional in _plan(fields):
        value = getattr(item, attr)
        if value is None and optional:
            continue
        sub(parent, tag).text = value if type(value) is str else _format(value)


def _element(parent: etree._Element | None, name: str) -> etree._Element:
    if parent is None:
        return etree.Element(_P + name, nsmap={None: r.NS})
    return etree.SubElement(parent, _P + name)


def _row(parent: etree._Element, name: str, row: object, fields: tuple[r.Field, ...]) -> None:
    _put(_element(parent, name), row, fields)


def _schemes(parent: etree._Element, schemes: list, settled: bool) -> None:
    line, total = (r.SETTLED_LINE, r.SETTLED_TOTAL) if settled else (r.CLAIM_LINE, r.CLAIM_TOTAL)
    for scheme in schemes:
        element = _element(parent, "Scheme")
        etree.SubElement(element, _P + "PersonCategory").text = scheme.category
        for row in scheme.lines:
            _row(element, "Line", row, line)
        _row(element, "Total", scheme.total, total)


def _facility_claim(doc: m.FacilityClaim, parent: etree._Element | None = None) -> etree._Element:
    root = _element(parent, "FacilityClaim")
    _put(root, doc, r.FACILITY_HEAD)
    _schemes(root, doc.schemes, settled=False)
    _put(root, doc, r.FACILITY_CLAIM_TAIL)
    return root


def _statement(doc: m.PersonStatement, parent: etree._Element | None = None) -> etree._Element:
    root = _element(parent, "PersonStatement")
    _put(root, doc, r.PERSON_STATEMENT)
    return root


def _city_claim(doc: m.CityClaim) -> etree._Element:
    root = _element(None, "CityClaim")
    _put(root, doc, r.CITY_CLAIM_HEAD)
    _row(root, "Totals", doc.totals, r.CLAIM_TOTAL)
    _put(root, doc, r.CITY_CLAIM_TAIL)
    if doc.nil:  # 零申报: no details
        _element(root, "Nil").text = "true"
        return root
    claims = _element(root, "FacilityClaims")
    for claim in doc.facility_claims:
        _facility_claim(claim, claims)
    statements = _element(root, "PersonStatements")
    for statement in doc.statements:
        _statement(statement, statements)
    return root


def _city_settlement(doc: m.CitySettlement) -> etree._Element:
    root = _element(None, "CitySettlement")
    _put(root, doc, r.CITY_SETTLEMENT_HEAD)
    _row(root, "Totals", doc.totals, r.SETTLED_TOTAL)
    _put(root, doc, r.NOTES)
    _row(root, "ResidenceSignOff", doc.residence_sign_off, r.SIGN_OFF)
    _row(root, "InsuredSignOff", doc.insured_sign_off, r.SIGN_OFF)
    etree.SubElement(root, _P + "PreparedAt").text = _format(doc.prepared_at)
    if doc.adjustments is not None:
        adjustments = _element(root, "Adjustments")
        for adjustment in doc.adjustments:
            _row(adjustments, "Adjustment", adjustment, r.ADJUSTMENT)
    return root


def _facility_settlement(doc: m.FacilitySettlement) -> etree._Element:
    root = _element(None, "FacilitySettlement")
    _put(root, doc, r.FACILITY_SETTLEMENT_HEAD)
    _schemes(root, doc.schemes, settled=True)
    _put(root, doc, r.FACILITY_SETTLEMENT_TAIL)
    return root


def _simple(name: str, fields: tuple[r.Field, ...]):
    def write(doc: object) -> etree._Element:
        root = _element(None, name)
        _put(root, doc, fields)
        return root

    return write


def _nack(doc: m.Nack) -> etree._Element:
    root = _element(None, "Nack")
    if doc.original_name is not None:
        etree.SubElement(root, _P + "OriginalName").text = doc.original_name
    for error in doc.errors:
        element = etree.SubElement(root, _P + "Error", code=error.code)
        if error.line is not None:
            element.set("line", str(error.line))
        if error.path is not None:
            element.set("path", error.path)
        element.text = error.message
    return root


def _dispute(doc: m.Dispute) -> etree._Element:
    root = _element(None, "Dispute")
    _put(root, doc, r.DISPUTE_HEAD)
    if doc.statement_serials:
        serials = _element(root, "StatementSerials")
        for serial in doc.statement_serials:
            etree.SubElement(serials, _P + "StatementSerial").text = serial
    if doc.application is not None:
        _row(root, "Application", doc.application, r.APPLICATION)
    _put(root, doc, r.DISPUTE_TAIL)
    return root


def _settlements(root: etree._Element, refs: list[m.SettlementRef], fields: tuple[r.Field, ...]) -> None:
    listed = _element(root, "Settlements")
    for ref in refs:
        _row(listed, "Settlement", ref, fields)


def _payment(doc: m.PaymentAdvice) -> etree._Element:
    root = _element(None, "PaymentAdvice")
    _put(root, doc, r.PAYMENT_HEAD)
    _settlements(root, doc.settlements, r.PAID_SETTLEMENT)
    _put(root, doc, r.PAYMENT_TAIL)
    return root


def _refund(doc: m.RecoveryRefund) -> etree._Element:
    root = _element(None, "RecoveryRefund")
    _put(root, doc, r.REFUND_HEAD)
    items = _element(root, "Items")
    for item in doc.items:
        _row(items, "Item", item, r.REFUND_ITEM)
    _put(root, doc, r.REFUND_MIDDLE)
    _settlements(root, doc.settlements, r.CORRECTED_SETTLEMENT)
    _put(root, doc, r.REFUND_TAIL)
    return root


# --- entitlement documents ---

def _service_types(root: etree._Element, codes: list[str]) -> None:
    listed = _element(root, "ServiceTypes")
    for code in codes:
        etree.SubElement(listed, _P + "ServiceType").text = code


def _facilities(root: etree._Element, facilities: list[ent.Facility]) -> None:
    listed = _element(root, "Facilities")
    for facility in facilities:
        _row(listed, "Facility", facility, r.FACILITY)


def _entitlement_notice(doc: ent.EntitlementNotice) -> etree._Element:
    root = _element(None, "EntitlementNotice")
    _put(root, doc, r.NOTICE_HEAD)
    _service_types(root, doc.service_types)
    _put(root, doc, r.NOTICE_START)
    if doc.facilities:
        _facilities(root, doc.facilities)
    if doc.end is not None:
        _row(root, "End", doc.end, r.NOTICE_END)
    _put(root, doc, r.NOTICE_TAIL)
    return root


def _change_filing(doc: ent.ChangeFiling) -> etree._Element:
    root = _element(None, "ChangeFiling")
    _put(root, doc, r.FILING_HEAD)
    _service_types(root, doc.service_types)
    _facilities(root, doc.facilities)
    _put(root, doc, r.FILING_TAIL)
    return root


def _assessment_result(doc: ent.AssessmentResult) -> etree._Element:
    root = _element(None, "AssessmentResult")
    _put(root, doc, r.RESULT_HEAD)
    listed = _element(root, "Assessors")
    for assessor in doc.assessors:
        _row(listed, "Assessor", assessor, r.ASSESSOR)
    _put(root, doc, r.RESULT_TAIL)
    return root


_WRITERS = {
    m.FacilityClaim: _facility_claim,
    m.PersonStatement: _statement,
    m.CityClaim: _city_claim,
    m.CitySettlement: _city_settlement,
    m.FacilitySettlement: _facility_settlement,
    m.Ack: _simple("Ack", r.ACK),
    m.Nack: _nack,
    m.Receipt: _simple("Receipt", r.RECEIPT),
    m.Dispute: _dispute,
    m.DisputeAnswer: _simple("DisputeAnswer", r.DISPUTE_ANSWER),
    m.DisputeResult: _simple("DisputeResult", r.DISPUTE_RESULT),
    m.PaymentAdvice: _payment,
    m.RecoveryRefund: _refund,
    m.Withdrawal: _simple("Withdrawal", r.WITHDRAWAL),
    # entitlement documents
    ent.EntitlementNotice: _entitlement_notice,
    ent.ChangeFiling: _change_filing,
    ent.AssessmentRequest: _simple("AssessmentRequest", r.ASSESSMENT_REQUEST),
    ent.AssessmentResult: _assessment_result,
}


def document_xml(doc: m.Document | ent.EntitlementDocument) -> etree._Element:
    """The document as a root element (to place in an envelope's Body, or to serialise alone)."""
    return _WRITERS[type(doc)](doc)


def to_bytes(doc: m.Document | ent.EntitlementDocument) -> bytes:
    """The document alone as UTF-8 XML with a declaration, one element per line (so findings' line
    numbers point at one field)."""
    return etree.tostring(document_xml(doc), xml_declaration=True, encoding="UTF-8", pretty_print=True)
