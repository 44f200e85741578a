"""Sample entitlement documents (第十条, 第十五条, 第十七条): for tests, demos and cities trying the kit.

One person per (insured city, residence city, seed), whatever the month: the same ID number and name in the
notice, the filings, the assessment request and its result of that seed, so that a sample flow is about one
person. Dates lie in the month `period` and never after `today` (a fact cannot be reported before it happens):
sample a month that has begun. `notice_for` and `filing_for` make the entitlement of a person of a sample claim
(附件2), so that claims and entitlements can be sampled about the same people. Facilities are coded like the claim samples' (L + residence city + number), so that a sample
filing names a facility the sample claims of that residence city bill from. Every sample passes the schema and
every rule.
"""

from __future__ import annotations

import calendar
import random
import zlib
from datetime import date, datetime, timedelta

from gateway.documents.sample import _FACILITY_KINDS, _random_name, _serial
from gateway.domain import entitlement as ent
from gateway.domain.areas import area_name
from gateway.domain.deadlines import CHINA_TIME
from gateway.domain.envelope import MessageType
from gateway.domain.settlement import PersonStatement
from gateway.domain.idnumber import make_id_number

_END_NOTES = {
    "reassessed": "重新评估结论未达到待遇享受条件",
    "death": "参保人员死亡",
    "moved": "参保人员居住地变更，迁出本市",
    "expired": "评估结论有效期届满，未申请继续享受",
    "other": "其他原因终止",
}


def _today() -> date:
    return datetime.now(CHINA_TIME).date()


def _agency(city: str) -> str:
    return area_name(city) + "医疗保障事业中心"


def _facility(residence: str, k: int, role: str = ent.CARE) -> ent.Facility:
    if role == ent.DEVICE:
        return ent.Facility(role, f"D{residence}{k + 1:05d}", f"{area_name(residence)}康复辅具租赁服务站")
    kind = _FACILITY_KINDS[k % len(_FACILITY_KINDS)]
    return ent.Facility(role, f"L{residence}{k + 1:05d}", f"{area_name(residence)}{kind}")


class _Person:
    """The one person of a seed (identity, scheme, level, facility, care types: the same in every month), and the
    month's dates."""

    def __init__(self, insured: str, residence: str, period: str, seed: int, today: date | None) -> None:
        self.insured, self.residence, self.period, self.seed = insured, residence, period, seed
        self.today = today or _today()
        rng = random.Random(zlib.crc32(f"ENT{insured}{residence}{seed}".encode()))
        self.sex = rng.choice("12")
        birth = date(rng.randint(1930, 1960), rng.randint(1, 12), rng.randint(1, 28))
        sequence = rng.randrange(0, 500) * 2 + (1 if self.sex == "1" else 0)
        self.id_number = make_id_number(insured[:4] + rng.choice(("02", "03", "21", "81")), birth, sequence)
        self.name = _random_name(rng)
        self.category = rng.choice("12")
        self.level = rng.choice("345")
        self.facility = rng.randrange(0, 6)
        self.service_types = sorted(rng.sample(["01", "02", "03", "04"], rng.randint(1, 2)))
        self.rng = random.Random(zlib.crc32(f"ENT{insured}{residence}{period}{seed}".encode()))  # the month's
        year, month = (int(x) for x in period.split("-"))
        self.first = date(year, month, 1)
        self.last = date(year, month, calendar.monthrange(year, month)[1])
        self.yyyymm = f"{year:04d}{month:02d}"

    def day_in_month(self, latest: int = 20) -> date:
        """A day of the month, not after today (for a month that has begun)."""
        return min(self.first + timedelta(days=self.rng.randint(0, latest)), self.last, max(self.today, self.first))

    def past(self, day: date) -> date:
        return min(day, self.today)

    def clerk(self) -> str:
        return _random_name(self.rng)


def sample_entitlement_notice(
    insured: str, residence: str, period: str, *, seed: int = 0, kind: str = ent.START, end_reason: str = "moved",
    today: date | None = None,
) -> ent.EntitlementNotice:
    """An ENTITLEMENT from `insured` to `residence` starting in `period`. `kind` start: the first issue (revision
    1); change: a re-assessment a month on, to send as a higher revision; end: the entitlement ended for
    `end_reason`, to send as a higher revision. The three share the serial and the person."""
    person = _Person(insured, residence, period, seed, today)
    rng = person.rng
    start = person.day_in_month(10)
    assessed = start - timedelta(days=rng.randint(10, 40))
    valid_until = ent.validity_limit(assessed) - timedelta(days=1)
    service_types, level, issued = person.service_types, person.level, person.past(start - timedelta(days=2))
    end = None
    if kind == ent.CHANGE:  # re-assessed a month into the entitlement: another level, another care type
        assessed = person.past(max(start + timedelta(days=30), assessed))
        valid_until = ent.validity_limit(assessed) - timedelta(days=1)
        level = "5" if level != "5" else "4"
        service_types = sorted(set(service_types) ^ {"05"})
        issued = assessed
    elif kind == ent.END:
        end_date = max(start, person.past(start + timedelta(days=90)))
        end = ent.EntitlementEnd(end_date, end_reason, _END_NOTES.get(end_reason))
        issued = max(person.past(end_date + timedelta(days=3)), issued)  # notified after the fact, or ahead
    return ent.EntitlementNotice(
        serial=_serial("EN", insured, residence, person.yyyymm, seed),
        period=period,
        insured_city=insured,
        residence_city=residence,
        kind=kind,
        id_type="01",
        id_number=person.id_number,
        name=person.name,
        sex=person.sex,
        person_category=person.category,
        disability_level=level,
        assessed_at=assessed,
        valid_until=valid_until,
        service_types=service_types,
        start_date=start,
        facilities=[_facility(residence, person.facility)],
        end=end,
        issued_by=person.clerk(),
        unit=_agency(insured),
        issued_at=issued,
    )


def sample_change_filing(
    residence: str, insured: str, period: str, *, seed: int = 0, kind: str = ent.ASSIGNMENT,
    entitlement_serial: str | None = None, today: date | None = None,
) -> ent.ChangeFiling:
    """A CHANGE_FILING from `residence` to `insured` taking effect in `period`, about the person of the notice
    of the same seed (`entitlement_serial`: that notice's serial; by default the serial of the notice of the same
    seed and month). `kind` assignment: the facility the person chose (派单); change: another care facility and an
    assistive-device rental facility."""
    person = _Person(insured, residence, period, seed, today)
    rng = person.rng
    effective = person.day_in_month(15)
    facilities = [_facility(residence, person.facility)]
    service_types = person.service_types
    reason = "参保人员自主选择定点长护服务机构，居住地经办机构派单"
    if kind == ent.CHANGE:
        facilities = [_facility(residence, person.facility + 1), _facility(residence, 0, ent.DEVICE)]
        service_types = sorted(set(service_types) | {"06"})
        reason = "参保人员申请变更定点长护服务机构，并增加辅助器具租赁"
    return ent.ChangeFiling(
        serial=_serial("CF", residence, insured, person.yyyymm, seed, 1 if kind == ent.ASSIGNMENT else 2),
        period=period,
        insured_city=insured,
        residence_city=residence,
        kind=kind,
        entitlement_serial=entitlement_serial or _serial("EN", insured, residence, person.yyyymm, seed),
        id_type="01",
        id_number=person.id_number,
        name=person.name,
        effective_from=effective,
        service_types=service_types,
        facilities=facilities,
        reason=reason,
        filed_by=person.clerk(),
        unit=_agency(residence),
        filed_at=person.past(effective - timedelta(days=rng.randint(1, 5))),
    )


def sample_assessment_request(
    insured: str, residence: str, period: str, *, seed: int = 0, today: date | None = None,
) -> ent.AssessmentRequest:
    """An ASSESSMENT_REQUEST from `insured` to `residence` made in `period`: a first assessment, delegated."""
    person = _Person(insured, residence, period, seed, today)
    requested = person.day_in_month(20)
    return ent.AssessmentRequest(
        serial=_serial("AR", insured, residence, person.yyyymm, seed),
        period=period,
        insured_city=insured,
        residence_city=residence,
        reason="first",
        id_type="01",
        id_number=person.id_number,
        name=person.name,
        sex=person.sex,
        person_category=person.category,
        address=f"{area_name(residence)}幸福路{person.rng.randint(1, 300)}号",
        phone=None,
        note="参保人员长期居住在居住地，经协商委托居住地经办机构开展失能等级评估",
        requested_by=person.clerk(),
        unit=_agency(insured),
        requested_at=requested,
    )


def sample_assessment_result(
    request: ent.AssessmentRequest, *, seed: int = 0, assessors: int = 2, today: date | None = None,
) -> ent.AssessmentResult:
    """The ASSESSMENT_RESULT answering `request`, from its residence city: assessed 1–20 days after the request
    (never after today), confirmed by `assessors` experts, valid 2 years less a day."""
    rng = random.Random(zlib.crc32(f"{request.serial}{seed}".encode()))
    now = today or _today()
    assessed = min(request.requested_at + timedelta(days=rng.randint(1, 20)), max(now, request.requested_at))
    reported = min(assessed + timedelta(days=rng.randint(0, 3)), max(now, assessed))
    residence, insured = request.residence_city, request.insured_city
    yyyymm = request.period.replace("-", "")
    return ent.AssessmentResult(
        serial=_serial("AS", residence, insured, yyyymm, seed),
        period=request.period,
        insured_city=insured,
        residence_city=residence,
        request_serial=request.serial,
        id_type=request.id_type,
        id_number=request.id_number,
        name=request.name,
        sex=request.sex,
        disability_level=rng.choice("345"),
        assessed_at=assessed,
        valid_until=ent.validity_limit(assessed) - timedelta(days=1),
        method=rng.choice(("onsite", "video")),
        assessment_org=f"{area_name(residence)}长期护理保险失能评估中心",
        assessors=[ent.Assessor(_random_name(rng), f"PG{residence}{rng.randint(100, 999)}{n}") for n in range(assessors)],
        conclusion="经评估专家评估确认，符合长期护理保险失能等级评估标准",
        reported_by=_random_name(rng),
        unit=_agency(residence),
        reported_at=reported,
    )


def sample_entitlement(
    type: MessageType | str, sender: str, receiver: str, period: str, *, seed: int = 0, kind: str | None = None,
    today: date | None = None,
) -> ent.EntitlementDocument:
    """A sample entitlement document of `type` from `sender` to `receiver` (in its direction) for `period`.
    `kind`: ENTITLEMENT start|change|end, CHANGE_FILING assignment|change. An ASSESSMENT_RESULT answers the
    ASSESSMENT_REQUEST of the same seed (receiver → sender)."""
    kind_of = MessageType(type)
    if sender == receiver:
        raise ValueError("an entitlement document goes between two different cities")
    if kind_of is MessageType.ENTITLEMENT:
        return sample_entitlement_notice(sender, receiver, period, seed=seed, kind=kind or ent.START, today=today)
    if kind_of is MessageType.CHANGE_FILING:
        return sample_change_filing(sender, receiver, period, seed=seed, kind=kind or ent.ASSIGNMENT, today=today)
    if kind_of is MessageType.ASSESSMENT_REQUEST:
        return sample_assessment_request(sender, receiver, period, seed=seed, today=today)
    if kind_of is MessageType.ASSESSMENT_RESULT:
        request = sample_assessment_request(receiver, sender, period, seed=seed, today=today)
        return sample_assessment_result(request, seed=seed, today=today)
    raise ValueError(f"{kind_of} is not an entitlement document")


def notice_for(statement: PersonStatement, *, seed: int = 0, start: date | None = None,
               today: date | None = None) -> ent.EntitlementNotice:
    """The ENTITLEMENT (Kind start) of the person of a sample statement (附件2): the statement's cities, person,
    scheme, level, care type and facility, entitled from `start` (default: the first day of its month) on a
    conclusion of 20–40 days before."""
    rng = random.Random(zlib.crc32(f"{statement.serial}{statement.id_number}{seed}".encode()))
    now = today or _today()
    year, month = (int(x) for x in statement.period.split("-"))
    start = start or date(year, month, 1)
    assessed = min(start - timedelta(days=rng.randint(20, 40)), now)
    return ent.EntitlementNotice(
        serial=_serial("EN", statement.serial),  # unique within the pair, as the statement's 流水号 is
        period=f"{start:%Y-%m}",
        insured_city=statement.insured_city,
        residence_city=statement.residence_city,
        kind=ent.START,
        id_type=statement.id_type,
        id_number=statement.id_number,
        name=statement.name,
        sex=statement.sex,
        person_category=statement.person_category,
        disability_level=statement.disability_level,
        assessed_at=assessed,
        valid_until=ent.validity_limit(assessed) - timedelta(days=1),
        service_types=[statement.service_type],
        start_date=start,
        facilities=[ent.Facility(ent.CARE, statement.facility_code, statement.facility_name)],
        end=None,
        issued_by=_random_name(rng),
        unit=_agency(statement.insured_city),
        issued_at=min(start - timedelta(days=2), now),
    )


def filing_for(notice: ent.EntitlementNotice, *, seed: int = 0, today: date | None = None) -> ent.ChangeFiling:
    """The residence city's 派单 filing for `notice`: its facilities (or the residence city's first sample
    facility) and care types, from its start."""
    rng = random.Random(zlib.crc32(f"{notice.serial}{seed}".encode()))
    facilities = [f for f in notice.facilities if f.role == ent.CARE][:1] or [_facility(notice.residence_city, 0)]
    return ent.ChangeFiling(
        serial=_serial("CF", notice.serial.removeprefix("EN-")),
        period=notice.period,
        insured_city=notice.insured_city,
        residence_city=notice.residence_city,
        kind=ent.ASSIGNMENT,
        entitlement_serial=notice.serial,
        id_type=notice.id_type,
        id_number=notice.id_number,
        name=notice.name,
        effective_from=notice.start_date,
        service_types=list(notice.service_types),
        facilities=facilities,
        reason="参保人员自主选择定点长护服务机构，居住地经办机构派单",
        filed_by=_random_name(rng),
        unit=_agency(notice.residence_city),
        filed_at=min(notice.issued_at + timedelta(days=1), today or _today()),
    )
