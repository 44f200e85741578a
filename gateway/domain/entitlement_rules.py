"""The rules of the entitlement documents (第十条, 第十五条, 第十七条), each document checked alone.

Called by `gateway.domain.rules.check_document`, like the settlement rules: every broken rule, each a Finding with
a stable code and a message a clerk can act on (the field's element name and form label), never a name or an ID
number. Whether a document fits what was carried before (a filing for a notice that exists, a result for a
request that was sent) needs the ledger: not here.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timezone

from gateway.domain import entitlement as ent
from gateway.domain.codes import RESIDENT_ID_CARD, SEXES
from gateway.domain.deadlines import CHINA_TIME  # dates on the forms are Beijing dates
from gateway.domain.envelope import Header, sent_by_residence_city
from gateway.domain.findings import Finding
from gateway.domain.idnumber import is_valid, sex_of

ROOTS = {
    ent.EntitlementNotice: ("EntitlementNotice", "the notice 待遇享受通知"),
    ent.ChangeFiling: ("ChangeFiling", "the filing 变更备案"),
    ent.AssessmentRequest: ("AssessmentRequest", "the request 委托评估"),
    ent.AssessmentResult: ("AssessmentResult", "the result 委托评估结果"),
}


def check_entitlement_document(
    doc: ent.EntitlementDocument,
    header: Header | None,
    *,
    service_types: Collection[str],
    known_areas: Collection[str],
) -> list[Finding]:
    """Every rule `doc` breaks, alone and, when `header` is given and of the document's type, against it."""
    check = _Check(doc, header, service_types, known_areas)
    check.cities()
    check.person()
    if isinstance(doc, ent.EntitlementNotice):
        check.notice(doc)
    elif isinstance(doc, ent.ChangeFiling):
        check.filing(doc)
    elif isinstance(doc, ent.AssessmentRequest):
        check.not_after_creation(doc.requested_at, "RequestedAt 委托日期")
        check.period_of(doc.requested_at, "RequestedAt 委托日期")
    else:
        check.result(doc)
    if check.header is not None:
        check.envelope()
    return check.findings


def _china_day(moment: datetime) -> date:
    """The Beijing date of `moment` (a naive time is taken as UTC, as the ledger stores times)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(CHINA_TIME).date()


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class _Check:
    def __init__(self, doc: ent.EntitlementDocument, header: Header | None, service_types: Collection[str],
                 known_areas: Collection[str]) -> None:
        self.doc, self.service_types, self.known_areas = doc, service_types, known_areas
        self.header = header if header is not None and header.type is doc.type else None
        self.root, self.what = ROOTS[type(doc)]
        self.findings: list[Finding] = []

    def add(self, code: str, message: str, element: str | None = None, line: int | None = None) -> None:
        path = f"/{self.root}/{element}" if element else f"/{self.root}"
        self.findings.append(Finding(code, message, line if line is not None else self.doc.line, path))

    # --- shared --------------------------------------------------------------------------------------------

    def cities(self) -> None:
        doc = self.doc
        for role, code in (("InsuredCity 参保地", doc.insured_city), ("ResidenceCity 居住地", doc.residence_city)):
            if code not in self.known_areas:
                self.add("route.unknown_area", f"{role} {code} is not a known area")
        if doc.insured_city == doc.residence_city:
            self.add("route.same_city", f"InsuredCity and ResidenceCity are both {doc.insured_city}: an entitlement "
                     "in another city needs two cities")

    def person(self) -> None:
        doc = self.doc
        if doc.id_type != RESIDENT_ID_CARD:
            return
        if not is_valid(doc.id_number):
            self.add("person.id_check", f"{self.what}: IdNumber fails the GB 11643 check (18 characters, a real birth "
                     "date, the check character) required for IdType 01", "IdNumber")
            return
        sex = getattr(doc, "sex", None)
        stated = sex_of(doc.id_number)
        if sex in ("1", "2") and sex != stated:
            self.add("person.sex", f"{self.what}: Sex 性别 {sex} ({SEXES[sex]}) disagrees with the ID number, whose "
                     f"17th digit says {SEXES[stated]} (odd: 男, even: 女): correct one of them", "Sex")

    def not_after_creation(self, day: date | None, label: str, why: str = "") -> None:
        """A date of something that has happened (an assessment, a death, a filing) cannot be later than the
        message that reports it."""
        if day is None or self.header is None:
            return
        created = _china_day(self.header.created)
        if day > created:
            self.add("date.future", f"{self.what}: {label} {day} is after the message was created ({created}): "
                     f"{why or 'a date that has not come yet cannot be reported'}")

    def period_of(self, day: date, label: str) -> None:
        """A first issue's Period is the month of the date the document takes effect; revisions keep it."""
        if self.header is not None and self.header.revision == 1 and self.doc.period != _month(day):
            self.add("entitlement.period", f"{self.what}: Period 月份 {self.doc.period} should be the month of "
                     f"{label} {day} ({_month(day)}) on a first issue (a revision keeps its first issue's Period)",
                     "Period")

    def listed_service_types(self, codes: list[str]) -> None:
        seen: set[str] = set()
        for code in codes:
            if code not in self.service_types:
                self.add("codes.service_type", f"{self.what}: care-service type {code} is not in the residence "
                         f"city's list ({', '.join(sorted(self.service_types))})", "ServiceTypes")
            if code in seen:
                self.add("entitlement.service_types", f"{self.what}: care-service type {code} is listed twice",
                         "ServiceTypes")
            seen.add(code)

    def facilities(self, facilities: list[ent.Facility], *, care_required: bool) -> None:
        """第十五条: one designated care facility (定点长护服务机构), at most one assistive-device rental facility
        (定点辅助器具租赁机构)."""
        care = [f for f in facilities if f.role == ent.CARE]
        device = [f for f in facilities if f.role == ent.DEVICE]
        if len(care) > 1:
            self.add("entitlement.care_facility", f"{self.what}: {len(care)} care facilities "
                     f"({', '.join(f.code for f in care)}): a person chooses one 定点长护服务机构 (第十五条)",
                     "Facilities", care[1].line)
        elif care_required and not care:
            self.add("entitlement.care_facility", f"{self.what}: no care facility: name the person's "
                     "定点长护服务机构 (Facility with Role care) from this date (第十五条)", "Facilities")
        if len(device) > 1:
            self.add("entitlement.device_facility", f"{self.what}: {len(device)} assistive-device rental "
                     f"facilities ({', '.join(f.code for f in device)}): at most one 定点辅助器具租赁机构 (第十五条)",
                     "Facilities", device[1].line)

    def validity(self, assessed_at: date, valid_until: date) -> None:
        limit = ent.validity_limit(assessed_at)
        if valid_until <= assessed_at:
            self.add("assessment.validity", f"{self.what}: ValidUntil 有效期至 {valid_until} is not after AssessedAt "
                     f"评估结论日期 {assessed_at}", "ValidUntil")
        elif valid_until > limit:
            self.add("assessment.validity", f"{self.what}: ValidUntil 有效期至 {valid_until} is more than "
                     f"{ent.MAX_VALIDITY_YEARS} years after AssessedAt 评估结论日期 {assessed_at}: a conclusion is "
                     f"valid at most {ent.MAX_VALIDITY_YEARS} years (第十条), until {limit}", "ValidUntil")

    # --- documents -----------------------------------------------------------------------------------------

    def notice(self, doc: ent.EntitlementNotice) -> None:
        self.validity(doc.assessed_at, doc.valid_until)
        self.not_after_creation(doc.assessed_at, "AssessedAt 评估结论日期", "an assessment is notified after it")
        self.not_after_creation(doc.issued_at, "IssuedAt 通知日期")
        self.listed_service_types(doc.service_types)
        self.facilities(doc.facilities, care_required=False)
        if doc.kind == ent.START and doc.start_date < doc.assessed_at:  # a re-assessment comes after the start
            self.add("entitlement.start", f"the notice: StartDate 待遇享受开始日期 {doc.start_date} is before AssessedAt "
                     f"评估结论日期 {doc.assessed_at}: care is agreed after the assessment (第十七条)", "StartDate")
        elif doc.start_date > doc.valid_until:
            self.add("entitlement.start", f"the notice: StartDate 待遇享受开始日期 {doc.start_date} is after "
                     f"ValidUntil 有效期至 {doc.valid_until}: the conclusion has lapsed by then", "StartDate")
        if doc.kind == ent.END and doc.end is None:
            self.add("entitlement.kind", "the notice is of Kind end 终止 but has no End: give EndDate and EndReason")
        elif doc.kind != ent.END and doc.end is not None:
            self.add("entitlement.kind", f"the notice is of Kind {doc.kind} ({ent.NOTICE_KINDS.get(doc.kind, '?')}) "
                     "but has an End: an entitlement is ended by a notice of Kind end", "End")
        if doc.end is not None:
            end = doc.end
            if end.end_date < doc.start_date:
                self.add("entitlement.end", f"the notice: EndDate 终止日期 {end.end_date} is before StartDate "
                         f"{doc.start_date}", "End/EndDate", end.line)
            if end.end_date > doc.valid_until:
                self.add("entitlement.end", f"the notice: EndDate 终止日期 {end.end_date} is after ValidUntil 有效期至 "
                         f"{doc.valid_until}: the entitlement ended with its conclusion's validity", "End/EndDate",
                         end.line)
            if end.reason == ent.DEATH:
                self.not_after_creation(end.end_date, "EndDate 终止日期 (EndReason death 死亡)",
                                        "a death is notified after it")
        if doc.kind == ent.START:
            self.period_of(doc.start_date, "StartDate 待遇享受开始日期")

    def filing(self, doc: ent.ChangeFiling) -> None:
        self.not_after_creation(doc.filed_at, "FiledAt 备案日期")
        self.listed_service_types(doc.service_types)
        self.facilities(doc.facilities, care_required=True)
        self.period_of(doc.effective_from, "EffectiveFrom 变更生效日期")

    def result(self, doc: ent.AssessmentResult) -> None:
        self.validity(doc.assessed_at, doc.valid_until)
        self.not_after_creation(doc.assessed_at, "AssessedAt 评估结论日期", "an assessment is reported after it")
        self.not_after_creation(doc.reported_at, "ReportedAt 反馈日期")
        experts = {(a.code or a.name.strip()) for a in doc.assessors}
        if len(experts) < ent.MIN_ASSESSORS:
            self.add("assessment.assessors", f"the result: {len(experts)} assessor(s) confirmed the conclusion; a "
                     f"conclusion needs at least {ent.MIN_ASSESSORS} different 评估专家 (第十条)", "Assessors")
        if doc.reported_at < doc.assessed_at:
            self.add("assessment.order", f"the result: ReportedAt 反馈日期 {doc.reported_at} is before AssessedAt "
                     f"评估结论日期 {doc.assessed_at}", "ReportedAt")

    def envelope(self) -> None:
        """The document agrees with its envelope: month, serial, and the two cities by its direction (who may
        send which to whom)."""
        doc, header = self.doc, self.header
        assert header is not None
        if doc.period != header.period:
            self.add("envelope.period", f"Period {doc.period} differs from the header's {header.period}", "Period")
        if doc.serial != header.serial:
            self.add("envelope.serial", f"Serial {doc.serial} differs from the header's Serial {header.serial}",
                     "Serial")
        if (doc.insured_city, doc.residence_city) != (header.insured_city, header.residence_city):
            direction = ("from the residence city (居住地) to the insured city (参保地)"
                         if sent_by_residence_city(doc.type) else
                         "from the insured city (参保地) to the residence city (居住地)")
            self.add("envelope.cities", f"InsuredCity {doc.insured_city} / ResidenceCity {doc.residence_city} do not "
                     f"match Sender {header.sender} and Receiver {header.receiver}: {doc.type.value} goes "
                     f"{direction}", "InsuredCity")
