"""The entitlement documents as plain data: who is entitled to care where (第十条, 第十五条, 第十七条).

Each document names one person. The insured city (参保地) notifies the residence city (居住地) of an
entitlement (EntitlementNotice: scheme, disability level, the assessment conclusion and its validity, the agreed
care-service types, the start), revises it (same 流水号, higher revision) and ends it (Kind end, with an end
date and reason); the residence city files the person's facilities and care types from a date (ChangeFiling:
派单, then 变更备案); the insured city may delegate the assessment (AssessmentRequest) and the residence city
answers with the conclusion (AssessmentResult).

`Arrangement` is what a register of entitlements keeps of a notice or a filing: the person's ID number, the
two cities, the days, the care types and the facilities. No I/O; the XML is gateway.documents' business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from gateway.domain.envelope import MessageType

# Kind of an EntitlementNotice.
START, CHANGE, END = "start", "change", "end"
NOTICE_KINDS: Mapping[str, str] = MappingProxyType({START: "开始享受", CHANGE: "变更", END: "终止"})

# Why an entitlement ends.
END_REASONS: Mapping[str, str] = MappingProxyType({
    "reassessed": "重新评估不再符合待遇享受条件",
    "death": "死亡",
    "moved": "居住地或参保地变更",
    "expired": "评估结论有效期届满",
    "other": "其他",
})
DEATH = "death"

# The two kinds of facility a person chooses in the residence city (第十五条): one of each at most.
CARE, DEVICE = "care", "device"
FACILITY_ROLES: Mapping[str, str] = MappingProxyType({CARE: "定点长护服务机构", DEVICE: "定点辅助器具租赁机构"})

# Kind of a ChangeFiling: the first facility (派单, 第十七条) or a change (变更备案, 第十五条).
ASSIGNMENT = "assignment"
FILING_KINDS: Mapping[str, str] = MappingProxyType({ASSIGNMENT: "派单", CHANGE: "变更备案"})

# Why the insured city asks for an assessment.
REQUEST_REASONS: Mapping[str, str] = MappingProxyType(
    {"first": "初次评估", "review": "复评", "reassessment": "重新评估"}
)
ASSESSMENT_METHODS: Mapping[str, str] = MappingProxyType({"onsite": "现场评估", "video": "线上视频评估"})

MAX_VALIDITY_YEARS = 2  # 第十条: 失能等级评估结论有效期一般不超过2年
MIN_ASSESSORS = 2  # 第十条: 评估结论应经过至少2名评估专家的评估确认


@dataclass(slots=True)
class Facility:
    """A facility the person is served by: its role (CARE or DEVICE), 机构编码 and 机构名称."""

    role: str
    code: str
    name: str
    line: int | None = None


@dataclass(slots=True)
class EntitlementEnd:
    """How an entitlement ends: the last day entitled (inclusive), the reason (END_REASONS), a note."""

    end_date: date
    reason: str
    note: str | None = None
    line: int | None = None


@dataclass(slots=True)
class Assessor:
    """One assessment expert (评估专家) who confirmed a conclusion."""

    name: str
    code: str | None = None  # 评估人员编号
    line: int | None = None


@dataclass(slots=True)
class EntitlementNotice:
    """ENTITLEMENT 待遇享受通知 (第十七条), insured city → residence city. `period` is the month the entitlement
    starts as first notified; its revisions keep `serial` and `period`."""

    serial: str
    period: str
    insured_city: str
    residence_city: str
    kind: str  # START | CHANGE | END
    id_type: str
    id_number: str
    name: str
    sex: str
    person_category: str  # 人员类别 = scheme: 1 职工, 2 居民
    disability_level: str
    assessed_at: date  # 评估结论日期
    valid_until: date  # 评估结论有效期至
    service_types: list[str]  # 商定的护理服务类型, the residence city's codes
    start_date: date
    facilities: list[Facility]  # the person's choice when known; the residence city assigns (派单)
    end: EntitlementEnd | None
    issued_by: str
    unit: str
    issued_at: date
    line: int | None = None

    type = MessageType.ENTITLEMENT

    @property
    def entitled_until(self) -> date:
        """The last day entitled: the end date of an ended entitlement, else the conclusion's validity."""
        return self.end.end_date if self.end is not None else self.valid_until


@dataclass(slots=True)
class ChangeFiling:
    """CHANGE_FILING 变更备案 (第十五条) or 派单 (第十七条), residence city → insured city: the person's whole
    arrangement from `effective_from` (one care facility, at most one assistive-device facility, care types)."""

    serial: str
    period: str  # the month of effective_from as first filed
    insured_city: str
    residence_city: str
    kind: str  # ASSIGNMENT | CHANGE
    entitlement_serial: str  # 流水号 of the EntitlementNotice it follows
    id_type: str
    id_number: str
    name: str
    effective_from: date
    service_types: list[str]
    facilities: list[Facility]
    reason: str | None  # 变更原因
    filed_by: str
    unit: str
    filed_at: date
    line: int | None = None

    type = MessageType.CHANGE_FILING

    def facility(self, role: str) -> Facility | None:
        """The first facility of `role` (the rules refuse a filing with two)."""
        return next((f for f in self.facilities if f.role == role), None)


@dataclass(slots=True)
class AssessmentRequest:
    """ASSESSMENT_REQUEST 委托评估 (第十条), insured city → residence city."""

    serial: str
    period: str  # the month of the request
    insured_city: str
    residence_city: str
    reason: str  # REQUEST_REASONS
    id_type: str
    id_number: str
    name: str
    sex: str
    person_category: str
    address: str | None  # 居住地址, for the visit
    phone: str | None
    note: str | None
    requested_by: str
    unit: str
    requested_at: date
    line: int | None = None

    type = MessageType.ASSESSMENT_REQUEST


@dataclass(slots=True)
class AssessmentResult:
    """ASSESSMENT_RESULT 委托评估结果 (第十条), residence city → insured city, answering the request
    `request_serial` (its `period` is the request's)."""

    serial: str
    period: str
    insured_city: str
    residence_city: str
    request_serial: str
    id_type: str
    id_number: str
    name: str
    sex: str
    disability_level: str
    assessed_at: date
    valid_until: date
    method: str  # ASSESSMENT_METHODS
    assessment_org: str  # 评估机构
    assessors: list[Assessor]
    conclusion: str | None  # 评估意见
    reported_by: str
    unit: str
    reported_at: date
    line: int | None = None

    type = MessageType.ASSESSMENT_RESULT


EntitlementDocument = EntitlementNotice | ChangeFiling | AssessmentRequest | AssessmentResult


@dataclass(frozen=True, slots=True)
class Arrangement:
    """What a register of entitlements keeps of one notice or filing: a person (by ID), the two cities, the
    days (`until` None: as long as the entitlement lasts), the care types and the facilities' codes. Names,
    sex and levels stay out: a register needs none of them (第三十五条)."""

    id_type: str
    id_number: str
    insured_city: str
    residence_city: str
    since: date
    until: date | None
    service_types: tuple[str, ...]
    care_facility: str | None
    device_facility: str | None
    entitlement_serial: str  # the notice this belongs to
    ended: bool = False


def arrangement(doc: EntitlementNotice | ChangeFiling) -> Arrangement:
    """The register's view of a notice (entitled from its start to its end or the conclusion's validity) or of a
    filing (the arrangement from its date on, within the entitlement it names)."""
    if isinstance(doc, EntitlementNotice):
        care = next((f.code for f in doc.facilities if f.role == CARE), None)
        device = next((f.code for f in doc.facilities if f.role == DEVICE), None)
        return Arrangement(
            doc.id_type, doc.id_number, doc.insured_city, doc.residence_city, doc.start_date, doc.entitled_until,
            tuple(doc.service_types), care, device, doc.serial, ended=doc.end is not None,
        )
    care_facility, device_facility = doc.facility(CARE), doc.facility(DEVICE)
    return Arrangement(
        doc.id_type, doc.id_number, doc.insured_city, doc.residence_city, doc.effective_from, None,
        tuple(doc.service_types), care_facility.code if care_facility else None,
        device_facility.code if device_facility else None, doc.entitlement_serial,
    )


def validity_limit(assessed_at: date) -> date:
    """The last day a conclusion of `assessed_at` may be valid: the same day MAX_VALIDITY_YEARS later (28 February
    for a conclusion of 29 February)."""
    year = assessed_at.year + MAX_VALIDITY_YEARS
    try:
        return assessed_at.replace(year=year)
    except ValueError:
        return assessed_at.replace(year=year, day=28)
