"""The settlement rules: the identities the forms (附件1–5) must satisfy, checked on the model.

`check_document` collects every broken rule (never only the first), each as a Finding with a stable code
and a message a city clerk can act on: where (scheme, care-service type, statement number and serial),
the amounts expected and found. Amounts are not personal; names and ID numbers never appear in a message.
The identities are listed in docs/documents.md.
"""

from __future__ import annotations

from typing import Protocol

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import date, timedelta, timezone
from decimal import Decimal

from gateway.domain import settlement as m
from gateway.domain.amounts import words_match
from gateway.domain.areas import KNOWN_AREAS
from gateway.domain.codes import DEFAULT_SERVICE_TYPES, PERSON_CATEGORIES, RESIDENT_ID_CARD
from gateway.domain.entitlement import AssessmentRequest, AssessmentResult, ChangeFiling, EntitlementNotice
from gateway.domain.entitlement_rules import check_entitlement_document
from gateway.domain.envelope import SENT_BY_RESIDENCE_CITY, Header, MessageType
from gateway.domain.findings import Finding, Phrase, phrase
from gateway.domain.idnumber import is_valid

ZERO = Decimal("0.00")
CHINA_TIME = timezone(timedelta(hours=8))  # a value date is a day in China
ENTITLEMENT_DOCUMENTS = (EntitlementNotice, ChangeFiling, AssessmentRequest, AssessmentResult)

# Element name and form label of each figure, for messages (a clerk finds the field by either).
LABELS = {
    "visits": phrase("Visits 总人次"),
    "days": phrase("Days 总天数"),
    "total_cost": phrase("TotalCost 费用总额"),
    "self_paid": phrase("SelfPaid 个人自费金额"),
    "covered": phrase("Covered 纳入统筹金额"),
    "co_pay": phrase("CoPay 个人自付金额"),
    "claimed": phrase("Claimed 申请拨付金额"),
    "fund_paid": phrase("FundPaid 统筹支付金额"),
    "personal_burden": phrase("PersonalBurden 个人负担合计"),
    "deducted": phrase("Deducted 审核扣款金额"),
    "supplemented": phrase("Supplemented 补拨金额"),
    "paid": phrase("Paid 实拨金额"),
    "benefit_days": phrase("BenefitDays 待遇享受天数"),
}
CLAIM_FIGURES = ("visits", "days", "total_cost", "self_paid", "covered", "co_pay", "claimed")
SETTLED_FIGURES = CLAIM_FIGURES + ("deducted", "supplemented", "paid")


class _Findings(list):
    def add(self, code: str, template: str, line: int | None = None, path: str | None = None, /,
            **values) -> None:
        self.append(Finding(code, template, line, path, **values))


def check_document(
    doc: m.Document,
    header: Header | None = None,
    *,
    service_types: Collection[str] = DEFAULT_SERVICE_TYPES,
    known_areas: Collection[str] = KNOWN_AREAS,
    today: date | None = None,
) -> list[Finding]:
    """Every settlement rule `doc` breaks, alone and against its envelope `header` when given.

    `service_types`: the residence city's care-service type codes; `known_areas`: the configured areas;
    `today` (China's day): a payment's value date may not lie after it (nor after the header's Created)."""
    out = _Findings()
    check = _Check(out, service_types, known_areas)
    if isinstance(doc, m.FacilityClaim):
        check.facility_claim(doc, "/FacilityClaim")
    elif isinstance(doc, m.PersonStatement):
        check.statement(doc, phrase("the statement"), "/PersonStatement")
        check.areas(doc.insured_city, doc.residence_city, doc.line)
    elif isinstance(doc, m.CityClaim):
        check.city_claim(doc)
    elif isinstance(doc, m.CitySettlement):
        check.city_settlement(doc)
    elif isinstance(doc, m.FacilitySettlement):
        check.facility_settlement(doc)
    elif isinstance(doc, m.Dispute):
        check.dispute(doc)
    elif isinstance(doc, m.DisputeAnswer):
        check.dispute_answer(doc)
    elif isinstance(doc, m.DisputeResult):
        check.dispute_result(doc, _latest_day(today, header))
    elif isinstance(doc, (m.PaymentAdvice, m.RecoveryRefund)):
        check.money(doc, _latest_day(today, header))
    elif isinstance(doc, m.Withdrawal):
        check.withdrawal(doc, _latest_day(today, header))
    elif isinstance(doc, ENTITLEMENT_DOCUMENTS):  # 第十条, 第十五条, 第十七条: their own rules and header checks
        out.extend(check_entitlement_document(doc, header, service_types=service_types, known_areas=known_areas))
    latest = _latest_day(today, header)
    if latest is not None and isinstance(doc, (m.CityClaim, m.PersonStatement)):
        _no_care_yet_to_come(out, doc, latest)
    if header is not None:
        _check_header(out, doc, header)
    return list(out)


def _no_care_yet_to_come(out: _Findings, doc: m.CityClaim | m.PersonStatement, latest: date) -> None:
    """Fees are claimed for care already given: a statement (附件2) whose care ends after the day the message was
    made (or today) cannot be true yet."""
    statements = doc.statements if isinstance(doc, m.CityClaim) else [doc]
    for statement in statements:
        if statement.end_date > latest:
            out.add("date.future", "statement {serial}: care until {day} is after the message was made ({made}): "
                    "fees are claimed for care already given", statement.line, serial=statement.serial,
                    day=statement.end_date.isoformat(), made=latest.isoformat())


class _Check:
    def __init__(self, out: _Findings, service_types: Collection[str], known_areas: Collection[str]):
        self.out, self.service_types, self.known_areas = out, service_types, known_areas

    # --- shared pieces -------------------------------------------------------------------------------

    def service_type(self, code: str | None, where: Phrase, line: int | None, path: str | None) -> None:
        if code is not None and code not in self.service_types:
            self.out.add(
                "codes.service_type",
                "{where}: care-service type {code} is not in the residence city's list ({listed})",
                line,
                path,
                where=where, code=code, listed=", ".join(sorted(self.service_types)),
            )

    def areas(self, insured: str, residence: str, line: int | None) -> None:
        for role, code in ((phrase("InsuredCity 参保地"), insured), (phrase("ResidenceCity 居住地"), residence)):
            if code is not None and code not in self.known_areas:
                self.out.add("route.unknown_area", "{role} {code} is not a known area", line, role=role, code=code)
        if insured is not None and insured == residence:
            self.out.add(
                "route.same_city",
                "InsuredCity and ResidenceCity are both {city}: an inter-city document needs two cities",
                line,
                city=insured,
            )

    def split(self, item: object, where: Phrase, path: str | None, fund_attr: str = "claimed") -> None:
        """费用总额 = 个人自费 + 纳入统筹; 申请拨付 (统筹支付) = 纳入统筹 − 个人自付."""
        total, self_paid, covered = item.total_cost, item.self_paid, item.covered
        if total != self_paid + covered:
            self.out.add(
                "amount.total_split",
                "{where}: TotalCost 费用总额 {total} should equal SelfPaid {self_paid} + Covered {covered} = {sum}",
                item.line,
                path,
                where=where, total=total, self_paid=self_paid, covered=covered, sum=self_paid + covered,
            )
        fund, co_pay = getattr(item, fund_attr), item.co_pay
        if fund != covered - co_pay:
            self.out.add(
                "amount.fund_share",
                "{where}: {label} {fund} should equal Covered {covered} − CoPay {co_pay} = {difference}",
                item.line,
                path,
                where=where, label=LABELS[fund_attr], fund=fund, covered=covered, co_pay=co_pay,
                difference=covered - co_pay,
            )

    def words(self, amount: Decimal, text: str | None, label: Phrase, where: Phrase, line, path) -> None:
        if not words_match(amount, text):
            self.out.add(
                "amount.words",
                "{where}: {label} in capitals does not state {amount} (write it as the accounting rules "
                "require, e.g. 壹万零伍元整 for 10005.00)",
                line,
                path,
                where=where, label=label, amount=amount,
            )

    def claim_row(self, row: m.ClaimRow, where: Phrase, path: str) -> None:
        self.split(row, where, path)
        self.words(row.claimed, row.claimed_in_words, phrase("ClaimedInWords 申请拨付金额（大写）"), where, row.line, path)

    def settled_row(self, row: m.SettledRow, where: Phrase, path: str) -> None:
        self.split(row, where, path)
        expected = row.claimed - row.deducted + row.supplemented
        if row.paid != expected:
            self.out.add(
                "settlement.paid",
                "{where}: Paid 实拨金额 {paid} should equal Claimed {claimed} − Deducted {deducted} + Supplemented "
                "{supplemented} = {expected}",
                row.line,
                path,
                where=where, paid=row.paid, claimed=row.claimed, deducted=row.deducted, supplemented=row.supplemented,
                expected=expected,
            )
        if row.deducted > row.claimed:
            self.out.add(
                "settlement.deducted",
                "{where}: Deducted 审核扣款金额 {deducted} exceeds Claimed 申请拨付金额 {claimed}",
                row.line,
                path,
                where=where, deducted=row.deducted, claimed=row.claimed,
            )
        if row.paid_in_words is not None:
            self.words(row.paid, row.paid_in_words, phrase("PaidInWords 实拨金额（大写）"), where, row.line, path)

    def compare(
        self, code: str, found: object, expected: Mapping[str, object], figures: Iterable[str], where: Phrase,
        of_what: Phrase, path: str | None,
    ) -> None:
        """One finding per figure of `found` that differs from the `expected` sums."""
        for attr in figures:
            have, want = getattr(found, attr), expected.get(attr, 0)
            if have != want:
                self.out.add(code, "{where}: {label} is {have} but {of_what} give {want}", found.line, path,
                             where=where, label=LABELS[attr], have=have, of_what=of_what, want=want)

    def schemes(self, schemes: list, prefix: str, settled: bool) -> None:
        figures = SETTLED_FIGURES if settled else CLAIM_FIGURES
        seen: set[str] = set()
        for k, scheme in enumerate(schemes, 1):
            label = phrase("Scheme {category} ({name})", category=scheme.category,
                           name=PERSON_CATEGORIES.get(scheme.category, "?"))
            path = f"{prefix}/Scheme[{k}]"
            if scheme.category in seen:
                self.out.add("sum.duplicate", "{scheme} appears twice: one Scheme per scheme", scheme.line, path,
                             scheme=label)
            seen.add(scheme.category)
            types: set[str] = set()
            for j, row in enumerate(scheme.lines, 1):
                where = phrase("{scheme}, service type {code}", scheme=label, code=row.service_type)
                row_path = f"{path}/Line[{j}]"
                if row.service_type in types:
                    self.out.add("sum.duplicate", "{where} appears twice in the scheme", row.line, row_path,
                                 where=where)
                types.add(row.service_type)
                self.service_type(row.service_type, label, row.line, row_path)
                (self.settled_row if settled else self.claim_row)(row, where, row_path)
            total = phrase("{scheme}, Total 合计", scheme=label)
            (self.settled_row if settled else self.claim_row)(scheme.total, total, f"{path}/Total")
            sums = {a: sum(getattr(r, a) for r in scheme.lines) for a in figures}
            self.compare("sum.rows", scheme.total, sums, figures, total, phrase("its lines"), f"{path}/Total")

    def notes(self, doc: m.CitySettlement | m.FacilitySettlement, deducted: Decimal, supplemented: Decimal) -> None:
        if deducted and not (doc.deduction_note or "").strip():
            self.out.add(
                "settlement.note",
                "Deducted 审核扣款金额 is {deducted}: DeductionNote 审核扣款说明 must explain it",
                doc.line,
                deducted=deducted,
            )
        if supplemented and not (doc.supplement_note or "").strip():
            self.out.add(
                "settlement.note",
                "Supplemented 补拨金额 is {supplemented}: SupplementNote 补拨金额说明 must explain it",
                doc.line,
                supplemented=supplemented,
            )

    # --- documents -----------------------------------------------------------------------------------

    def facility_claim(self, doc: m.FacilityClaim, prefix: str) -> None:
        self.schemes(doc.schemes, prefix, settled=False)

    def statement(self, s: m.PersonStatement, who: Phrase, path: str) -> None:
        """One person's statement: amounts, dates, ID number, service type."""
        self.split(s, who, path, fund_attr="fund_paid")
        if s.personal_burden != s.self_paid + s.co_pay:
            self.out.add(
                "amount.burden",
                "{who}: PersonalBurden 个人负担合计 {burden} should equal SelfPaid {self_paid} + CoPay {co_pay} = {sum}",
                s.line,
                path,
                who=who, burden=s.personal_burden, self_paid=s.self_paid, co_pay=s.co_pay, sum=s.self_paid + s.co_pay,
            )
        first, last = _month_span(s.period)
        if first is not None and not (first <= s.start_date <= last and first <= s.end_date <= last):
            self.out.add(
                "period.outside",
                "{who}: StartDate {start} and EndDate {end} must lie within the month {period}",
                s.line,
                path,
                who=who, start=s.start_date, end=s.end_date, period=s.period,
            )
        if s.end_date < s.start_date:
            self.out.add("period.order", "{who}: EndDate {end} is before StartDate {start}", s.line, path,
                         who=who, end=s.end_date, start=s.start_date)
        elif s.benefit_days > (s.end_date - s.start_date).days + 1:
            self.out.add(
                "period.days",
                "{who}: BenefitDays 待遇享受天数 {days} exceeds the {span} days from {start} to {end}",
                s.line,
                path,
                who=who, days=s.benefit_days, span=(s.end_date - s.start_date).days + 1, start=s.start_date,
                end=s.end_date,
            )
        if s.id_type == RESIDENT_ID_CARD and not is_valid(s.id_number):
            self.out.add(
                "person.id_check",
                "{who}: IdNumber fails the GB 11643 check (18 characters, a real birth date, the check "
                "character) required for IdType 01",
                s.line,
                path,
                who=who,
            )
        self.service_type(s.service_type, who, s.line, path)

    def city_claim(self, doc: m.CityClaim) -> None:
        self.areas(doc.insured_city, doc.residence_city, doc.line)
        self.claim_row(doc.totals, phrase("Totals"), "/CityClaim/Totals")
        if doc.nil and any(getattr(doc.totals, attr) for attr in CLAIM_FIGURES):
            self.out.add("claim.nil", "a nil claim (零申报, Nil) claims nothing: every figure of its Totals must be 0",
                         doc.totals.line, "/CityClaim/Totals")
        # Each A1 form: its own arithmetic, its month.
        facility_totals: dict[str, Decimal | int] = defaultdict(int)
        forms: dict[str, m.FacilityClaim] = {}
        for k, claim in enumerate(doc.facility_claims, 1):
            prefix = f"/CityClaim/FacilityClaims/FacilityClaim[{k}]"
            if claim.facility_code in forms:
                self.out.add("sum.duplicate", "facility {facility} has two FacilityClaim forms", claim.line, prefix,
                             facility=claim.facility_code)
            forms[claim.facility_code] = claim
            self.facility_claim(claim, prefix)
            if claim.period != doc.period:
                self.out.add(
                    "period.mismatch",
                    "FacilityClaim of facility {facility} is for {period}, the claim for {claim_period}",
                    claim.line,
                    prefix,
                    facility=claim.facility_code, period=claim.period, claim_period=doc.period,
                )
            for scheme in claim.schemes:
                for attr in CLAIM_FIGURES:
                    facility_totals[attr] += getattr(scheme.total, attr)
        self.compare(
            "sum.details", doc.totals, facility_totals, CLAIM_FIGURES, phrase("Totals"), phrase("the FacilityClaim forms"),
            "/CityClaim/Totals",
        )
        # Every statement, and the sums per facility / scheme / service type.
        groups: dict[tuple[str, str, str], dict[str, Decimal | int]] = {}
        all_sums: dict[str, Decimal | int] = defaultdict(int)
        serials: set[str] = set()
        for i, s in enumerate(doc.statements, 1):
            who = phrase("statement {n} (serial {serial})", n=i, serial=s.serial)
            path = f"/CityClaim/PersonStatements/PersonStatement[{i}]"
            self.statement(s, who, path)
            if s.serial in serials:
                self.out.add("sum.duplicate", "{who}: serial {serial} is used by an earlier statement", s.line, path,
                             who=who, serial=s.serial)
            serials.add(s.serial)
            if s.late and s.period >= doc.period:  # 补报 (第二十四条): only fees of an earlier month roll in
                self.out.add("period.late", "{who} is marked late (补报) but is for {period}: a late statement is of a "
                             "month before the claim's {claim_period}", s.line, path,
                             who=who, period=s.period, claim_period=doc.period)
            elif s.period != doc.period and not s.late:
                self.out.add("period.mismatch", "{who} is for {period}, the claim for {claim_period}", s.line, path,
                             who=who, period=s.period, claim_period=doc.period)
            if s.insured_city != doc.insured_city or s.residence_city != doc.residence_city:
                self.out.add(
                    "person.cities",
                    "{who}: InsuredCity {insured} / ResidenceCity {residence} differ from the claim's "
                    "{claim_insured} / {claim_residence}",
                    s.line,
                    path,
                    who=who, insured=s.insured_city, residence=s.residence_city, claim_insured=doc.insured_city,
                    claim_residence=doc.residence_city,
                )
            key = (s.facility_code, s.person_category, s.service_type)
            sums = groups.get(key)
            if sums is None:
                sums = groups[key] = {a: 0 for a in CLAIM_FIGURES}
            for target in (sums, all_sums):
                target["visits"] += 1
                target["days"] += s.benefit_days
                target["total_cost"] += s.total_cost
                target["self_paid"] += s.self_paid
                target["covered"] += s.covered
                target["co_pay"] += s.co_pay
                target["claimed"] += s.fund_paid
        self.compare(
            "sum.details", doc.totals, all_sums, CLAIM_FIGURES, phrase("Totals"), phrase("the PersonStatements"),
            "/CityClaim/Totals",
        )
        self.lines_against_statements(doc, forms, groups)

    def lines_against_statements(
        self, doc: m.CityClaim, forms: Mapping[str, m.FacilityClaim], groups: Mapping[tuple, Mapping]
    ) -> None:
        """Each A1 line equals its facility's statements of that scheme and care-service type."""
        lined: set[tuple[str, str, str]] = set()
        for k, claim in enumerate(doc.facility_claims, 1):
            for n, scheme in enumerate(claim.schemes, 1):
                for j, row in enumerate(scheme.lines, 1):
                    key = (claim.facility_code, scheme.category, row.service_type)
                    lined.add(key)
                    self.compare(
                        "sum.details", row, groups.get(key, {}), CLAIM_FIGURES,
                        phrase("facility {facility}, scheme {scheme}, service type {code}", facility=key[0],
                               scheme=key[1], code=key[2]),
                        phrase("its PersonStatements"),
                        f"/CityClaim/FacilityClaims/FacilityClaim[{k}]/Scheme[{n}]/Line[{j}]",
                    )
        for key in sorted(set(groups) - lined):
            facility, category, service = key
            missing = phrase("no FacilityClaim form") if facility not in forms else phrase(
                "no line for them in its FacilityClaim")
            self.out.add(
                "sum.details",
                "{count} statement(s) of facility {facility}, scheme {scheme}, service type {code} have {missing}: "
                "the claim must carry every statement in its facility's form",
                doc.line,
                count=groups[key]["visits"], facility=facility, scheme=category, code=service, missing=missing,
            )

    def city_settlement(self, doc: m.CitySettlement) -> None:
        self.areas(doc.insured_city, doc.residence_city, doc.line)
        self.settled_row(doc.totals, phrase("Totals"), "/CitySettlement/Totals")
        self.notes(doc, doc.totals.deducted, doc.totals.supplemented)
        if doc.adjustments is None:
            return
        for attr in ("deducted", "supplemented"):
            total = sum((getattr(a, attr) for a in doc.adjustments), ZERO)
            if total != getattr(doc.totals, attr):
                self.out.add(
                    "settlement.adjustments",
                    "Totals: {label} is {have} but the Adjustments sum to {total}",
                    doc.totals.line,
                    "/CitySettlement/Adjustments",
                    label=LABELS[attr], have=getattr(doc.totals, attr), total=total,
                )

    def facility_settlement(self, doc: m.FacilitySettlement) -> None:
        if doc.insured_city not in self.known_areas:
            self.out.add("route.unknown_area", "{role} {code} is not a known area", doc.line,
                         role=phrase("InsuredCity 参保地"), code=doc.insured_city)
        self.schemes(doc.schemes, "/FacilitySettlement", settled=True)
        deducted = sum((s.total.deducted for s in doc.schemes), ZERO)
        self.notes(doc, deducted, sum((s.total.supplemented for s in doc.schemes), ZERO))


    # --- disputes (第三十一条) ----------------------------------------------------------------------------

    def dispute(self, doc: m.Dispute) -> None:
        self.areas(doc.insured_city, doc.residence_city, doc.line)
        if doc.subject == m.SUBJECT_AMOUNT and doc.expected == doc.stated:
            self.out.add(
                "dispute.no_difference",
                "Subject amount: Expected {expected} equals Stated {stated}: an amount dispute names the "
                "amount found and the different amount the document states",
                doc.line,
                "/Dispute/Expected",
                expected=doc.expected, stated=doc.stated,
            )
        if doc.subject == m.SUBJECT_PERSON and not doc.statement_serials:
            self.out.add(
                "dispute.statements",
                "Subject person: list the statements concerned in StatementSerials (their 流水号, never a name "
                "or an ID number)",
                doc.line,
                "/Dispute",
            )
        if doc.subject == m.SUBJECT_FACILITY and not doc.facility_code:
            self.out.add("dispute.facility", "Subject facility: FacilityCode must name the facility", doc.line,
                         "/Dispute")
        seen: set[str] = set()
        for k, serial in enumerate(doc.statement_serials, 1):
            if serial in seen:
                self.out.add("dispute.statements", "StatementSerial {n} ({serial}) is listed twice", doc.line,
                             f"/Dispute/StatementSerials/StatementSerial[{k}]", n=k, serial=serial)
            seen.add(serial)
        if doc.application is not None:
            self.dispute_application(doc, doc.application)

    def dispute_application(self, doc: m.Dispute, app: m.DisputeApplication) -> None:
        """第三十一条: a person by ID number (no name), or a facility by its code; applied on or before the day the
        residence agency raised the dispute."""
        where = "/Dispute/Application"
        if app.applicant == m.APPLICANT_PERSON:
            if not (app.id_type and app.id_number):
                self.out.add("dispute.applicant", "Applicant person: IdType and IdNumber name the insured person",
                             app.line, where)
            elif app.id_type == RESIDENT_ID_CARD and not is_valid(app.id_number):
                self.out.add("dispute.applicant", "Applicant person: IdNumber is not a valid resident ID number "
                             "(GB 11643 check character)", app.line, f"{where}/IdNumber")
            if app.facility_code or app.facility_name:
                self.out.add("dispute.applicant", "Applicant person: leave FacilityCode and FacilityName out",
                             app.line, where)
        else:
            if not app.facility_code:
                self.out.add("dispute.applicant", "Applicant facility: FacilityCode names the facility", app.line,
                             where)
            if app.id_type or app.id_number:
                self.out.add("dispute.applicant", "Applicant facility: leave IdType and IdNumber out (no person's "
                             "number travels without need)", app.line, where)
        if app.applied_on > doc.raised_at:
            self.out.add("dispute.application_date", "AppliedOn {applied_on} lies after RaisedAt {raised_at}: the "
                         "residence agency raises the dispute after the application", app.line, f"{where}/AppliedOn",
                         applied_on=app.applied_on, raised_at=doc.raised_at)

    def dispute_result(self, doc: m.DisputeResult, latest: date | None) -> None:
        self.areas(doc.insured_city, doc.residence_city, doc.line)
        if (doc.outcome == m.REJECTED) != (doc.corrected_amount is None):
            self.out.add("dispute.corrected_amount", "Outcome {outcome}: CorrectedAmount is given unless the "
                         "dispute is rejected", doc.line, "/DisputeResult", outcome=doc.outcome)
        if latest is not None and doc.answered_on > latest:
            self.out.add("dispute.answered_on", "AnsweredOn {answered_on} lies after {latest}: report the answer "
                         "once it is given", doc.line, "/DisputeResult/AnsweredOn", answered_on=doc.answered_on,
                         latest=latest)

    def dispute_answer(self, doc: m.DisputeAnswer) -> None:
        self.areas(doc.insured_city, doc.residence_city, doc.line)
        if doc.outcome == m.REJECTED and doc.corrected_amount is not None:
            self.out.add(
                "dispute.corrected_amount",
                "Outcome rejected: a rejected dispute corrects nothing, leave CorrectedAmount out",
                doc.line,
                "/DisputeAnswer/CorrectedAmount",
            )
        elif doc.outcome != m.REJECTED and doc.corrected_amount is None:
            self.out.add(
                "dispute.corrected_amount",
                "Outcome {outcome}: CorrectedAmount must state the amount now agreed",
                doc.line,
                "/DisputeAnswer",
                outcome=doc.outcome,
            )
        if doc.correction_serial is not None and doc.outcome == m.REJECTED:
            self.out.add(
                "dispute.correction",
                "Outcome rejected: no corrected document follows, leave CorrectionSerial out",
                doc.line,
                "/DisputeAnswer/CorrectionSerial",
            )


    # --- withdrawal (撤销) ---------------------------------------------------------------------------------

    def withdrawal(self, doc: m.Withdrawal, latest: date | None) -> None:
        self.areas(doc.insured_city, doc.residence_city, doc.line)
        if latest is not None and doc.withdrawn_at > latest:
            self.out.add("withdrawal.date", "WithdrawnAt {withdrawn_at} lies after {latest}: a withdrawal is dated "
                         "the day it is made", doc.line, "/Withdrawal/WithdrawnAt", withdrawn_at=doc.withdrawn_at,
                         latest=latest)

    # --- the money (第二十六条 payment, 第二十九条 refund) ---------------------------------------------------------

    def money(self, doc: m.MoneyDocument, today: date | None) -> None:
        payment = isinstance(doc, m.PaymentAdvice)
        code, root = ("payment", "/PaymentAdvice") if payment else ("refund", "/RecoveryRefund")
        self.areas(doc.insured_city, doc.residence_city, doc.line)
        amounts: list[tuple[Phrase, Decimal, int | None, str]]
        if payment:
            amounts = [(phrase("Amount 拨付金额"), doc.amount, doc.line, f"{root}/Amount")]
            amounts += [(phrase("Settlement {n} ({serial}) Amount", n=k, serial=s.serial), s.amount, s.line,
                         f"{root}/Settlements/Settlement[{k}]") for k, s in enumerate(doc.settlements, 1)]
            total, parts, of_what = doc.amount, [s.amount for s in doc.settlements], phrase("the Settlements' amounts")
        else:
            amounts = [(phrase("Total 合计"), doc.total, doc.line, f"{root}/Total")]
            amounts += [(phrase("Item {n} Amount 追回金额", n=k), i.amount, i.line, f"{root}/Items/Item[{k}]")
                        for k, i in enumerate(doc.items, 1)]
            total, parts, of_what = doc.total, [i.amount for i in doc.items], phrase("the Items")
        for label, amount, line, path in amounts:
            if amount <= 0:
                self.out.add(f"{code}.amount", "{label} is {amount}: an amount paid or returned must be positive",
                             line, path, label=label, amount=amount)
            if amount != amount.quantize(Decimal("0.01")):
                self.out.add(f"{code}.decimals", "{label} {amount} has more than two decimals (元, 角, 分)", line,
                             path, label=label, amount=amount)
        if sum(parts, ZERO) != total:
            self.out.add("payment.sum" if payment else "refund.total", "{label} is {total} but {of_what} sum to {sum}",
                         doc.line, amounts[0][3], label=amounts[0][0], total=total, of_what=of_what,
                         sum=sum(parts, ZERO))
        if today is not None and doc.value_date > today:
            self.out.add(f"{code}.value_date", "ValueDate {value_date} lies in the future (today is {today} in "
                         "China): advise money once it has been sent", doc.line, f"{root}/ValueDate",
                         value_date=doc.value_date, today=today)
        seen: set[tuple[str, str]] = set()
        for k, ref in enumerate(doc.settlements, 1):
            path = f"{root}/Settlements/Settlement[{k}]"
            if (ref.serial, ref.period) in seen:
                self.out.add(f"{code}.settlements", "Settlement {n} ({serial}) is listed twice", ref.line, path,
                             n=k, serial=ref.serial)
            seen.add((ref.serial, ref.period))
            if payment and ref.period != doc.period:
                self.out.add("payment.settlements", "Settlement {n} ({serial}) is of {period}, the advice pays "
                             "{advice_period}: advise each month's settlements on their own", ref.line, path,
                             n=k, serial=ref.serial, period=ref.period, advice_period=doc.period)
        if not payment:
            self.refund_items(doc)

    def refund_items(self, doc: m.RecoveryRefund) -> None:
        months = {ref.period for ref in doc.settlements}
        seen: dict[tuple[str, str], int] = {}
        for k, item in enumerate(doc.items, 1):
            where, path = phrase("Item {n}", n=k), f"/RecoveryRefund/Items/Item[{k}]"
            if item.id_type == RESIDENT_ID_CARD and not is_valid(item.id_number):
                self.out.add("person.id_check", "{where}: IdNumber fails the GB 11643 check required for IdType 01",
                             item.line, path, where=where)
            if item.month > doc.period:
                self.out.add("refund.month", "{where}: Month {month} is after the refund's Period {period} (the "
                             "latest service month it corrects)", item.line, path, where=where, month=item.month,
                             period=doc.period)
            elif item.month not in months:
                self.out.add("refund.month", "{where}: Month {month} has no settlement among Settlements "
                             "({months}): name the 附件4 the refund corrects", item.line, path, where=where,
                             month=item.month, months=", ".join(sorted(months)))
            key = (item.id_number, item.month)
            if key in seen:
                self.out.add("refund.duplicate", "{where} repeats the person and month of item {earlier}: one "
                             "item per person and month", item.line, path, where=where, earlier=seen[key])
            seen.setdefault(key, k)


def _latest_day(today: date | None, header: Header | None) -> date | None:
    """The day a value date may not pass: `today`, or the China day the signed header was Created on."""
    days = [d for d in (today, header and header.created and _china_day(header.created)) if d is not None]
    return min(days) if days else None


def _china_day(moment) -> date:
    return moment.astimezone(CHINA_TIME).date() if moment.tzinfo else moment.date()


def _month_span(period: str) -> tuple[date, date] | tuple[None, None]:
    try:
        year, month = (int(x) for x in period.split("-"))
        first = date(year, month, 1)
    except ValueError:
        return None, None
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return first, date.fromordinal(nxt.toordinal() - 1)


def _check_header(out: _Findings, doc: m.Document, header: Header) -> None:
    """The document agrees with its envelope: type, month, serial, and the two cities by direction."""
    kind = doc.type
    if header.type != kind:
        out.add("envelope.type", "the header says {header_type} but the body is an {body_type}",
                getattr(doc, "line", None), header_type=header.type.value, body_type=kind.value)
        return
    if kind.is_dispute:
        _check_dispute_header(out, doc, header)
        return
    if kind.is_money:
        _check_money_header(out, doc, header)
        return
    if kind.is_withdrawal:
        _check_withdrawal_header(out, doc, header)
        return
    if not kind.is_attachment:
        return
    _same_period_and_serial(out, doc, header)
    insured, residence = header.insured_city, header.residence_city
    cities: list[tuple[Phrase, str, str]] = []
    if isinstance(doc, (m.CityClaim, m.CitySettlement)):
        cities = [(phrase("InsuredCity"), doc.insured_city, insured), (phrase("ResidenceCity"), doc.residence_city, residence)]
    elif isinstance(doc, m.FacilitySettlement):
        cities = [(phrase("InsuredCity"), doc.insured_city, insured)]
    elif isinstance(doc, m.PersonStatement):
        if (doc.insured_city, doc.residence_city) != (insured, residence):
            out.add(
                "person.cities",
                "the statement's InsuredCity {insured} / ResidenceCity {residence} differ from the envelope's "
                "{envelope_insured} / {envelope_residence} (an {type} goes from the residence city to the insured city)",
                doc.line,
                insured=doc.insured_city, residence=doc.residence_city, envelope_insured=insured,
                envelope_residence=residence, type=kind.value,
            )
    direction = phrase("from the insured city to the residence city") if kind is MessageType.A4 else phrase(
        "from the residence city to the insured city"
    )
    for name, found, expected in cities:
        if found != expected:
            out.add(
                "envelope.cities",
                "{name} {found} differs from the envelope's {expected} (an {type} goes {direction})",
                doc.line,
                name=name, found=found, expected=expected, type=kind.value, direction=direction,
            )



def _check_dispute_header(out: _Findings, doc: m.DisputeDocument, header: Header) -> None:
    """A dispute's month and serial are its header's; its two cities are the envelope's, either way round. A
    person's or facility's application (第三十一条) and its result go from the residence agency."""
    if (isinstance(doc, m.Dispute) and doc.application is not None) or isinstance(doc, m.DisputeResult):
        if header.sender != doc.residence_city:
            out.add("dispute.applicant_direction", "an application (第三十一条) is made at the residence agency "
                    "({residence}): it raises the dispute and answers the applicant, not {sender}", doc.line,
                    residence=doc.residence_city, sender=header.sender)
    _same_period_and_serial(out, doc, header)
    if {doc.residence_city, doc.insured_city} != {header.sender, header.receiver}:
        out.add(
            "envelope.cities",
            "ResidenceCity {residence} / InsuredCity {insured} are not the envelope's Sender {sender} and Receiver "
            "{receiver}: a {type} goes between the two cities of the disputed document",
            doc.line,
            residence=doc.residence_city, insured=doc.insured_city, sender=header.sender, receiver=header.receiver,
            type=header.type.value,
        )


def _check_money_header(out: _Findings, doc: m.MoneyDocument, header: Header) -> None:
    """A payment goes from the insured city (it pays) to the residence city; a refund the other way."""
    _same_period_and_serial(out, doc, header)
    code = "payment" if header.type is MessageType.PAYMENT else "refund"
    expected = (header.insured_city, header.residence_city)
    if (doc.insured_city, doc.residence_city) == expected:
        return
    if (doc.insured_city, doc.residence_city) == expected[::-1]:
        if code == "payment":
            out.add("payment.direction", "a {type} goes from the insured city 参保地 to the other, and the body names "
                    "{sender} as the residence city: check InsuredCity, ResidenceCity, Sender and Type", doc.line,
                    type=header.type.value, sender=header.sender)
        else:
            out.add("refund.direction", "a {type} goes from the residence city 居住地 to the other, and the body names "
                    "{sender} as the insured city: check InsuredCity, ResidenceCity, Sender and Type", doc.line,
                    type=header.type.value, sender=header.sender)
        return
    out.add("envelope.cities", "InsuredCity {insured} / ResidenceCity {residence} are not the envelope's "
            "{envelope_insured} / {envelope_residence}", doc.line, insured=doc.insured_city,
            residence=doc.residence_city, envelope_insured=expected[0], envelope_residence=expected[1])


def _check_withdrawal_header(out: _Findings, doc: m.Withdrawal, header: Header) -> None:
    """A withdrawal keeps the withdrawn document's month and cities, and only that document's sender sends it
    (the residence city withdraws A1–A3 and A5, the insured city an A4)."""
    _same_period_and_serial(out, doc, header)
    if {doc.residence_city, doc.insured_city} != {header.sender, header.receiver}:
        out.add("envelope.cities", "ResidenceCity {residence} / InsuredCity {insured} are not the envelope's "
                "Sender {sender} and Receiver {receiver}", doc.line, residence=doc.residence_city,
                insured=doc.insured_city, sender=header.sender, receiver=header.receiver)
        return
    withdrawn = MessageType(doc.withdrawn_type)
    sender = doc.residence_city if SENT_BY_RESIDENCE_CITY[withdrawn] else doc.insured_city
    if header.sender != sender:
        out.add("withdrawal.direction", "an {type} goes from {sender} to the other city, so only {sender} "
                "withdraws it (撤销): {header_sender} may dispute it instead", doc.line, type=withdrawn.value,
                sender=sender, header_sender=header.sender)


class _Serialed(Protocol):
    period: str
    serial: str
    line: int | None


def _same_period_and_serial(out: _Findings, doc: _Serialed, header: Header) -> None:
    """A document says the month and the serial its envelope says (what revisions of it share)."""
    if doc.period != header.period:
        out.add("envelope.period", "Period {period} differs from the header's {header_period}", doc.line,
                period=doc.period, header_period=header.period)
    if doc.serial != header.serial:
        out.add("envelope.serial", "Serial {serial} differs from the header's Serial {header_serial}", doc.line,
                serial=doc.serial, header_serial=header.serial)
