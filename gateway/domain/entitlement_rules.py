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
from gateway.domain.findings import Finding, Phrase, phrase
from gateway.domain.idnumber import is_valid, sex_of

ROOTS = {
    ent.EntitlementNotice: ("EntitlementNotice", phrase("the notice 待遇享受通知")),
    ent.ChangeFiling: ("ChangeFiling", phrase("the filing 变更备案")),
    ent.AssessmentRequest: ("AssessmentRequest", phrase("the request 委托评估")),
    ent.AssessmentResult: ("AssessmentResult", phrase("the result 委托评估结果")),
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
        check.not_after_creation(doc.requested_at, phrase("RequestedAt 委托日期"))
        check.period_of(doc.requested_at, phrase("RequestedAt 委托日期"))
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

    def add(self, code: str, template: str, element: str | None = None, line: int | None = None, /,
            **values) -> None:
        path = f"/{self.root}/{element}" if element else f"/{self.root}"
        self.findings.append(Finding(code, template, line if line is not None else self.doc.line, path, **values))

    # --- shared --------------------------------------------------------------------------------------------

    def cities(self) -> None:
        doc = self.doc
        for role, code in ((phrase("InsuredCity 参保地"), doc.insured_city),
                           (phrase("ResidenceCity 居住地"), doc.residence_city)):
            if code not in self.known_areas:
                self.add("route.unknown_area", "{role} {code} is not a known area", role=role, code=code)
        if doc.insured_city == doc.residence_city:
            self.add("route.same_city", "InsuredCity and ResidenceCity are both {city}: an entitlement in another "
                     "city needs two cities", city=doc.insured_city)

    def person(self) -> None:
        doc = self.doc
        if doc.id_type != RESIDENT_ID_CARD:
            return
        if not is_valid(doc.id_number):
            self.add("person.id_check", "{who}: IdNumber fails the GB 11643 check (18 characters, a real birth "
                     "date, the check character) required for IdType 01", "IdNumber", who=self.what)
            return
        sex = getattr(doc, "sex", None)
        stated = sex_of(doc.id_number)
        if sex in ("1", "2") and sex != stated:
            self.add("person.sex", "{who}: Sex 性别 {sex} ({sex_name}) disagrees with the ID number, whose 17th digit "
                     "says {stated} (odd: 男, even: 女): correct one of them", "Sex", who=self.what, sex=sex,
                     sex_name=SEXES[sex], stated=SEXES[stated])

    def not_after_creation(self, day: date | None, label: Phrase, why: Phrase | None = None) -> None:
        """A date of something that has happened (an assessment, a death, a filing) cannot be later than the
        message that reports it."""
        if day is None or self.header is None:
            return
        created = _china_day(self.header.created)
        if day > created:
            self.add("date.future", "{who}: {label} {day} is after the message was created ({created}): {why}",
                     who=self.what, label=label, day=day, created=created,
                     why=why or phrase("a date that has not come yet cannot be reported"))

    def period_of(self, day: date, label: Phrase) -> None:
        """A first issue's Period is the month of the date the document takes effect; revisions keep it."""
        if self.header is not None and self.header.revision == 1 and self.doc.period != _month(day):
            self.add("entitlement.period", "{who}: Period 月份 {period} should be the month of {label} {day} "
                     "({month}) on a first issue (a revision keeps its first issue's Period)", "Period",
                     who=self.what, period=self.doc.period, label=label, day=day, month=_month(day))

    def listed_service_types(self, codes: list[str]) -> None:
        seen: set[str] = set()
        for code in codes:
            if code not in self.service_types:
                self.add("codes.service_type", "{where}: care-service type {code} is not in the residence city's "
                         "list ({listed})", "ServiceTypes", where=self.what, code=code,
                         listed=", ".join(sorted(self.service_types)))
            if code in seen:
                self.add("entitlement.service_types", "{who}: care-service type {code} is listed twice",
                         "ServiceTypes", who=self.what, code=code)
            seen.add(code)

    def facilities(self, facilities: list[ent.Facility], *, care_required: bool) -> None:
        """第十五条: one designated care facility (定点长护服务机构), at most one assistive-device rental facility
        (定点辅助器具租赁机构)."""
        care = [f for f in facilities if f.role == ent.CARE]
        device = [f for f in facilities if f.role == ent.DEVICE]
        if len(care) > 1:
            self.add("entitlement.care_facility", "{who}: {count} care facilities ({codes}): a person chooses one "
                     "定点长护服务机构 (第十五条)", "Facilities", care[1].line, who=self.what, count=len(care),
                     codes=", ".join(f.code for f in care))
        elif care_required and not care:
            self.add("entitlement.care_facility", "{who}: no care facility: name the person's 定点长护服务机构 "
                     "(Facility with Role care) from this date (第十五条)", "Facilities", who=self.what)
        if len(device) > 1:
            self.add("entitlement.device_facility", "{who}: {count} assistive-device rental facilities ({codes}): at "
                     "most one 定点辅助器具租赁机构 (第十五条)", "Facilities", device[1].line, who=self.what,
                     count=len(device), codes=", ".join(f.code for f in device))

    def validity(self, assessed_at: date, valid_until: date) -> None:
        limit = ent.validity_limit(assessed_at)
        if valid_until <= assessed_at:
            self.add("assessment.validity", "{who}: ValidUntil 有效期至 {valid_until} is not after AssessedAt "
                     "评估结论日期 {assessed_at}", "ValidUntil", who=self.what, valid_until=valid_until,
                     assessed_at=assessed_at)
        elif valid_until > limit:
            self.add("assessment.validity", "{who}: ValidUntil 有效期至 {valid_until} is more than {years} years after "
                     "AssessedAt 评估结论日期 {assessed_at}: a conclusion is valid at most {years} years (第十条), until "
                     "{limit}", "ValidUntil", who=self.what, valid_until=valid_until, years=ent.MAX_VALIDITY_YEARS,
                     assessed_at=assessed_at, limit=limit)

    # --- documents -----------------------------------------------------------------------------------------

    def notice(self, doc: ent.EntitlementNotice) -> None:
        self.validity(doc.assessed_at, doc.valid_until)
        self.not_after_creation(doc.assessed_at, phrase("AssessedAt 评估结论日期"),
                                phrase("an assessment is notified after it"))
        self.not_after_creation(doc.issued_at, phrase("IssuedAt 通知日期"))
        self.listed_service_types(doc.service_types)
        self.facilities(doc.facilities, care_required=False)
        if doc.kind == ent.START and doc.start_date < doc.assessed_at:  # a re-assessment comes after the start
            self.add("entitlement.start", "the notice: StartDate 待遇享受开始日期 {start} is before AssessedAt "
                     "评估结论日期 {assessed_at}: care is agreed after the assessment (第十七条)", "StartDate",
                     start=doc.start_date, assessed_at=doc.assessed_at)
        elif doc.start_date > doc.valid_until:
            self.add("entitlement.start", "the notice: StartDate 待遇享受开始日期 {start} is after ValidUntil 有效期至 "
                     "{valid_until}: the conclusion has lapsed by then", "StartDate", start=doc.start_date,
                     valid_until=doc.valid_until)
        if doc.kind == ent.END and doc.end is None:
            self.add("entitlement.kind", "the notice is of Kind end 终止 but has no End: give EndDate and EndReason")
        elif doc.kind != ent.END and doc.end is not None:
            self.add("entitlement.kind", "the notice is of Kind {kind} ({kind_name}) but has an End: an entitlement "
                     "is ended by a notice of Kind end", "End", kind=doc.kind,
                     kind_name=ent.NOTICE_KINDS.get(doc.kind, "?"))
        if doc.end is not None:
            end = doc.end
            if end.end_date < doc.start_date:
                self.add("entitlement.end", "the notice: EndDate 终止日期 {end} is before StartDate {start}",
                         "End/EndDate", end.line, end=end.end_date, start=doc.start_date)
            if end.end_date > doc.valid_until:
                self.add("entitlement.end", "the notice: EndDate 终止日期 {end} is after ValidUntil 有效期至 "
                         "{valid_until}: the entitlement ended with its conclusion's validity", "End/EndDate",
                         end.line, end=end.end_date, valid_until=doc.valid_until)
            if end.reason == ent.DEATH:
                self.not_after_creation(end.end_date, phrase("EndDate 终止日期 (EndReason death 死亡)"),
                                        phrase("a death is notified after it"))
        if doc.kind == ent.START:
            self.period_of(doc.start_date, phrase("StartDate 待遇享受开始日期"))

    def filing(self, doc: ent.ChangeFiling) -> None:
        self.not_after_creation(doc.filed_at, phrase("FiledAt 备案日期"))
        self.listed_service_types(doc.service_types)
        self.facilities(doc.facilities, care_required=True)
        self.period_of(doc.effective_from, phrase("EffectiveFrom 变更生效日期"))

    def result(self, doc: ent.AssessmentResult) -> None:
        self.validity(doc.assessed_at, doc.valid_until)
        self.not_after_creation(doc.assessed_at, phrase("AssessedAt 评估结论日期"),
                                phrase("an assessment is reported after it"))
        self.not_after_creation(doc.reported_at, phrase("ReportedAt 反馈日期"))
        experts = {(a.code or a.name.strip()) for a in doc.assessors}
        if len(experts) < ent.MIN_ASSESSORS:
            self.add("assessment.assessors", "the result: {count} assessor(s) confirmed the conclusion; a "
                     "conclusion needs at least {minimum} different 评估专家 (第十条)", "Assessors", count=len(experts),
                     minimum=ent.MIN_ASSESSORS)
        if doc.reported_at < doc.assessed_at:
            self.add("assessment.order", "the result: ReportedAt 反馈日期 {reported_at} is before AssessedAt "
                     "评估结论日期 {assessed_at}", "ReportedAt", reported_at=doc.reported_at, assessed_at=doc.assessed_at)

    def envelope(self) -> None:
        """The document agrees with its envelope: month, serial, and the two cities by its direction (who may
        send which to whom)."""
        doc, header = self.doc, self.header
        assert header is not None
        if doc.period != header.period:
            self.add("envelope.period", "Period {period} differs from the header's {header_period}", "Period",
                     period=doc.period, header_period=header.period)
        if doc.serial != header.serial:
            self.add("envelope.serial", "Serial {serial} differs from the header's Serial {header_serial}",
                     "Serial", serial=doc.serial, header_serial=header.serial)
        if (doc.insured_city, doc.residence_city) != (header.insured_city, header.residence_city):
            direction = (phrase("from the residence city (居住地) to the insured city (参保地)")
                         if sent_by_residence_city(doc.type) else
                         phrase("from the insured city (参保地) to the residence city (居住地)"))
            self.add("envelope.cities", "InsuredCity {insured} / ResidenceCity {residence} do not match Sender "
                     "{sender} and Receiver {receiver}: {type} goes {direction}", "InsuredCity",
                     insured=doc.insured_city, residence=doc.residence_city, sender=header.sender,
                     receiver=header.receiver, type=doc.type.value, direction=direction)
