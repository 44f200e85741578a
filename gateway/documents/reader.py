"""XML → model: reads a schema-valid settlement document (or reply) into `gateway.domain.settlement`.

The input has passed the XSD, so the reader only converts; it walks each element's children once (a dict
lookup per child) because an A3 may carry 100,000 statements. The field tables here are shared with the
writer: one place says which element holds which attribute.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from lxml import etree

from gateway.domain import entitlement as ent
from gateway.domain import settlement as m

NS = "urn:ltcgw:settlement:1"
_P = "{" + NS + "}"


def _text(value: str | None) -> str:
    return value or ""


def _date(value: str | None) -> date:
    return date.fromisoformat((value or "").strip()[:10])  # xs:date may carry a time zone: dropped


def _int(value: str | None) -> int:
    return int((value or "").strip())


def _amount(value: str | None) -> Decimal:
    return Decimal((value or "").strip())


def _bool(value: str | None) -> bool:
    return (value or "").strip() in ("true", "1")


class Field(NamedTuple):
    element: str  # local name in urn:ltcgw:settlement:1
    attr: str  # attribute of the model class
    kind: str  # "text" | "int" | "amount" | "date"
    optional: bool = False


READ: dict[str, Callable[[str | None], Any]] = {"text": _text, "int": _int, "amount": _amount, "date": _date,
                                                "bool": _bool}


def _fields(spec: str) -> tuple[Field, ...]:
    """Compact field tables: 'Element:attr:kind[?]' per line; kind defaults to text, ? marks optional."""
    out = []
    for item in spec.split():
        element, attr, *rest = item.split(":")
        kind = rest[0] if rest else "text"
        out.append(Field(element, attr, kind.rstrip("?") or "text", kind.endswith("?")))
    return tuple(out)


CLAIM_FIGURES = _fields(
    """Visits:visits:int Days:days:int TotalCost:total_cost:amount SelfPaid:self_paid:amount
    Covered:covered:amount CoPay:co_pay:amount Claimed:claimed:amount"""
)
SETTLED_FIGURES = CLAIM_FIGURES + _fields(
    "Deducted:deducted:amount Supplemented:supplemented:amount Paid:paid:amount"
)
CLAIM_LINE = _fields("ServiceType:service_type") + CLAIM_FIGURES + _fields("ClaimedInWords:claimed_in_words")
CLAIM_TOTAL = CLAIM_FIGURES + _fields("ClaimedInWords:claimed_in_words")
SETTLED_LINE = _fields("ServiceType:service_type") + SETTLED_FIGURES
SETTLED_TOTAL = SETTLED_FIGURES + _fields("PaidInWords:paid_in_words")
FACILITY_HEAD = _fields("FacilityCode:facility_code FacilityName:facility_name Serial:serial Period:period")
PERSON_STATEMENT = _fields(
    """FacilityCode:facility_code FacilityName:facility_name FacilityLevel:facility_level:? Serial:serial
    Period:period Late:late:bool? Name:name Sex:sex IdType:id_type IdNumber:id_number PersonCategory:person_category
    DisabilityLevel:disability_level InsuredCity:insured_city ResidenceCity:residence_city
    ServiceType:service_type StartDate:start_date:date EndDate:end_date:date BenefitDays:benefit_days:int
    TotalCost:total_cost:amount SelfPaid:self_paid:amount Covered:covered:amount FundPaid:fund_paid:amount
    CoPay:co_pay:amount PersonalBurden:personal_burden:amount PreparedByUnit:prepared_by_unit
    PreparedAt:prepared_at:date"""
)
FACILITY_CLAIM_TAIL = _fields(
    "PreparedBy:prepared_by ReviewedBy:reviewed_by PreparedByUnit:prepared_by_unit PreparedAt:prepared_at:date"
)
CITY_CLAIM_HEAD = _fields(
    """AgencyCode:agency_code AgencyName:agency_name Serial:serial Period:period
    ResidenceCity:residence_city InsuredCity:insured_city"""
)
CITY_CLAIM_TAIL = _fields(
    """FirstReviewer:first_reviewer Reviewer:reviewer Checker:checker PreparedByUnit:prepared_by_unit
    PreparedAt:prepared_at:date"""
)
CITY_SETTLEMENT_HEAD = _fields(
    """AgencyCode:agency_code AgencyName:agency_name Serial:serial Period:period ClaimSerial:claim_serial
    InsuredCity:insured_city ResidenceCity:residence_city"""
)
NOTES = _fields("DeductionNote:deduction_note:? SupplementNote:supplement_note:?")
SIGN_OFF = _fields("FirstReviewer:first_reviewer Reviewer:reviewer Checker:checker Unit:unit")
ADJUSTMENT = _fields(
    """StatementSerial:statement_serial IdNumber:id_number Deducted:deducted:amount
    Supplemented:supplemented:amount Reason:reason"""
)
FACILITY_SETTLEMENT_HEAD = FACILITY_HEAD + _fields("InsuredCity:insured_city SettlementSerial:settlement_serial")
FACILITY_SETTLEMENT_TAIL = NOTES + CITY_CLAIM_TAIL[:3] + FACILITY_CLAIM_TAIL[2:]
DISPUTE_HEAD = _fields(
    """Serial:serial Period:period ResidenceCity:residence_city InsuredCity:insured_city
    DisputedType:disputed_type DisputedSerial:disputed_serial Subject:subject FacilityCode:facility_code:?
    Expected:expected:amount Stated:stated:amount Explanation:explanation"""
)
DISPUTE_TAIL = _fields("RaisedBy:raised_by Unit:unit RaisedAt:raised_at:date")
DISPUTE_ANSWER = _fields(
    """Serial:serial Period:period ResidenceCity:residence_city InsuredCity:insured_city
    DisputeSerial:dispute_serial Outcome:outcome CorrectedAmount:corrected_amount:amount?
    CorrectionSerial:correction_serial:? Explanation:explanation AnsweredBy:answered_by Unit:unit
    AnsweredAt:answered_at:date"""
)
APPLICATION = _fields(
    """Applicant:applicant IdType:id_type:? IdNumber:id_number:? FacilityCode:facility_code:?
    FacilityName:facility_name:? AppliedOn:applied_on:date"""
)
DISPUTE_RESULT = _fields(
    """Serial:serial Period:period ResidenceCity:residence_city InsuredCity:insured_city
    DisputeSerial:dispute_serial Outcome:outcome CorrectedAmount:corrected_amount:amount? Explanation:explanation
    AnsweredOn:answered_on:date AnsweredBy:answered_by Unit:unit"""
)
# --- the money (第二十六条 PaymentAdvice, 第二十九条 RecoveryRefund) ---
PAYMENT_HEAD = _fields(
    """Serial:serial Period:period InsuredCity:insured_city ResidenceCity:residence_city Amount:amount:amount
    ValueDate:value_date:date PayerReference:payer_reference PayeeReference:payee_reference:?"""
)
PAYMENT_TAIL = _fields("Note:note:? PreparedBy:prepared_by Unit:unit PreparedAt:prepared_at:date")
PAID_SETTLEMENT = _fields("SettlementSerial:serial Period:period Amount:amount:amount")
REFUND_HEAD = _fields(
    """Serial:serial Period:period ResidenceCity:residence_city InsuredCity:insured_city
    FacilityCode:facility_code FacilityName:facility_name"""
)
REFUND_ITEM = _fields(
    "Name:name IdType:id_type IdNumber:id_number Month:month Amount:amount:amount StatementSerial:statement_serial:?"
)
REFUND_MIDDLE = _fields("Total:total:amount Reason:reason")
REFUND_TAIL = _fields(
    "ValueDate:value_date:date PayerReference:payer_reference PreparedBy:prepared_by Unit:unit PreparedAt:prepared_at:date"
)
CORRECTED_SETTLEMENT = PAID_SETTLEMENT[:2]
WITHDRAWAL = _fields(
    """Serial:serial Period:period ResidenceCity:residence_city InsuredCity:insured_city
    WithdrawnType:withdrawn_type WithdrawnSerial:withdrawn_serial WithdrawnRevision:withdrawn_revision:int
    Reason:reason WithdrawnBy:withdrawn_by Unit:unit WithdrawnAt:withdrawn_at:date"""
)

# --- entitlement documents (第十条, 第十五条, 第十七条): lists (ServiceTypes, Facilities, Assessors, End) apart ---
CITY_DOCUMENT_HEAD = _fields("Serial:serial Period:period InsuredCity:insured_city ResidenceCity:residence_city")
NOTICE_HEAD = CITY_DOCUMENT_HEAD + _fields(
    """Kind:kind IdType:id_type IdNumber:id_number Name:name Sex:sex PersonCategory:person_category
    DisabilityLevel:disability_level AssessedAt:assessed_at:date ValidUntil:valid_until:date"""
)
NOTICE_START = _fields("StartDate:start_date:date")
NOTICE_TAIL = _fields("IssuedBy:issued_by Unit:unit IssuedAt:issued_at:date")
NOTICE_END = _fields("EndDate:end_date:date EndReason:reason EndNote:note:?")
FACILITY = _fields("Role:role Code:code Name:name")
FILING_HEAD = CITY_DOCUMENT_HEAD + _fields(
    "Kind:kind EntitlementSerial:entitlement_serial IdType:id_type IdNumber:id_number Name:name "
    "EffectiveFrom:effective_from:date"
)
FILING_TAIL = _fields("Reason:reason:? FiledBy:filed_by Unit:unit FiledAt:filed_at:date")
ASSESSMENT_REQUEST = CITY_DOCUMENT_HEAD + _fields(
    """Reason:reason IdType:id_type IdNumber:id_number Name:name Sex:sex PersonCategory:person_category
    Address:address:? Phone:phone:? Note:note:? RequestedBy:requested_by Unit:unit RequestedAt:requested_at:date"""
)
RESULT_HEAD = CITY_DOCUMENT_HEAD + _fields(
    """RequestSerial:request_serial IdType:id_type IdNumber:id_number Name:name Sex:sex
    DisabilityLevel:disability_level AssessedAt:assessed_at:date ValidUntil:valid_until:date Method:method
    AssessmentOrg:assessment_org"""
)
RESULT_TAIL = _fields("Conclusion:conclusion:? ReportedBy:reported_by Unit:unit ReportedAt:reported_at:date")
ASSESSOR = _fields("Name:name Code:code:?")

ACK = _fields("DeliveredTo:delivered_to Note:note:?")
RECEIPT = _fields("Status:status Reason:reason:?")


class _Table:
    """A field table indexed by qualified tag, for one pass over an element's children."""

    __slots__ = ("by_tag", "defaults")

    def __init__(self, *tables: tuple[Field, ...]) -> None:
        fields = [f for table in tables for f in table]
        self.by_tag = {_P + f.element: (f.attr, READ[f.kind]) for f in fields}
        self.defaults = {f.attr: None for f in fields if f.optional}

    def read(self, element: etree._Element, into: dict[str, Any] | None = None) -> dict[str, Any]:
        values = dict(self.defaults)
        if into:
            values.update(into)
        by_tag = self.by_tag
        for child in element:
            spec = by_tag.get(child.tag)
            if spec is not None:
                values[spec[0]] = spec[1](child.text)
        return values

    def read_shared(self, element: etree._Element, shared: dict, attrs: frozenset[str]) -> dict[str, Any]:
        """As `read`, each value of `attrs` made once per distinct text and kept in `shared` (by its text, not
        its value: Decimal("1.10") == Decimal("1.1"), and the text is what the file says)."""
        values = dict(self.defaults)
        by_tag = self.by_tag
        for child in element:
            spec = by_tag.get(child.tag)
            if spec is not None:
                attr, convert = spec
                if attr in attrs:
                    key = (attr, child.text)
                    value = shared.get(key, _MISSING)
                    if value is _MISSING:
                        value = shared[key] = convert(child.text)
                    values[attr] = value
                else:
                    values[attr] = convert(child.text)
        return values


_MISSING = object()
_CLAIM_LINE = _Table(CLAIM_LINE)
_CLAIM_TOTAL = _Table(CLAIM_TOTAL)
_SETTLED_LINE = _Table(SETTLED_LINE)
_SETTLED_TOTAL = _Table(SETTLED_TOTAL)
_STATEMENT = _Table(PERSON_STATEMENT)
_FACILITY_CLAIM = _Table(FACILITY_HEAD, FACILITY_CLAIM_TAIL)
_CITY_CLAIM = _Table(CITY_CLAIM_HEAD, CITY_CLAIM_TAIL)
_CITY_SETTLEMENT = _Table(CITY_SETTLEMENT_HEAD, NOTES, _fields("PreparedAt:prepared_at:date"))
_SIGN_OFF = _Table(SIGN_OFF)
_ADJUSTMENT = _Table(ADJUSTMENT)
_FACILITY_SETTLEMENT = _Table(FACILITY_SETTLEMENT_HEAD, FACILITY_SETTLEMENT_TAIL)
_ACK = _Table(ACK)
_RECEIPT = _Table(RECEIPT)
_DISPUTE = _Table(DISPUTE_HEAD, DISPUTE_TAIL)
_DISPUTE_ANSWER = _Table(DISPUTE_ANSWER)
_APPLICATION = _Table(APPLICATION)
_DISPUTE_RESULT = _Table(DISPUTE_RESULT)
_PAYMENT = _Table(PAYMENT_HEAD, PAYMENT_TAIL)
_PAID_SETTLEMENT = _Table(PAID_SETTLEMENT)
_REFUND = _Table(REFUND_HEAD, REFUND_MIDDLE, REFUND_TAIL)
_REFUND_ITEM = _Table(REFUND_ITEM)
_NOTICE = _Table(NOTICE_HEAD, NOTICE_START, NOTICE_TAIL)
_NOTICE_END = _Table(NOTICE_END)
_FACILITY = _Table(FACILITY)
_FILING = _Table(FILING_HEAD, FILING_TAIL)
_ASSESSMENT_REQUEST = _Table(ASSESSMENT_REQUEST)
_RESULT = _Table(RESULT_HEAD, RESULT_TAIL)
_ASSESSOR = _Table(ASSESSOR)
_WITHDRAWAL = _Table(WITHDRAWAL)


def _claim_row(element: etree._Element, table: _Table = _CLAIM_LINE) -> m.ClaimRow:
    return m.ClaimRow(**table.read(element, {"service_type": None}), line=element.sourceline)


def _settled_row(element: etree._Element, table: _Table = _SETTLED_LINE) -> m.SettledRow:
    values = table.read(element, {"service_type": None, "paid_in_words": None})
    return m.SettledRow(**values, line=element.sourceline)


def _scheme(element: etree._Element, settled: bool) -> m.ClaimScheme | m.SettledScheme:
    category, lines, total = "", [], None
    for child in element:
        if child.tag == _P + "PersonCategory":
            category = _text(child.text)
        elif child.tag == _P + "Line":
            lines.append(_settled_row(child) if settled else _claim_row(child))
        elif child.tag == _P + "Total":
            total = _settled_row(child, _SETTLED_TOTAL) if settled else _claim_row(child, _CLAIM_TOTAL)
    cls = m.SettledScheme if settled else m.ClaimScheme
    return cls(category, lines, total, line=element.sourceline)


def _schemes(element: etree._Element, settled: bool) -> list:
    return [_scheme(child, settled) for child in element.iterchildren(_P + "Scheme")]


def read_facility_claim(element: etree._Element) -> m.FacilityClaim:
    values = _FACILITY_CLAIM.read(element)
    return m.FacilityClaim(**values, schemes=_schemes(element, False), line=element.sourceline)


# Values a claim's statements mostly repeat (codes, the facility, the month, dates, common amounts): each read
# once per claim and shared, a third less memory per person (100,000 of them in a large claim).
_SHARED = frozenset({"facility_code", "facility_name", "facility_level", "period", "sex", "id_type", "person_category",
           "disability_level", "insured_city", "residence_city", "service_type", "start_date", "end_date",
           "benefit_days", "total_cost", "self_paid", "covered", "fund_paid", "co_pay", "personal_burden",
           "prepared_by_unit", "prepared_at"})


def read_statement(element: etree._Element, shared: dict | None = None) -> m.PersonStatement:
    """One 个人结算单; `shared` (one per claim) keeps one object per distinct value of the repeated fields."""
    values = _STATEMENT.read(element) if shared is None else _STATEMENT.read_shared(element, shared, _SHARED)
    return m.PersonStatement(**values, line=element.sourceline)


def read_city_claim(element: etree._Element) -> m.CityClaim:
    values = _CITY_CLAIM.read(element)
    shared: dict = {}
    totals = element.find(_P + "Totals")
    claims = element.find(_P + "FacilityClaims")
    statements = element.find(_P + "PersonStatements")
    return m.CityClaim(
        **values,
        totals=_claim_row(totals, _CLAIM_TOTAL),
        facility_claims=[] if claims is None else [read_facility_claim(c) for c in claims.iterchildren(_P + "FacilityClaim")],
        statements=[] if statements is None else [read_statement(s, shared) for s in statements.iterchildren(_P + "PersonStatement")],
        nil=element.find(_P + "Nil") is not None,  # 零申报 (the schema allows it only without A1 and A2)
        line=element.sourceline,
    )


def read_city_settlement(element: etree._Element) -> m.CitySettlement:
    values = _CITY_SETTLEMENT.read(element)
    adjustments = element.find(_P + "Adjustments")
    return m.CitySettlement(
        **values,
        totals=_settled_row(element.find(_P + "Totals"), _SETTLED_TOTAL),
        residence_sign_off=m.SignOff(**_SIGN_OFF.read(element.find(_P + "ResidenceSignOff"))),
        insured_sign_off=m.SignOff(**_SIGN_OFF.read(element.find(_P + "InsuredSignOff"))),
        adjustments=None
        if adjustments is None
        else [
            m.Adjustment(**_ADJUSTMENT.read(a), line=a.sourceline)
            for a in adjustments.iterchildren(_P + "Adjustment")
        ],
        line=element.sourceline,
    )


def read_facility_settlement(element: etree._Element) -> m.FacilitySettlement:
    values = _FACILITY_SETTLEMENT.read(element)
    return m.FacilitySettlement(**values, schemes=_schemes(element, True), line=element.sourceline)


def read_nack(element: etree._Element) -> m.Nack:
    errors = [
        m.NackError(
            code=e.get("code", ""),
            message=_text(e.text),
            line=int(e.get("line")) if e.get("line") else None,
            path=e.get("path"),
        )
        for e in element.iterchildren(_P + "Error")
    ]
    return m.Nack(errors, original_name=element.findtext(_P + "OriginalName"))


def read_dispute(element: etree._Element) -> m.Dispute:
    serials = element.find(_P + "StatementSerials")
    listed = [] if serials is None else [_text(s.text) for s in serials.iterchildren(_P + "StatementSerial")]
    applied = element.find(_P + "Application")
    application = None if applied is None else m.DisputeApplication(**_APPLICATION.read(applied),
                                                                     line=applied.sourceline)
    return m.Dispute(**_DISPUTE.read(element), statement_serials=listed, line=element.sourceline,
                     application=application)


def _settlement_refs(element: etree._Element) -> list[m.SettlementRef]:
    listed = element.find(_P + "Settlements")
    return [m.SettlementRef(**_PAID_SETTLEMENT.read(s, {"amount": None}), line=s.sourceline)
            for s in listed.iterchildren(_P + "Settlement")]


def read_payment(element: etree._Element) -> m.PaymentAdvice:
    return m.PaymentAdvice(**_PAYMENT.read(element), settlements=_settlement_refs(element), line=element.sourceline)


def read_refund(element: etree._Element) -> m.RecoveryRefund:
    items = [m.RecoveredFee(**_REFUND_ITEM.read(i), line=i.sourceline)
             for i in element.find(_P + "Items").iterchildren(_P + "Item")]
    return m.RecoveryRefund(**_REFUND.read(element), items=items, settlements=_settlement_refs(element),
                            line=element.sourceline)


# --- entitlement documents ---

def _service_types(element: etree._Element) -> list[str]:
    listed = element.find(_P + "ServiceTypes")
    return [] if listed is None else [_text(t.text) for t in listed.iterchildren(_P + "ServiceType")]


def _facilities(element: etree._Element) -> list[ent.Facility]:
    listed = element.find(_P + "Facilities")
    if listed is None:
        return []
    return [ent.Facility(**_FACILITY.read(f), line=f.sourceline) for f in listed.iterchildren(_P + "Facility")]


def read_entitlement_notice(element: etree._Element) -> ent.EntitlementNotice:
    end = element.find(_P + "End")
    return ent.EntitlementNotice(
        **_NOTICE.read(element),
        service_types=_service_types(element),
        facilities=_facilities(element),
        end=None if end is None else ent.EntitlementEnd(**_NOTICE_END.read(end), line=end.sourceline),
        line=element.sourceline,
    )


def read_change_filing(element: etree._Element) -> ent.ChangeFiling:
    return ent.ChangeFiling(**_FILING.read(element), service_types=_service_types(element),
                          facilities=_facilities(element), line=element.sourceline)


def read_assessment_result(element: etree._Element) -> ent.AssessmentResult:
    listed = element.find(_P + "Assessors")
    assessors = [] if listed is None else [
        ent.Assessor(**_ASSESSOR.read(a), line=a.sourceline) for a in listed.iterchildren(_P + "Assessor")
    ]
    return ent.AssessmentResult(**_RESULT.read(element), assessors=assessors, line=element.sourceline)


READERS: dict[str, Callable[[etree._Element], m.Document | ent.EntitlementDocument]] = {
    _P + "FacilityClaim": read_facility_claim,
    _P + "PersonStatement": read_statement,
    _P + "CityClaim": read_city_claim,
    _P + "CitySettlement": read_city_settlement,
    _P + "FacilitySettlement": read_facility_settlement,
    _P + "Ack": lambda e: m.Ack(**_ACK.read(e)),
    _P + "Nack": read_nack,
    _P + "Receipt": lambda e: m.Receipt(**_RECEIPT.read(e)),
    _P + "Dispute": read_dispute,
    _P + "DisputeAnswer": lambda e: m.DisputeAnswer(**_DISPUTE_ANSWER.read(e), line=e.sourceline),
    _P + "DisputeResult": lambda e: m.DisputeResult(**_DISPUTE_RESULT.read(e), line=e.sourceline),
    _P + "PaymentAdvice": read_payment,
    _P + "RecoveryRefund": read_refund,
    _P + "Withdrawal": lambda e: m.Withdrawal(**_WITHDRAWAL.read(e), line=e.sourceline),
    # entitlement documents
    _P + "EntitlementNotice": read_entitlement_notice,
    _P + "ChangeFiling": read_change_filing,
    _P + "AssessmentRequest": lambda x: ent.AssessmentRequest(**_ASSESSMENT_REQUEST.read(x), line=x.sourceline),
    _P + "AssessmentResult": read_assessment_result,
}


def read_document(element: etree._Element) -> m.Document | ent.EntitlementDocument:
    """The model of a schema-valid document root (A1–A5, Ack, Nack, Receipt, Dispute, DisputeAnswer,
    PaymentAdvice, RecoveryRefund, and the entitlement documents)."""
    reader = READERS.get(element.tag)
    if reader is None:
        raise ValueError(f"not a settlement document root: {etree.QName(element).localname}")
    return reader(element)
