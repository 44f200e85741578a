"""Realistic sample documents: for tests, demos, benchmarks and cities trying the kit.

One claim is built from (residence city, insured city, period, seed, persons): facilities of the residence
city, elderly people insured in the insured city with valid identity numbers, amounts under an insured-city
policy (a fund share of 70–90%), dates within the month. Each attachment type is a view of that one claim,
so a sample A4 settles exactly the sample A3 of the same seed, and an A5 follows that A4. Every sample passes
the schema and every rule. Arithmetic is in integer 分 so that 100,000 persons take seconds.
"""

from __future__ import annotations

import calendar
import random
import zlib
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from gateway.domain import settlement as m
from gateway.domain.amounts import amount_in_words
from gateway.domain.areas import area_name
from gateway.domain.codes import DEFAULT_SERVICE_TYPES
from gateway.domain.envelope import Header, MessageType
from gateway.domain.idnumber import make_id_number
from gateway.domain.deadlines import CHINA_TIME

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
_GIVEN = "秀英桂兰玉凤珍淑芳华明志强建国德文海军红梅云霞春生福荣美丽宝山金花长林永庆玉兰振华秀珍淑英翠凤立新国华"
# Daily rates (yuan) by care-service type: a facility's nursing day costs more than a home visit.
_DAILY_FEN = {"01": 5000, "02": 6000, "03": 18000, "04": 10000, "05": 4000, "06": 500}
_FACILITY_KINDS = ("康宁护理院", "颐和医养中心", "仁爱护理站", "福寿养老服务中心", "安康日间照料中心", "长青护理院")
_DEDUCTION_REASON = "护理服务记录缺失，按日定额扣减"
_SUPPLEMENT_REASON = "上月漏报的护理天数，经核实补拨"
_CENTS = Decimal(1).scaleb(-2)


def _yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def _random_name(rng: random.Random) -> str:
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.8 else "")
    return rng.choice(_SURNAMES) + given


def _serial(*parts: object) -> str:
    return "-".join(str(p) for p in parts)


class _Builder:
    """Builds the one claim all attachment types of a sample are views of."""

    def __init__(self, residence: str, insured: str, period: str, seed: int, persons: int, facilities: int):
        self.residence, self.insured, self.period, self.seed = residence, insured, period, seed
        self.rng = random.Random(zlib.crc32(f"{residence}{insured}{period}{seed}".encode()))
        year, month = (int(x) for x in period.split("-"))
        self.first = date(year, month, 1)
        self.last = date(year, month, calendar.monthrange(year, month)[1])
        self.next_month = self.last + timedelta(days=1)
        self.month2 = (self.next_month + timedelta(days=31)).replace(day=1)
        self.yyyymm = f"{year:04d}{month:02d}"
        # The insured city's policy: its fund share per scheme, steady across seeds.
        policy = random.Random(zlib.crc32(insured.encode()))
        self.share = {m.EMPLOYEE: policy.randint(80, 90), m.RESIDENT: policy.randint(70, 80)}
        self.facilities = [self._facility(k) for k in range(facilities)]
        self.statements = [self._statement(n) for n in range(persons)]

    def _name(self, rng: random.Random) -> str:
        return _random_name(rng)

    def _facility(self, k: int) -> tuple[str, str, str | None, tuple[str, ...]]:
        city = area_name(self.residence)
        kind = _FACILITY_KINDS[k % len(_FACILITY_KINDS)]
        name = f"{city}{kind}" + (f"第{k // len(_FACILITY_KINDS) + 1}分院" if k >= len(_FACILITY_KINDS) else "")
        types = tuple(sorted(self.rng.sample(sorted(DEFAULT_SERVICE_TYPES), self.rng.randint(1, 3))))
        level = self.rng.choice(("1", "2", "3", "9", None))
        return f"L{self.residence}{k + 1:05d}", name, level, types

    def _statement(self, n: int) -> m.PersonStatement:
        rng = self.rng
        code, facility_name, level, types = self.facilities[n % len(self.facilities)]
        service = rng.choice(types)
        category = m.EMPLOYEE if rng.random() < 0.55 else m.RESIDENT
        sex = rng.choice("12")
        birth = date(rng.randint(1930, 1960), rng.randint(1, 12), rng.randint(1, 28))
        sequence = rng.randrange(0, 500) * 2 + (1 if sex == "1" else 0)
        area = self.insured[:4] + rng.choice(("02", "03", "04", "05", "21", "22", "81", "83"))
        start = self.first if rng.random() < 0.8 else self.first + timedelta(days=rng.randint(1, 20))
        end = self.last if rng.random() < 0.85 else start + timedelta(days=rng.randint(0, (self.last - start).days))
        span = (end - start).days + 1
        days = span - (rng.randint(1, min(3, span)) if span > 3 and rng.random() < 0.1 else 0)
        total = _DAILY_FEN[service] * days + rng.randrange(0, 100) * (days > 0)
        self_paid = total * rng.randint(0, 8) // 100
        covered = total - self_paid
        fund = covered * self.share[category] // 100
        co_pay = covered - fund
        return m.PersonStatement(
            facility_code=code,
            facility_name=facility_name,
            facility_level=level,
            serial=_serial("S", self.yyyymm, self.seed, f"{n + 1:06d}"),
            period=self.period,
            name=self._name(rng),
            sex=sex,
            id_type="01",
            id_number=make_id_number(area, birth, sequence),
            person_category=category,
            disability_level=rng.choice("345"),
            insured_city=self.insured,
            residence_city=self.residence,
            service_type=service,
            start_date=start,
            end_date=end,
            benefit_days=days,
            total_cost=_yuan(total),
            self_paid=_yuan(self_paid),
            covered=_yuan(covered),
            fund_paid=_yuan(fund),
            co_pay=_yuan(co_pay),
            personal_burden=_yuan(self_paid + co_pay),
            prepared_by_unit=facility_name,
            prepared_at=self.next_month + timedelta(days=9),
        )

    def _clerk(self) -> str:
        return self._name(self.rng)

    def facility_claims(self) -> list[m.FacilityClaim]:
        groups: dict[str, dict[str, dict[str, list[m.PersonStatement]]]] = {}
        for s in self.statements:
            groups.setdefault(s.facility_code, {}).setdefault(s.person_category, {}).setdefault(
                s.service_type, []
            ).append(s)
        claims = []
        for code, facility_name, _level, _types in self.facilities:
            if code not in groups:
                continue
            schemes = []
            for category in sorted(groups[code]):
                lines = [_claim_row(t, ss) for t, ss in sorted(groups[code][category].items())]
                schemes.append(m.ClaimScheme(category, lines, _claim_row(None, lines)))
            claims.append(
                m.FacilityClaim(
                    facility_code=code,
                    facility_name=facility_name,
                    serial=_serial("F", code, self.yyyymm, self.seed),
                    period=self.period,
                    schemes=schemes,
                    prepared_by=self._clerk(),
                    reviewed_by=self._clerk(),
                    prepared_by_unit=facility_name,
                    prepared_at=self.next_month + timedelta(days=9),
                )
            )
        return claims

    def city_claim(self) -> m.CityClaim:
        claims = self.facility_claims()
        totals = [scheme.total for claim in claims for scheme in claim.schemes]
        agency = area_name(self.residence) + "医疗保障事业中心"
        return m.CityClaim(
            agency_code=f"A{self.residence}",
            agency_name=agency,
            serial=_serial("A3", self.residence, self.insured, self.yyyymm, self.seed),
            period=self.period,
            residence_city=self.residence,
            insured_city=self.insured,
            totals=_claim_row(None, totals),
            first_reviewer=self._clerk(),
            reviewer=self._clerk(),
            checker=self._clerk(),
            prepared_by_unit=agency,
            prepared_at=self.month2 - timedelta(days=2),
            facility_claims=claims,
            statements=self.statements,
        )

    def adjustments(self) -> list[m.Adjustment]:
        """A few deductions (and, for some seeds, one supplement) on persons of the claim."""
        rng = random.Random(self.seed)
        count = max(1, len(self.statements) // 50) if self.statements else 0
        chosen = rng.sample(self.statements, count)
        adjustments = [
            m.Adjustment(s.serial, s.id_number, _yuan(int(s.fund_paid * 100) // 10), _CENTS * 0, _DEDUCTION_REASON)
            for s in chosen
        ]
        if self.seed % 3 == 1 and self.statements:
            s = self.statements[-1]
            adjustments.append(m.Adjustment(s.serial, s.id_number, _yuan(0), _yuan(2000), _SUPPLEMENT_REASON))
        return adjustments

    def city_settlement(self) -> m.CitySettlement:
        claim = self.city_claim()
        adjustments = self.adjustments()
        deducted = sum((a.deducted for a in adjustments), _yuan(0))
        supplemented = sum((a.supplemented for a in adjustments), _yuan(0))
        agency = area_name(self.insured) + "医疗保障事业中心"
        return m.CitySettlement(
            agency_code=f"A{self.insured}",
            agency_name=agency,
            serial=_serial("A4", self.insured, self.residence, self.yyyymm, self.seed),
            period=self.period,
            claim_serial=claim.serial,
            insured_city=self.insured,
            residence_city=self.residence,
            totals=_settled_row(None, claim.totals, deducted, supplemented, words=True),
            deduction_note=_note(deducted, _DEDUCTION_REASON, adjustments, "deducted"),
            supplement_note=_note(supplemented, _SUPPLEMENT_REASON, adjustments, "supplemented"),
            residence_sign_off=m.SignOff(self._clerk(), self._clerk(), self._clerk(), claim.agency_name),
            insured_sign_off=m.SignOff(self._clerk(), self._clerk(), self._clerk(), agency),
            prepared_at=self.month2 + timedelta(days=2),
            adjustments=adjustments,
        )

    def facility_settlement(self) -> m.FacilitySettlement:
        settlement = self.city_settlement()
        claim = self.facility_claims()[0]
        by_serial: dict[str, list[m.Adjustment]] = defaultdict(list)
        for a in settlement.adjustments or ():
            by_serial[a.statement_serial].append(a)
        adjusted: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [_yuan(0), _yuan(0)])
        for s in self.statements:
            for a in by_serial.get(s.serial, ()):
                if s.facility_code == claim.facility_code:
                    key = adjusted[(s.person_category, s.service_type)]
                    key[0] += a.deducted
                    key[1] += a.supplemented
        schemes = []
        for scheme in claim.schemes:
            lines = [
                _settled_row(row.service_type, row, *adjusted.get((scheme.category, row.service_type), (0, 0)))
                for row in scheme.lines
            ]
            total = _settled_row(
                None, scheme.total, sum((r.deducted for r in lines), _yuan(0)),
                sum((r.supplemented for r in lines), _yuan(0)), words=True,
            )
            schemes.append(m.SettledScheme(scheme.category, lines, total))
        deducted = sum((s.total.deducted for s in schemes), _yuan(0))
        supplemented = sum((s.total.supplemented for s in schemes), _yuan(0))
        agency = settlement.residence_sign_off.unit
        return m.FacilitySettlement(
            facility_code=claim.facility_code,
            facility_name=claim.facility_name,
            serial=_serial("A5", claim.facility_code, self.yyyymm, self.seed),
            period=self.period,
            insured_city=self.insured,
            settlement_serial=settlement.serial,
            schemes=schemes,
            deduction_note=_DEDUCTION_REASON if deducted else None,
            supplement_note=_SUPPLEMENT_REASON if supplemented else None,
            first_reviewer=self._clerk(),
            reviewer=self._clerk(),
            checker=self._clerk(),
            prepared_by_unit=agency,
            prepared_at=self.month2 + timedelta(days=5),
        )


def _claim_row(service_type: str | None, items: list) -> m.ClaimRow:
    """The claim column summing statements (when `service_type` is given) or other columns (a total)."""
    if service_type is not None:
        visits, days = len(items), sum(s.benefit_days for s in items)
        claimed = sum(s.fund_paid for s in items)
    else:
        visits, days = sum(r.visits for r in items), sum(r.days for r in items)
        claimed = sum(r.claimed for r in items)
    claimed = _yuan(0) + claimed
    return m.ClaimRow(
        service_type=service_type,
        visits=visits,
        days=days,
        total_cost=_yuan(0) + sum(i.total_cost for i in items),
        self_paid=_yuan(0) + sum(i.self_paid for i in items),
        covered=_yuan(0) + sum(i.covered for i in items),
        co_pay=_yuan(0) + sum(i.co_pay for i in items),
        claimed=claimed,
        claimed_in_words=amount_in_words(claimed),
    )


def _settled_row(service_type, row, deducted, supplemented, words: bool = False) -> m.SettledRow:
    deducted, supplemented = _yuan(0) + deducted, _yuan(0) + supplemented
    paid = row.claimed - deducted + supplemented
    return m.SettledRow(
        service_type=service_type,
        visits=row.visits,
        days=row.days,
        total_cost=row.total_cost,
        self_paid=row.self_paid,
        covered=row.covered,
        co_pay=row.co_pay,
        claimed=row.claimed,
        deducted=deducted,
        supplemented=supplemented,
        paid=paid,
        paid_in_words=amount_in_words(paid) if words else None,
    )


def _note(amount: Decimal, reason: str, adjustments: list[m.Adjustment], attr: str) -> str | None:
    if not amount:
        return None
    count = sum(1 for a in adjustments if getattr(a, attr))
    return f"{reason}，共{count}人次，合计{amount}元"


def sample_document(
    type: MessageType | str, sender: str, receiver: str, period: str, *, persons: int = 10, seed: int = 0
) -> m.Attachment:
    """A sample attachment of `type` from `sender` to `receiver` for service month `period` (YYYY-MM).

    A1: one facility's claim for `persons` persons; A2: one statement; A3: `persons` statements across a few
    facilities; A4: the settlement of the A3 of the same seed; A5: the settlement of its first facility."""
    kind = MessageType(type)
    if not kind.is_attachment:
        raise ValueError(f"{kind} is not an attachment")
    residence, insured = (receiver, sender) if kind is MessageType.A4 else (sender, receiver)
    if residence == insured:
        raise ValueError("a settlement document goes between two different cities")
    if kind is MessageType.A1:
        facilities = 1
    else:
        facilities = max(1, min(persons // 3, 3 + persons // 500, 200))
    builder = _Builder(residence, insured, period, seed, max(1, persons), facilities)
    if kind is MessageType.A1:
        return builder.facility_claims()[0]
    if kind is MessageType.A2:
        return builder.statements[0]
    if kind is MessageType.A3:
        return builder.city_claim()
    if kind is MessageType.A4:
        return builder.city_settlement()
    return builder.facility_settlement()


def sample_bytes(
    type: MessageType | str, sender: str, receiver: str, period: str, *, persons: int = 10, seed: int = 0
) -> bytes:
    """The sample document alone as UTF-8 XML (no envelope)."""
    from gateway.documents.writer import to_bytes

    return to_bytes(sample_document(type, sender, receiver, period, persons=persons, seed=seed))


# --- disputes (第三十一条) -----------------------------------------------------------------------------------

_DISPUTE_REASONS = {
    MessageType.A1: "机构申请金额与个人结算单合计不符",
    MessageType.A2: "该人员本月已在参保地结算，重复申请",
    MessageType.A3: "部分人员护理服务记录缺失，申请拨付金额偏高",
    MessageType.A4: "审核扣款依据不足，请核实后补拨",
    MessageType.A5: "机构结算金额与市结算单调整不一致",
}


def _disputed_figures(document: m.Attachment) -> tuple[str, Decimal, list[str], str | None]:
    """(subject, the amount the document states, statements concerned, facility) of a disputed document."""
    if isinstance(document, m.PersonStatement):
        return m.SUBJECT_PERSON, document.fund_paid, [document.serial], None
    if isinstance(document, m.CityClaim):
        return m.SUBJECT_AMOUNT, document.totals.claimed, [s.serial for s in document.statements[:2]], None
    if isinstance(document, m.CitySettlement):
        serials = [a.statement_serial for a in (document.adjustments or [])[:2]]
        return m.SUBJECT_AMOUNT, document.totals.paid, serials, None
    if isinstance(document, m.FacilityClaim):
        return m.SUBJECT_FACILITY, sum((s.total.claimed for s in document.schemes), _yuan(0)), [], document.facility_code
    return (m.SUBJECT_FACILITY, sum((s.total.paid for s in document.schemes), _yuan(0)), [],
            document.facility_code)


def sample_application(disputed: m.Attachment, applicant: str, applied_on: date) -> m.DisputeApplication:
    """第三十一条: the first person of the disputed document (an A2, or an A3's first statement) or its facility
    applied to the residence agency on `applied_on`."""
    if applicant == m.APPLICANT_PERSON:
        statement = disputed if isinstance(disputed, m.PersonStatement) else next(
            iter(getattr(disputed, "statements", None) or ()), None)
        if statement is None:
            raise ValueError(f"an {disputed.type.value} names no person: a person's application is about an A2 or A3")
        return m.DisputeApplication(m.APPLICANT_PERSON, statement.id_type, statement.id_number, None, None, applied_on)
    code, name = _facility_of(disputed)
    return m.DisputeApplication(m.APPLICANT_FACILITY, None, None, code, name, applied_on)


def _facility_of(document: m.Attachment) -> tuple[str, str]:
    if isinstance(document, (m.FacilityClaim, m.FacilitySettlement, m.PersonStatement)):
        return document.facility_code, document.facility_name
    claims = getattr(document, "facility_claims", None) or []
    if claims:
        return claims[0].facility_code, claims[0].facility_name
    if isinstance(document, m.CitySettlement) and document.adjustments:
        raise ValueError("an A4 names no facility: a facility's application is about an A1, A2, A3 or A5")
    raise ValueError(f"an {document.type.value} names no facility")


def sample_dispute_result(dispute: m.Dispute, *, outcome: str = m.PARTIALLY_ACCEPTED, seed: int = 0,
                          answered_on: date | None = None) -> m.DisputeResult:
    """A sample DISPUTE_RESULT (第三十一条): the residence agency that raised `dispute` answered the applicant."""
    rng = random.Random(zlib.crc32(f"{dispute.serial}R{seed}".encode()))
    corrected = {
        m.ACCEPTED: dispute.expected,
        m.PARTIALLY_ACCEPTED: ((dispute.expected + dispute.stated) / 2).quantize(_CENTS),
        m.REJECTED: None,
    }[outcome]
    return m.DisputeResult(
        serial=_serial("DR", dispute.residence_city, dispute.period.replace("-", ""), seed),
        period=dispute.period,
        residence_city=dispute.residence_city,
        insured_city=dispute.insured_city,
        dispute_serial=dispute.serial,
        outcome=outcome,
        corrected_amount=corrected,
        explanation="经居住地、参保地经办机构协同审查核实，已向申请人反馈结果",
        answered_on=answered_on or _china_today(),
        answered_by=_random_name(rng),
        unit=area_name(dispute.residence_city) + "医疗保障事业中心",
    )


def sample_dispute(disputed: m.Attachment, about: Header, sender: str, *, seed: int = 0,
                   raised_at: date | None = None, applicant: str | None = None,
                   applied_on: date | None = None) -> m.Dispute:
    """A sample DISPUTE by `sender` (either city of message `about`, which carried `disputed`): an amount 1–10%
    below what the document states (a person for an A2, a facility for an A1 or A5), statements by 流水号."""
    if sender not in (about.sender, about.receiver):
        raise ValueError(f"{sender} is not a city of the disputed message ({about.sender} -> {about.receiver})")
    rng = random.Random(zlib.crc32(f"{disputed.serial}{sender}{seed}".encode()))
    subject, stated, statements, facility = _disputed_figures(disputed)
    stated_fen = int(stated * 100)
    expected = _yuan(stated_fen - max(1, stated_fen * rng.randint(1, 10) // 100)) if stated_fen else _yuan(100)
    return m.Dispute(
        serial=_serial("D", sender, disputed.period.replace("-", ""), seed),
        period=disputed.period,
        residence_city=about.residence_city,
        insured_city=about.insured_city,
        disputed_type=disputed.type.value,
        disputed_serial=disputed.serial,
        subject=subject,
        facility_code=facility,
        expected=expected,
        stated=stated,
        explanation=_DISPUTE_REASONS[disputed.type],
        statement_serials=statements,
        raised_by=_random_name(rng),
        unit=area_name(sender) + "医疗保障事业中心",
        raised_at=raised_at or _china_today(),
        application=None if applicant is None else sample_application(
            disputed, applicant, applied_on or raised_at or _china_today()),
    )


def sample_dispute_answer(dispute: m.Dispute, sender: str, *, outcome: str = m.PARTIALLY_ACCEPTED,
                          seed: int = 0, answered_at: date | None = None) -> m.DisputeAnswer:
    """A sample DISPUTE_ANSWER by `sender` (the city that received `dispute`): accepted agrees to the expected
    amount, partially accepted to the midpoint, rejected corrects nothing."""
    rng = random.Random(zlib.crc32(f"{dispute.serial}{sender}{seed}".encode()))
    corrected = {
        m.ACCEPTED: dispute.expected,
        m.PARTIALLY_ACCEPTED: ((dispute.expected + dispute.stated) / 2).quantize(_CENTS),
        m.REJECTED: None,
    }[outcome]
    explanation = {
        m.ACCEPTED: "经核实，同意争议意见，按争议金额更正",
        m.PARTIALLY_ACCEPTED: "经核实，部分同意，按核定金额更正",
        m.REJECTED: "经核实，原单据无误，维持原结算",
    }[outcome]
    return m.DisputeAnswer(
        serial=_serial("DA", sender, dispute.period.replace("-", ""), seed),
        period=dispute.period,
        residence_city=dispute.residence_city,
        insured_city=dispute.insured_city,
        dispute_serial=dispute.serial,
        outcome=outcome,
        corrected_amount=corrected,
        correction_serial=None,
        explanation=explanation,
        answered_by=_random_name(rng),
        unit=area_name(sender) + "医疗保障事业中心",
        answered_at=answered_at or _china_today(),
    )


def sample_withdrawal(withdrawn: m.Attachment, about: Header, *, seed: int = 0,
                      withdrawn_at: date | None = None) -> m.Withdrawal:
    """A sample WITHDRAWAL (撤销) of message `about` (which carried `withdrawn`), by its sender."""
    rng = random.Random(zlib.crc32(f"{withdrawn.serial}{about.sender}{seed}W".encode()))
    return m.Withdrawal(
        serial=_serial("W", about.sender, withdrawn.period.replace("-", ""), seed),
        period=withdrawn.period,
        residence_city=about.residence_city,
        insured_city=about.insured_city,
        withdrawn_type=withdrawn.type.value,
        withdrawn_serial=withdrawn.serial,
        withdrawn_revision=about.revision,
        reason="误发：单据重复生成，予以撤销",
        withdrawn_by=_random_name(rng),
        unit=area_name(about.sender) + "医疗保障事业中心",
        withdrawn_at=withdrawn_at or _china_today(),
    )


# --- the money (第二十六条 payment, 第二十九条 refund of recovered fees) ------------------------------------------

_REFUND_REASON = "经稽核，该机构虚报护理服务天数，已追回违规费用"


def _agency(city: str) -> str:
    return area_name(city) + "医疗保障事业中心"


def sample_payment(settlement: m.CitySettlement, *, seed: int = 0, value_date: date | None = None) -> m.PaymentAdvice:
    """A sample PAYMENT: the insured city pays the residence city the 实拨金额 of `settlement` in full."""
    rng = random.Random(zlib.crc32(f"P{settlement.serial}{seed}".encode()))
    day = value_date or _china_today()
    paid = settlement.totals.paid
    return m.PaymentAdvice(
        serial=_serial("P", settlement.insured_city, settlement.residence_city, settlement.period.replace("-", ""),
                       seed),
        period=settlement.period,
        insured_city=settlement.insured_city,
        residence_city=settlement.residence_city,
        amount=paid,
        value_date=day,
        payer_reference=f"FK{day:%Y%m%d}{rng.randrange(10**6):06d}",
        payee_reference=None,
        settlements=[m.SettlementRef(settlement.serial, settlement.period, paid)],
        note=f"拨付{settlement.period}省内异地长护费用（{amount_in_words(paid)}）",
        prepared_by=_random_name(rng),
        unit=_agency(settlement.insured_city),
        prepared_at=day,
    )


def sample_refund(claim: m.CityClaim, settlement: m.CitySettlement, *, seed: int = 0, persons: int = 2,
                  value_date: date | None = None) -> m.RecoveryRefund:
    """A sample REFUND: fees recovered from the claim's first facility for a few of its persons (half of what
    the fund paid each), returned to the insured city, correcting `settlement`."""
    rng = random.Random(zlib.crc32(f"R{settlement.serial}{seed}".encode()))
    facility = claim.facility_claims[0]
    ones = [s for s in claim.statements if s.facility_code == facility.facility_code and s.fund_paid >= _CENTS * 2]
    items = [
        m.RecoveredFee(s.name, s.id_type, s.id_number, s.period, _yuan(int(s.fund_paid * 100) // 2), s.serial)
        for s in ones[:max(1, persons)]
    ]
    day = value_date or _china_today()
    return m.RecoveryRefund(
        serial=_serial("R", claim.residence_city, claim.insured_city, claim.period.replace("-", ""), seed),
        period=claim.period,
        residence_city=claim.residence_city,
        insured_city=claim.insured_city,
        facility_code=facility.facility_code,
        facility_name=facility.facility_name,
        items=items,
        total=sum((i.amount for i in items), _yuan(0)),
        reason=_REFUND_REASON,
        settlements=[m.SettlementRef(settlement.serial, settlement.period)],
        value_date=day,
        payer_reference=f"TK{day:%Y%m%d}{rng.randrange(10**6):06d}",
        prepared_by=_random_name(rng),
        unit=_agency(claim.residence_city),
        prepared_at=day,
    )


def sample_money(type: MessageType | str, sender: str, receiver: str, period: str, *, persons: int = 10,
                 seed: int = 0, value_date: date | None = None) -> m.MoneyDocument:
    """The PAYMENT (by the insured city `sender`) or REFUND (by the residence city `sender`) that follows the
    sample A3/A4 of the same cities, month, persons and seed."""
    kind = MessageType(type)
    if not kind.is_money:
        raise ValueError(f"{kind} is not a payment or a refund")
    insured, residence = (sender, receiver) if kind is MessageType.PAYMENT else (receiver, sender)
    settlement = sample_document(MessageType.A4, insured, residence, period, persons=persons, seed=seed)
    if kind is MessageType.PAYMENT:
        return sample_payment(settlement, seed=seed, value_date=value_date)
    claim = sample_document(MessageType.A3, residence, insured, period, persons=persons, seed=seed)
    return sample_refund(claim, settlement, seed=seed, value_date=value_date)


# --- claims of chosen statements: late fees (补报) and nil claims (零申报), issue 12 ---------------------------

def _builder_of(residence: str, insured: str, period: str, statements: list[m.PersonStatement], seed: int) -> _Builder:
    builder = _Builder(residence, insured, period, seed, 0, 1)
    builder.statements = list(statements)
    facilities: dict[str, tuple[str, str, str | None, tuple[str, ...]]] = {}
    for s in statements:
        facilities.setdefault(s.facility_code, (s.facility_code, s.facility_name, s.facility_level, ()))
    builder.facilities = list(facilities.values())
    return builder


def sample_claim_of(residence: str, insured: str, period: str, statements: list[m.PersonStatement], *,
                    seed: int = 0) -> m.CityClaim:
    """The claim (附件3) of `period` carrying exactly `statements` (with their A1 forms and totals): statements of an
    earlier month must be marked late (补报, `late=True`); none at all makes a nil claim (零申报)."""
    claim = _builder_of(residence, insured, period, statements, seed).city_claim()
    if not statements:
        claim.nil = True
    return claim


def sample_settlement_of(residence: str, insured: str, period: str, statements: list[m.PersonStatement], *,
                         seed: int = 0) -> m.CitySettlement:
    """The settlement (附件4) of `sample_claim_of` with the same arguments."""
    return _builder_of(residence, insured, period, statements, seed).city_settlement()


def sample_nil_claim(residence: str, insured: str, period: str, *, seed: int = 0) -> m.CityClaim:
    """零申报: `residence` has no fees for `insured` in `period`."""
    return sample_claim_of(residence, insured, period, [], seed=seed)


def _china_today() -> date:
    """Today where the documents are made: a date in a document is a day in China (UTC+8), whatever the
    machine's own time zone."""
    return datetime.now(CHINA_TIME).date()
