"""The settlement rules: the identities the forms (附件1–5) must satisfy, checked on the model.

`check_document` collects every broken rule (never only the first), each as a Finding with a stable code
and a message a city clerk can act on: where (scheme, care-service type, statement number and serial),
the amounts expected and found. Amounts are not personal; names and ID numbers never appear in a message.
The identities are listed in docs/documents.md.
"""

from __future__ import annotations

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
from gateway.domain.envelope import Header, MessageType
from gateway.domain.findings import Finding
from gateway.domain.idnumber import is_valid

ZERO = Decimal("0.00")
CHINA_TIME = timezone(timedelta(hours=8))  # a value date is a day in China
ENTITLEMENT_DOCUMENTS = (EntitlementNotice, ChangeFiling, AssessmentRequest, AssessmentResult)

# Element name and form label of each figure, for messages (a clerk finds the field by either).
LABELS = {
    "visits": "Visits 总人次",
    "days": "Days 总天数",
    "total_cost": "TotalCost 费用总额",
    "self_paid": "SelfPaid 个人自费金额",
    "covered": "Covered 纳入统筹金额",
    "co_pay": "CoPay 个人自付金额",
    "claimed": "Claimed 申请拨付金额",
    "fund_paid": "FundPaid 统筹支付金额",
    "personal_burden": "PersonalBurden 个人负担合计",
    "deducted": "Deducted 审核扣款金额",
    "supplemented": "Supplemented 补拨金额",
    "paid": "Paid 实拨金额",
    "benefit_days": "BenefitDays 待遇享受天数",
}
CLAIM_FIGURES = ("visits", "days", "total_cost", "self_paid", "covered", "co_pay", "claimed")
SETTLED_FIGURES = CLAIM_FIGURES + ("deducted", "supplemented", "paid")


class _Findings(list):
    def add(self, code: str, message: str, line: int | None = None, path: str | None = None) -> None:
        self.append(Finding(code, message, line, path))


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
        check.statement(doc, "the statement", "/PersonStatement")
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
    elif isinstance(doc, (m.PaymentAdvice, m.RecoveryRefund)):
        check.money(doc, _latest_day(today, header))
    elif isinstance(doc, ENTITLEMENT_DOCUMENTS):  # 第十条, 第十五条, 第十七条: their own rules and header checks
        out.extend(check_entitlement_document(doc, header, service_types=service_types, known_areas=known_areas))
    if header is not None:
        _check_header(out, doc, header)
    return list(out)


class _Check:
    def __init__(self, out: _Findings, service_types: Collection[str], known_areas: Collection[str]):
        self.out, self.service_types, self.known_areas = out, service_types, known_areas

    # --- shared pieces -------------------------------------------------------------------------------

    def service_type(self, code: str | None, where: str, line: int | None, path: str | None) -> None:
        if code is not None and code not in self.service_types:
            self.out.add(
                "codes.service_type",
                f"{where}: care-service type {code} is not in the residence city's list "
                f"({', '.join(sorted(self.service_types))})",
                line,
                path,
            )

    def areas(self, insured: str, residence: str, line: int | None) -> None:
        for role, code in (("InsuredCity 参保地", insured), ("ResidenceCity 居住地", residence)):
            if code is not None and code not in self.known_areas:
                self.out.add("route.unknown_area", f"{role} {code} is not a known area", line)
        if insured is not None and insured == residence:
            self.out.add(
                "route.same_city",
                f"InsuredCity and ResidenceCity are both {insured}: an inter-city document needs two cities",
                line,
            )

    def split(self, item: object, where: str, path: str | None, fund_attr: str = "claimed") -> None:
        """费用总额 = 个人自费 + 纳入统筹; 申请拨付 (统筹支付) = 纳入统筹 − 个人自付."""
        total, self_paid, covered = item.total_cost, item.self_paid, item.covered
        if total != self_paid + covered:
            self.out.add(
                "amount.total_split",
                f"{where}: TotalCost 费用总额 {total} should equal SelfPaid {self_paid} + Covered {covered}"
                f" = {self_paid + covered}",
                item.line,
                path,
            )
        fund, co_pay = getattr(item, fund_attr), item.co_pay
        if fund != covered - co_pay:
            self.out.add(
                "amount.fund_share",
                f"{where}: {LABELS[fund_attr]} {fund} should equal Covered {covered} − CoPay {co_pay}"
                f" = {covered - co_pay}",
                item.line,
                path,
            )

    def words(self, amount: Decimal, text: str | None, label: str, where: str, line, path) -> None:
        if not words_match(amount, text):
            self.out.add(
                "amount.words",
                f"{where}: {label} in capitals does not state {amount} (write it as the accounting rules "
                f"require, e.g. 壹万零伍元整 for 10005.00)",
                line,
                path,
            )

    def claim_row(self, row: m.ClaimRow, where: str, path: str) -> None:
        self.split(row, where, path)
        self.words(row.claimed, row.claimed_in_words, "ClaimedInWords 申请拨付金额（大写）", where, row.line, path)

    def settled_row(self, row: m.SettledRow, where: str, path: str) -> None:
        self.split(row, where, path)
        expected = row.claimed - row.deducted + row.supplemented
        if row.paid != expected:
            self.out.add(
                "settlement.paid",
                f"{where}: Paid 实拨金额 {row.paid} should equal Claimed {row.claimed} − Deducted "
                f"{row.deducted} + Supplemented {row.supplemented} = {expected}",
                row.line,
                path,
            )
        if row.deducted > row.claimed:
            self.out.add(
                "settlement.deducted",
                f"{where}: Deducted 审核扣款金额 {row.deducted} exceeds Claimed 申请拨付金额 {row.claimed}",
                row.line,
                path,
            )
        if row.paid_in_words is not None:
            self.words(row.paid, row.paid_in_words, "PaidInWords 实拨金额（大写）", where, row.line, path)

    def compare(
        self, code: str, found: object, expected: Mapping[str, object], figures: Iterable[str], where: str,
        of_what: str, path: str | None,
    ) -> None:
        """One finding per figure of `found` that differs from the `expected` sums."""
        for attr in figures:
            have, want = getattr(found, attr), expected.get(attr, 0)
            if have != want:
                self.out.add(code, f"{where}: {LABELS[attr]} is {have} but {of_what} give {want}", found.line, path)

    def schemes(self, schemes: list, prefix: str, settled: bool) -> None:
        figures = SETTLED_FIGURES if settled else CLAIM_FIGURES
        seen: set[str] = set()
        for k, scheme in enumerate(schemes, 1):
            label = f"Scheme {scheme.category} ({PERSON_CATEGORIES.get(scheme.category, '?')})"
            path = f"{prefix}/Scheme[{k}]"
            if scheme.category in seen:
                self.out.add("sum.duplicate", f"{label} appears twice: one Scheme per scheme", scheme.line, path)
            seen.add(scheme.category)
            types: set[str] = set()
            for j, row in enumerate(scheme.lines, 1):
                where = f"{label}, service type {row.service_type}"
                row_path = f"{path}/Line[{j}]"
                if row.service_type in types:
                    self.out.add("sum.duplicate", f"{where} appears twice in the scheme", row.line, row_path)
                types.add(row.service_type)
                self.service_type(row.service_type, label, row.line, row_path)
                (self.settled_row if settled else self.claim_row)(row, where, row_path)
            (self.settled_row if settled else self.claim_row)(scheme.total, f"{label}, Total 合计", f"{path}/Total")
            sums = {a: sum(getattr(r, a) for r in scheme.lines) for a in figures}
            self.compare("sum.rows", scheme.total, sums, figures, f"{label}, Total 合计", "its lines", f"{path}/Total")

    def notes(self, doc: m.CitySettlement | m.FacilitySettlement, deducted: Decimal, supplemented: Decimal) -> None:
        if deducted and not (doc.deduction_note or "").strip():
            self.out.add(
                "settlement.note",
                f"Deducted 审核扣款金额 is {deducted}: DeductionNote 审核扣款说明 must explain it",
                doc.line,
            )
        if supplemented and not (doc.supplement_note or "").strip():
            self.out.add(
                "settlement.note",
                f"Supplemented 补拨金额 is {supplemented}: SupplementNote 补拨金额说明 must explain it",
                doc.line,
            )

    # --- documents -----------------------------------------------------------------------------------

    def facility_claim(self, doc: m.FacilityClaim, prefix: str) -> None:
        self.schemes(doc.schemes, prefix, settled=False)

    def statement(self, s: m.PersonStatement, who: str, path: str) -> None:
        """One person's statement: amounts, dates, ID number, service type."""
        self.split(s, who, path, fund_attr="fund_paid")
        if s.personal_burden != s.self_paid + s.co_pay:
            self.out.add(
                "amount.burden",
                f"{who}: PersonalBurden 个人负担合计 {s.personal_burden} should equal SelfPaid {s.self_paid}"
                f" + CoPay {s.co_pay} = {s.self_paid + s.co_pay}",
                s.line,
                path,
            )
        first, last = _month_span(s.period)
        if first is not None and not (first <= s.start_date <= last and first <= s.end_date <= last):
            self.out.add(
                "period.outside",
                f"{who}: StartDate {s.start_date} and EndDate {s.end_date} must lie within the month {s.period}",
                s.line,
                path,
            )
        if s.end_date < s.start_date:
            message = f"{who}: EndDate {s.end_date} is before StartDate {s.start_date}"
            self.out.add("period.order", message, s.line, path)
        elif s.benefit_days > (s.end_date - s.start_date).days + 1:
            self.out.add(
                "period.days",
                f"{who}: BenefitDays 待遇享受天数 {s.benefit_days} exceeds the {(s.end_date - s.start_date).days + 1}"
                f" days from {s.start_date} to {s.end_date}",
                s.line,
                path,
            )
        if s.id_type == RESIDENT_ID_CARD and not is_valid(s.id_number):
            self.out.add(
                "person.id_check",
                f"{who}: IdNumber fails the GB 11643 check (18 characters, a real birth date, the check "
                f"character) required for IdType 01",
                s.line,
                path,
            )
        self.service_type(s.service_type, who, s.line, path)

    def city_claim(self, doc: m.CityClaim) -> None:
        self.areas(doc.insured_city, doc.residence_city, doc.line)
        self.claim_row(doc.totals, "Totals", "/CityClaim/Totals")
        if doc.nil and any(getattr(doc.totals, attr) for attr in CLAIM_FIGURES):
            self.out.add("claim.nil", "a nil claim (零申报, Nil) claims nothing: every figure of its Totals must be 0",
                         doc.totals.line, "/CityClaim/Totals")
        # Each A1 form: its own arithmetic, its month.
        facility_totals: dict[str, Decimal | int] = defaultdict(int)
        forms: dict[str, m.FacilityClaim] = {}
        for k, claim in enumerate(doc.facility_claims, 1):
            prefix = f"/CityClaim/FacilityClaims/FacilityClaim[{k}]"
            if claim.facility_code in forms:
                self.out.add(
                    "sum.duplicate", f"facility {claim.facility_code} has two FacilityClaim forms", claim.line, prefix
                )
            forms[claim.facility_code] = claim
            self.facility_claim(claim, prefix)
            if claim.period != doc.period:
                self.out.add(
                    "period.mismatch",
                    f"FacilityClaim of facility {claim.facility_code} is for {claim.period}, "
                    f"the claim for {doc.period}",
                    claim.line,
                    prefix,
                )
            for scheme in claim.schemes:
                for attr in CLAIM_FIGURES:
                    facility_totals[attr] += getattr(scheme.total, attr)
        self.compare(
            "sum.details", doc.totals, facility_totals, CLAIM_FIGURES, "Totals", "the FacilityClaim forms",
            "/CityClaim/Totals",
        )
        # Every statement, and the sums per facility / scheme / service type.
        groups: dict[tuple[str, str, str], dict[str, Decimal | int]] = {}
        all_sums: dict[str, Decimal | int] = defaultdict(int)
        serials: set[str] = set()
        for i, s in enumerate(doc.statements, 1):
            who = f"statement {i} (serial {s.serial})"
            path = f"/CityClaim/PersonStatements/PersonStatement[{i}]"
            self.statement(s, who, path)
            if s.serial in serials:
                message = f"{who}: serial {s.serial} is used by an earlier statement"
                self.out.add("sum.duplicate", message, s.line, path)
            serials.add(s.serial)
            if s.late and s.period >= doc.period:  # 补报 (第二十四条): only fees of an earlier month roll in
                self.out.add("period.late", f"{who} is marked late (补报) but is for {s.period}: a late statement "
                             f"is of a month before the claim's {doc.period}", s.line, path)
            elif s.period != doc.period and not s.late:
                self.out.add("period.mismatch", f"{who} is for {s.period}, the claim for {doc.period} (fees of an "
                             "earlier month submitted after its cut-off are marked late, 补报: Late true)", s.line, path)
            if s.insured_city != doc.insured_city or s.residence_city != doc.residence_city:
                self.out.add(
                    "person.cities",
                    f"{who}: InsuredCity {s.insured_city} / ResidenceCity {s.residence_city} differ from the "
                    f"claim's {doc.insured_city} / {doc.residence_city}",
                    s.line,
                    path,
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
            "sum.details", doc.totals, all_sums, CLAIM_FIGURES, "Totals", "the PersonStatements", "/CityClaim/Totals"
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
                        f"facility {key[0]}, scheme {key[1]}, service type {key[2]}", "its PersonStatements",
                        f"/CityClaim/FacilityClaims/FacilityClaim[{k}]/Scheme[{n}]/Line[{j}]",
                    )
        for key in sorted(set(groups) - lined):
            facility, category, service = key
            missing = "no FacilityClaim form" if facility not in forms else "no line for them in its FacilityClaim"
            self.out.add(
                "sum.details",
                f"{groups[key]['visits']} statement(s) of facility {facility}, scheme {category}, service type "
                f"{service} have {missing}: the claim must carry every statement in its facility's form",
                doc.line,
            )

    def city_settlement(self, doc: m.CitySettlement) -> None:
        self.areas(doc.insured_city, doc.residence_city, doc.line)
        self.settled_row(doc.totals, "Totals", "/CitySettlement/Totals")
        self.notes(doc, doc.totals.deducted, doc.totals.supplemented)
        if doc.adjustments is None:
            return
        for attr in ("deducted", "supplemented"):
            total = sum((getattr(a, attr) for a in doc.adjustments), ZERO)
            if total != getattr(doc.totals, attr):
                self.out.add(
                    "settlement.adjustments",
                    f"Totals: {LABELS[attr]} is {getattr(doc.totals, attr)} but the Adjustments sum to {total}",
                    doc.totals.line,
                    "/CitySettlement/Adjustments",
                )

    def facility_settlement(self, doc: m.FacilitySettlement) -> None:
        if doc.insured_city not in self.known_areas:
            self.out.add("route.unknown_area", f"InsuredCity 参保地 {doc.insured_city} is not a known area", doc.line)
        self.schemes(doc.schemes, "/FacilitySettlement", settled=True)
        deducted = sum((s.total.deducted for s in doc.schemes), ZERO)
        self.notes(doc, deducted, sum((s.total.supplemented for s in doc.schemes), ZERO))


    # --- disputes (第三十一条) ----------------------------------------------------------------------------

    def dispute(self, doc: m.Dispute) -> None:
        self.areas(doc.insured_city, doc.residence_city, doc.line)
        if doc.subject == m.SUBJECT_AMOUNT and doc.expected == doc.stated:
            self.out.add(
                "dispute.no_difference",
                f"Subject amount: Expected {doc.expected} equals Stated {doc.stated}: an amount dispute names the "
                "amount found and the different amount the document states",
                doc.line,
                "/Dispute/Expected",
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
                self.out.add("dispute.statements", f"StatementSerial {k} ({serial}) is listed twice", doc.line,
                             f"/Dispute/StatementSerials/StatementSerial[{k}]")
            seen.add(serial)

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
                f"Outcome {doc.outcome}: CorrectedAmount must state the amount now agreed",
                doc.line,
                "/DisputeAnswer",
            )
        if doc.correction_serial is not None and doc.outcome == m.REJECTED:
            self.out.add(
                "dispute.correction",
                "Outcome rejected: no corrected document follows, leave CorrectionSerial out",
                doc.line,
                "/DisputeAnswer/CorrectionSerial",
            )


    # --- the money (第二十六条 payment, 第二十九条 refund) ---------------------------------------------------------

    def money(self, doc: m.MoneyDocument, today: date | None) -> None:
        payment = isinstance(doc, m.PaymentAdvice)
        code, root = ("payment", "/PaymentAdvice") if payment else ("refund", "/RecoveryRefund")
        self.areas(doc.insured_city, doc.residence_city, doc.line)
        if payment:
            amounts = [("Amount 拨付金额", doc.amount, doc.line, f"{root}/Amount")]
            amounts += [(f"Settlement {k} ({s.serial}) Amount", s.amount, s.line, f"{root}/Settlements/Settlement[{k}]")
                        for k, s in enumerate(doc.settlements, 1)]
            total, parts, of_what = doc.amount, [s.amount for s in doc.settlements], "the Settlements' amounts"
        else:
            amounts = [("Total 合计", doc.total, doc.line, f"{root}/Total")]
            amounts += [(f"Item {k} Amount 追回金额", i.amount, i.line, f"{root}/Items/Item[{k}]")
                        for k, i in enumerate(doc.items, 1)]
            total, parts, of_what = doc.total, [i.amount for i in doc.items], "the Items"
        for label, amount, line, path in amounts:
            if amount <= 0:
                self.out.add(f"{code}.amount", f"{label} is {amount}: an amount paid or returned must be positive",
                             line, path)
            if amount != amount.quantize(Decimal("0.01")):
                self.out.add(f"{code}.decimals", f"{label} {amount} has more than two decimals (元, 角, 分)", line,
                             path)
        if sum(parts, ZERO) != total:
            self.out.add(f"{code}.sum" if payment else "refund.total",
                         f"{amounts[0][0]} is {total} but {of_what} sum to {sum(parts, ZERO)}", doc.line, amounts[0][3])
        if today is not None and doc.value_date > today:
            self.out.add(f"{code}.value_date", f"ValueDate {doc.value_date} lies in the future (today is {today} in "
                         "China): advise money once it has been sent", doc.line, f"{root}/ValueDate")
        seen: set[tuple[str, str]] = set()
        for k, ref in enumerate(doc.settlements, 1):
            path = f"{root}/Settlements/Settlement[{k}]"
            if (ref.serial, ref.period) in seen:
                self.out.add(f"{code}.settlements", f"Settlement {k} ({ref.serial}) is listed twice", ref.line, path)
            seen.add((ref.serial, ref.period))
            if payment and ref.period != doc.period:
                self.out.add("payment.settlements", f"Settlement {k} ({ref.serial}) is of {ref.period}, the advice "
                             f"pays {doc.period}: advise each month's settlements on their own", ref.line, path)
        if not payment:
            self.refund_items(doc)

    def refund_items(self, doc: m.RecoveryRefund) -> None:
        months = {ref.period for ref in doc.settlements}
        seen: dict[tuple[str, str], int] = {}
        for k, item in enumerate(doc.items, 1):
            where, path = f"Item {k}", f"/RecoveryRefund/Items/Item[{k}]"
            if item.id_type == RESIDENT_ID_CARD and not is_valid(item.id_number):
                self.out.add("person.id_check", f"{where}: IdNumber fails the GB 11643 check required for IdType 01",
                             item.line, path)
            if item.month > doc.period:
                self.out.add("refund.month", f"{where}: Month {item.month} is after the refund's Period "
                             f"{doc.period} (the latest service month it corrects)", item.line, path)
            elif item.month not in months:
                self.out.add("refund.month", f"{where}: Month {item.month} has no settlement among Settlements "
                             f"({', '.join(sorted(months))}): name the 附件4 the refund corrects", item.line, path)
            key = (item.id_number, item.month)
            if key in seen:
                self.out.add("refund.duplicate", f"{where} repeats the person and month of item {seen[key]}: one "
                             "item per person and month", item.line, path)
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
        message = f"the header says {header.type.value} but the body is an {kind.value}"
        out.add("envelope.type", message, getattr(doc, "line", None))
        return
    if kind.is_dispute:
        _check_dispute_header(out, doc, header)
        return
    if kind.is_money:
        _check_money_header(out, doc, header)
        return
    if not kind.is_attachment:
        return
    if doc.period != header.period:
        out.add("envelope.period", f"Period {doc.period} differs from the header's {header.period}", doc.line)
    if doc.serial != header.serial:
        out.add("envelope.serial", f"Serial {doc.serial} differs from the header's Serial {header.serial}", doc.line)
    insured, residence = header.insured_city, header.residence_city
    cities: list[tuple[str, str, str]] = []
    if isinstance(doc, (m.CityClaim, m.CitySettlement)):
        cities = [("InsuredCity", doc.insured_city, insured), ("ResidenceCity", doc.residence_city, residence)]
    elif isinstance(doc, m.FacilitySettlement):
        cities = [("InsuredCity", doc.insured_city, insured)]
    elif isinstance(doc, m.PersonStatement):
        if (doc.insured_city, doc.residence_city) != (insured, residence):
            out.add(
                "person.cities",
                f"the statement's InsuredCity {doc.insured_city} / ResidenceCity {doc.residence_city} differ from "
                f"the envelope's {insured} / {residence} (an {kind.value} goes from the residence city to the "
                f"insured city)",
                doc.line,
            )
    direction = "from the insured city to the residence city" if kind is MessageType.A4 else (
        "from the residence city to the insured city"
    )
    for name, found, expected in cities:
        if found != expected:
            out.add(
                "envelope.cities",
                f"{name} {found} differs from the envelope's {expected} (an {kind.value} goes {direction})",
                doc.line,
            )



def _check_dispute_header(out: _Findings, doc: m.DisputeDocument, header: Header) -> None:
    """A dispute's month and serial are its header's; its two cities are the envelope's, either way round."""
    if doc.period != header.period:
        out.add("envelope.period", f"Period {doc.period} differs from the header's {header.period}", doc.line)
    if doc.serial != header.serial:
        out.add("envelope.serial", f"Serial {doc.serial} differs from the header's Serial {header.serial}", doc.line)
    if {doc.residence_city, doc.insured_city} != {header.sender, header.receiver}:
        out.add(
            "envelope.cities",
            f"ResidenceCity {doc.residence_city} / InsuredCity {doc.insured_city} are not the envelope's Sender "
            f"{header.sender} and Receiver {header.receiver}: a {header.type.value} goes between the two cities "
            "of the disputed document",
            doc.line,
        )


def _check_money_header(out: _Findings, doc: m.MoneyDocument, header: Header) -> None:
    """A payment goes from the insured city (it pays) to the residence city; a refund the other way."""
    if doc.period != header.period:
        out.add("envelope.period", f"Period {doc.period} differs from the header's {header.period}", doc.line)
    if doc.serial != header.serial:
        out.add("envelope.serial", f"Serial {doc.serial} differs from the header's Serial {header.serial}", doc.line)
    code = "payment" if header.type is MessageType.PAYMENT else "refund"
    expected = (header.insured_city, header.residence_city)
    if (doc.insured_city, doc.residence_city) == expected:
        return
    if (doc.insured_city, doc.residence_city) == expected[::-1]:
        payer = "insured city 参保地" if code == "payment" else "residence city 居住地"
        out.add(f"{code}.direction", f"a {header.type.value} goes from the {payer} to the other, and the body names "
                f"{header.sender} as the {'residence' if code == 'payment' else 'insured'} city: check InsuredCity, "
                "ResidenceCity, Sender and Type", doc.line)
        return
    out.add("envelope.cities", f"InsuredCity {doc.insured_city} / ResidenceCity {doc.residence_city} are not the "
            f"envelope's {expected[0]} / {expected[1]}", doc.line)
