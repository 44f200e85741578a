"""Reconciliation of one month between two cities (规程 第二十八条: 对账信息不符 … 查明原因).

For each claim (A3, keyed by its residence city, insured city, month and 流水号):
- the settlement (A4) that names it must repeat its claim figures (总人次 … 申请拨付) and keep
  实拨 = 申请拨付 − 审核扣款 + 补拨;
- where the A4 lists per-person adjustments, they must add up to its 审核扣款 and 补拨, and each must name a
  statement (A2) of the claim, deduct no more than that statement claimed, and carry its ID number;
- the facility settlements (A5) that follow the A4 must add up to its figures, each facility's to the A1 it
  claimed and to the adjustments of its own statements.
And the money (第二十六条 payment, 第二十九条 refund): per claim, what was claimed, deducted, supplemented, settled
(实拨), paid by the insured city's payment advices (PAYMENT), returned by the residence city's refunds of
recovered fees (REFUND) and what is still outstanding, each figure with the documents it comes from; per person
where the refunds name statements; differences where a settlement is paid more than it settled, money names a
settlement not received, or a refund does not fit the statements it names.
Every difference says where it comes from (document, 流水号, field, statement position) and never carries a
name or ID number: the report goes to clerks of both cities, to CSV files and to logs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from gateway.domain.findings import Phrase
from gateway.domain.notes import Note, words
from gateway.domain.settlement import (
    CityClaim,
    CitySettlement,
    FacilityClaim,
    FacilitySettlement,
    PaymentAdvice,
    RecoveryRefund,
)

ZERO = Decimal("0.00")

# The figures shared by A3 and A4, with the form's words for them.
CLAIM_FIGURES: tuple[tuple[str, str], ...] = (
    ("visits", "总人次"),
    ("days", "总天数"),
    ("total_cost", "费用总额"),
    ("self_paid", "个人自费金额"),
    ("covered", "纳入统筹金额"),
    ("co_pay", "个人自付金额"),
    ("claimed", "申请拨付金额"),
)
SETTLEMENT_FIGURES: tuple[tuple[str, str], ...] = (
    ("deducted", "审核扣款金额"),
    ("supplemented", "补拨金额"),
    ("paid", "实拨金额"),
)
LABELS = dict(CLAIM_FIGURES + SETTLEMENT_FIGURES)


@dataclass(frozen=True, slots=True)
class Difference:
    """One mismatch: a stable code, where it was found, the two sides, and what it means for a clerk. Where and
    what are words with values (gateway.domain.notes), said in the reader's language: `where_text(lang)`,
    `text(lang)`; `where` and `message` are the English."""

    code: str  # "reconcile.<...>"
    place: Phrase  # e.g. "A4 S-2 vs A3 C-1: 申请拨付金额"
    expected: str | None
    actual: str | None
    said: Note

    @property
    def where(self) -> str:
        return self.place.render()

    @property
    def message(self) -> str:
        return self.said.message

    def where_text(self, lang: str) -> str:
        return Note("", self.place.template, **dict(self.place.params)).text(lang)

    def text(self, lang: str) -> str:
        return self.said.text(lang)

    def as_dict(self, lang: str | None = None) -> dict[str, object]:
        """"where" and "message" in `lang` (English without one); "template" and "params" to say it again."""
        return {"code": self.code, "where": self.where_text(lang) if lang else self.where, "expected": self.expected,
                "actual": self.actual, "message": self.text(lang) if lang else self.message,
                "template": self.said.template, "params": self.said.as_dict()["params"]}


@dataclass(frozen=True, slots=True)
class FigureLine:
    """One figure of the month side by side: the claim, the settlement, the facility settlements' sum."""

    name: str  # "claimed"
    label: str  # "申请拨付金额"
    claim: str | None
    settlement: str | None
    facility_settlements: str | None


@dataclass(frozen=True, slots=True)
class PersonLine:
    """One statement's fate: claimed (统筹支付), deducted, supplemented, paid. No name, no ID number."""

    position: int  # 1-based position of the A2 in the A3
    statement_serial: str
    facility_code: str
    claimed: Decimal
    deducted: Decimal
    supplemented: Decimal
    refunded: Decimal = ZERO  # fees recovered from the facility and returned to the insured city (第二十九条)

    @property
    def paid(self) -> Decimal:
        return self.claimed - self.deducted + self.supplemented


@dataclass(frozen=True, slots=True)
class FacilityLine:
    """One facility: what its A1 claimed, what the A4's adjustments of its statements imply, what its A5 says."""

    facility_code: str
    claimed: Decimal | None  # from its A1 in the A3
    adjusted_deducted: Decimal  # the A4 adjustments of its statements
    adjusted_supplemented: Decimal
    settlement_serial: str | None  # its A5
    settled_claimed: Decimal | None
    settled_deducted: Decimal | None
    settled_supplemented: Decimal | None
    settled_paid: Decimal | None


@dataclass(slots=True)
class Reconciliation:
    """The month of one city pair, for one claim (or one settlement/facility settlement without a claim)."""

    residence: str
    insured: str
    period: str
    claim_serial: str | None
    settlement_serial: str | None
    figures: list[FigureLine] = field(default_factory=list)
    persons: list[PersonLine] = field(default_factory=list)
    facilities: list[FacilityLine] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    money: MoneyLine | None = None  # the money of this claim's settlement (payments, refunds)
    # 补报 (第二十四条): statements of earlier months this claim carries, counted here (the cycle that claims
    # them), never in their own month's reconciliation; a nil claim (零申报) owes no settlement.
    late: dict[str, str] = field(default_factory=dict)  # service month -> 申请拨付 of its late statements
    late_statements: int = 0
    nil: bool = False

    @property
    def balanced(self) -> bool:
        return not self.differences

    def as_dict(self, lang: str | None = None) -> dict[str, object]:
        return {
            "residence": self.residence,
            "insured": self.insured,
            "period": self.period,
            "claim_serial": self.claim_serial,
            "settlement_serial": self.settlement_serial,
            "balanced": self.balanced,
            "figures": [vars_of(f) for f in self.figures],
            "persons": [{**vars_of(p), "paid": money(p.paid)} for p in self.persons],
            "facilities": [vars_of(f) for f in self.facilities],
            "differences": [d.as_dict(lang) for d in self.differences],
            "money": self.money.as_dict(lang) if self.money else None,
            "late": dict(self.late),
            "late_statements": self.late_statements,
            "nil": self.nil,
        }


@dataclass(frozen=True, slots=True)
class MoneyEntry:
    """One payment advice or refund, as far as one settlement's month goes: its 流水号, value date and the amount
    that counts here."""

    kind: str  # "PAYMENT" | "REFUND"
    serial: str
    value_date: str
    amount: Decimal


@dataclass(slots=True)
class MoneyLine:
    """The money of one claim and its settlement: each figure, and the documents it comes from."""

    claimed: Decimal | None  # A3 申请拨付金额
    deducted: Decimal | None  # A4 审核扣款金额
    supplemented: Decimal | None  # A4 补拨金额
    settled: Decimal | None  # A4 实拨金额: what the insured city owes
    paid: Decimal = ZERO  # the PAYMENT advices' parts for this settlement
    refunded: Decimal = ZERO  # the REFUNDs' items of this month naming this settlement
    payments: list[MoneyEntry] = field(default_factory=list)
    refunds: list[MoneyEntry] = field(default_factory=list)

    @property
    def outstanding(self) -> Decimal | None:
        """Still to be paid by the insured city (negative: paid more than settled). A refund does not change it:
        it is money going back for fees already paid, shown beside as `net_paid`."""
        return None if self.settled is None else self.settled - self.paid

    @property
    def net_paid(self) -> Decimal:
        return self.paid - self.refunded

    def sources(self, lang: str | None = None) -> dict[str, str]:
        """Where each figure comes from, for a clerk (in `lang`; English without one)."""
        def said(note: Note) -> str:
            return note.text(lang) if lang else note.message

        def listed(entries: list[MoneyEntry]) -> str:
            return " + ".join(f"{e.kind} {e.serial} ({e.value_date}) {money(e.amount)}" for e in entries) or said(
                Note("money.none", "none"))
        return {"paid": listed(self.payments), "refunded": listed(self.refunds),
                "outstanding": said(Note("money.outstanding", "实拨 {settled} - paid {paid}",
                                         settled=money(self.settled) or "-", paid=money(self.paid)))}

    def as_dict(self, lang: str | None = None) -> dict[str, object]:
        return {"claimed": money(self.claimed), "deducted": money(self.deducted),
                "supplemented": money(self.supplemented), "settled": money(self.settled), "paid": money(self.paid),
                "refunded": money(self.refunded), "outstanding": money(self.outstanding),
                "net_paid": money(self.net_paid), "sources": self.sources(lang),
                "payments": [vars_of(e) for e in self.payments], "refunds": [vars_of(e) for e in self.refunds]}


MONEY_FIGURES: tuple[tuple[str, str], ...] = (
    ("claimed", "申请拨付金额"), ("deducted", "审核扣款金额"), ("supplemented", "补拨金额"), ("settled", "实拨金额"),
    ("paid", "已拨付金额"), ("refunded", "追回退回金额"), ("outstanding", "未拨付金额"), ("net_paid", "净拨付金额"),
)


def money(value: Decimal | int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, int):
        return str(value)
    return f"{value.quantize(Decimal('0.01'))}"


def vars_of(item: object) -> dict[str, object]:
    """A slotted dataclass as a dict of printable values (amounts as strings with two decimals)."""
    out: dict[str, object] = {}
    for name in item.__slots__:  # type: ignore[attr-defined]
        value = getattr(item, name)
        out[name] = money(value) if isinstance(value, Decimal) else value
    return out


def _a1_total(claim: FacilityClaim) -> Decimal:
    return sum((scheme.total.claimed for scheme in claim.schemes), ZERO)


def _a5_sum(settlement: FacilitySettlement, name: str) -> Decimal | int:
    values = [getattr(scheme.total, name) for scheme in settlement.schemes]
    return sum(values, 0 if isinstance(values[0], int) else ZERO) if values else ZERO


class _Recorder:
    def __init__(self, report: Reconciliation) -> None:
        self.report = report

    def differ(self, code: str, where: Phrase, expected: object, actual: object, message: Phrase) -> None:
        self.report.differences.append(Difference(
            f"reconcile.{code}", where,
            money(expected) if isinstance(expected, (Decimal, int)) else expected,  # type: ignore[arg-type]
            money(actual) if isinstance(actual, (Decimal, int)) else actual,  # type: ignore[arg-type]
            Note(f"reconcile.{code}", message.template, **dict(message.params))))

    def compare(self, code: str, where: Phrase, expected: Decimal | int, actual: Decimal | int,
                message: Phrase) -> None:
        if expected != actual:
            self.differ(code, where, expected, actual, message)


def _check_claim_details(claim: CityClaim, rec: _Recorder) -> None:
    """The claim against its own details: the A2 statements and the A1 forms must add up to its 申请拨付."""
    serial = claim.serial
    if claim.statements:
        rec.compare("claim_statements", words("A3 {serial}: 申请拨付金额 vs 附件2 统筹支付金额", serial=serial),
                    claim.totals.claimed, sum((s.fund_paid for s in claim.statements), ZERO),
                    words("the statements' fund parts do not add up to the claim"))
        rec.compare("claim_statements", words("A3 {serial}: 总人次 vs 附件2", serial=serial), claim.totals.visits,
                    len(claim.statements), words("the claim's 总人次 is not its number of statements"))
    if claim.facility_claims:
        rec.compare("claim_facilities", words("A3 {serial}: 申请拨付金额 vs 附件1 合计", serial=serial),
                    claim.totals.claimed, sum((_a1_total(f) for f in claim.facility_claims), ZERO),
                    words("the facilities' claims do not add up to the city claim"))


def _check_settlement(claim: CityClaim | None, settlement: CitySettlement, rec: _Recorder) -> None:
    totals = settlement.totals
    rec.compare("paid_identity", words("A4 {serial}: 实拨金额", serial=settlement.serial),
                totals.claimed - totals.deducted + totals.supplemented, totals.paid,
                words("实拨 is not 申请拨付 − 审核扣款 + 补拨"))
    if claim is None:
        return
    for name, label in CLAIM_FIGURES:
        rec.compare("claim_figure", words("A4 {serial} vs A3 {claim}: {label}", serial=settlement.serial,
                                          claim=claim.serial, label=label),
                    getattr(claim.totals, name), getattr(totals, name),
                    words("the settlement does not repeat the claim's {label}", label=label))


def _persons(claim: CityClaim | None, settlement: CitySettlement | None, rec: _Recorder) -> list[PersonLine]:
    """Person by person, where the A4 lists adjustments: each names one of the claim's statements."""
    if settlement is None or settlement.adjustments is None:
        return []
    a4 = settlement.serial
    adjustments = settlement.adjustments
    rec.compare("adjustment_sum", words("A4 {serial}: 审核扣款金额 vs adjustments", serial=a4),
                settlement.totals.deducted, sum((a.deducted for a in adjustments), ZERO),
                words("the per-person deductions do not add up"))
    rec.compare("adjustment_sum", words("A4 {serial}: 补拨金额 vs adjustments", serial=a4),
                settlement.totals.supplemented, sum((a.supplemented for a in adjustments), ZERO),
                words("the per-person supplements do not add up"))
    if claim is None:
        return []
    by_serial = {s.serial: (position, s) for position, s in enumerate(claim.statements, start=1)}
    deducted: dict[str, Decimal] = defaultdict(lambda: ZERO)
    supplemented: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for number, adjustment in enumerate(adjustments, start=1):
        found = by_serial.get(adjustment.statement_serial)
        if found is None:
            rec.differ("unknown_statement", words("A4 {serial}: adjustment {n} (statement {statement})", serial=a4,
                                                  n=number, statement=adjustment.statement_serial),
                       None, adjustment.statement_serial,
                       words("no statement with this 流水号 in A3 {claim}", claim=claim.serial))
            continue
        position, statement = found
        if adjustment.id_number != statement.id_number:
            # Says that they differ, never what they are: ID numbers are personal data.
            rec.differ("adjustment_person", words("A4 {serial}: adjustment {n} (statement {statement}), A3 statement "
                                                  "{position}", serial=a4, n=number,
                                                  statement=adjustment.statement_serial, position=position),
                       None, None, words("the adjustment's ID number is not the statement's"))
        deducted[statement.serial] += adjustment.deducted
        supplemented[statement.serial] += adjustment.supplemented
    persons = []
    for serial in deducted:
        position, statement = by_serial[serial]
        line = PersonLine(position, serial, statement.facility_code, statement.fund_paid, deducted[serial],
                          supplemented[serial])
        if line.deducted > line.claimed:
            rec.differ("over_deduction", words("A4 {a4}: A3 statement {position} ({serial})", a4=a4,
                                               position=position, serial=serial),
                       line.claimed, line.deducted, words("more deducted than the statement claimed"))
        persons.append(line)
    return sorted(persons, key=lambda p: p.position)


def _facilities(
    claim: CityClaim | None, settlement: CitySettlement | None, persons: Sequence[PersonLine],
    facility_settlements: Sequence[FacilitySettlement], rec: _Recorder, a5_carried: bool = True,
) -> list[FacilityLine]:
    claimed = {f.facility_code: _a1_total(f) for f in claim.facility_claims} if claim else {}
    adjusted: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for person in persons:
        adjusted[person.facility_code][0] += person.deducted
        adjusted[person.facility_code][1] += person.supplemented
    settled = {s.facility_code: s for s in facility_settlements}
    lines = []
    for code in sorted(set(claimed) | set(settled)):
        a5 = settled.get(code)
        line = FacilityLine(
            code, claimed.get(code), adjusted[code][0], adjusted[code][1], a5.serial if a5 else None,
            *((_a5_sum(a5, n) for n in ("claimed", "deducted", "supplemented", "paid")) if a5 else (None,) * 4),
        )
        lines.append(line)
        if settlement is None:
            continue
        if a5 is None:
            if not a5_carried:  # 第二十五条: the pair carries no A5 ([settlement] a5_pairs), so none is owed
                continue
            rec.differ("facility_settlement_missing", words("facility {code}", code=code), line.claimed, None,
                       words("no facility settlement (A5) following A4 {serial}", serial=settlement.serial))
            continue
        if line.claimed is None:
            rec.differ("facility_not_claimed", words("A5 {serial} (facility {code})", serial=a5.serial, code=code),
                       None, line.settled_claimed, words("this facility has no A1 in the claim"))
        else:
            rec.compare("facility_claim", words("A5 {serial} (facility {code}): 申请拨付金额 vs its A1",
                                                serial=a5.serial, code=code),
                        line.claimed, line.settled_claimed,
                        words("the facility settlement does not repeat the facility's claim"))
        if settlement.adjustments is not None:
            rec.compare("facility_adjustment", words("A5 {serial} (facility {code}): 审核扣款金额 vs A4 adjustments of "
                                                     "its statements", serial=a5.serial, code=code),
                        line.adjusted_deducted, line.settled_deducted,
                        words("deducted from the facility ≠ deducted by the insured city for its statements"))
            rec.compare("facility_adjustment", words("A5 {serial} (facility {code}): 补拨金额 vs A4 adjustments of "
                                                     "its statements", serial=a5.serial, code=code),
                        line.adjusted_supplemented, line.settled_supplemented,
                        words("supplemented to the facility ≠ supplemented by the insured city for its statements"))
        for scheme in a5.schemes:
            total = scheme.total
            rec.compare("paid_identity", words("A5 {serial} (facility {code}): 实拨金额 (人员类别 {category})",
                                               serial=a5.serial, code=code, category=scheme.category),
                        total.claimed - total.deducted + total.supplemented, total.paid,
                        words("实拨 is not 申请拨付 − 审核扣款 + 补拨"))
    return lines


def _figures(claim: CityClaim | None, settlement: CitySettlement | None,
             facility_settlements: Sequence[FacilitySettlement], rec: _Recorder) -> list[FigureLine]:
    lines = []
    for name, label in CLAIM_FIGURES + SETTLEMENT_FIGURES:
        in_claim = getattr(claim.totals, name) if claim and hasattr(claim.totals, name) else None
        in_settlement = getattr(settlement.totals, name) if settlement else None
        in_facilities = (sum((_a5_sum(s, name) for s in facility_settlements),
                             0 if name in ("visits", "days") else ZERO) if facility_settlements else None)
        lines.append(FigureLine(name, label, money(in_claim), money(in_settlement), money(in_facilities)))
        if settlement is not None and facility_settlements and in_facilities != in_settlement:
            serials = ", ".join(s.serial for s in facility_settlements)
            rec.differ("facility_sum", words("A5 ({serials}) vs A4 {serial}: {label}", serials=serials,
                                             serial=settlement.serial, label=label),
                       in_settlement, in_facilities,
                       words("the facility settlements' {label} do not add up to the settlement's", label=label))
    return lines


def reconcile_claim(
    claim: CityClaim | None,
    settlement: CitySettlement | None,
    facility_settlements: Sequence[FacilitySettlement] = (),
    *,
    residence: str,
    insured: str,
    period: str,
    a5_carried: bool = True,
) -> Reconciliation:
    """One claim, its settlement, the facility settlements that follow it: every difference, located.
    `a5_carried`: the pair's A5 goes through the gateway; if not, a facility without one is no difference."""
    report = Reconciliation(residence, insured, period, claim.serial if claim else None,
                            settlement.serial if settlement else None)
    rec = _Recorder(report)
    if claim is None:
        rec.differ("claim_missing", words("A4 {serial}", serial=settlement.serial) if settlement else words("A5"),
                   None, None, words("no claim (A3) for this settlement: its 流水号 names none received"))
    else:
        _check_claim_details(claim, rec)
        report.nil = claim.nil
        late: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for statement in claim.statements:
            if statement.late:
                late[statement.period] += statement.fund_paid
                report.late_statements += 1
        report.late = {month: money(amount) for month, amount in sorted(late.items())}  # type: ignore[misc]
    if settlement is None:
        if claim is not None and not claim.nil:
            rec.differ("settlement_missing", words("A3 {serial}", serial=claim.serial), None, None,
                       words("no settlement (A4) names this claim yet"))
    else:
        _check_settlement(claim, settlement, rec)
    report.persons = _persons(claim, settlement, rec)
    report.facilities = _facilities(claim, settlement, report.persons, facility_settlements, rec, a5_carried)
    report.figures = _figures(claim, settlement, facility_settlements, rec)
    return report


def reconcile(
    claims: Iterable[CityClaim],
    settlements: Iterable[CitySettlement],
    facility_settlements: Iterable[tuple[str, FacilitySettlement]],
    a5_pairs: Collection[tuple[str, str]] | None = None,
) -> list[Reconciliation]:
    """Match the month's documents (latest revisions only) and reconcile each claim.

    `a5_pairs`: the (residence, insured) pairs whose A5 is carried ([settlement] a5_pairs); only they can miss
    one. None: every pair (documents given as files, with no configuration to say).

    A4 names its A3 by 流水号 (ClaimSerial); A5 names its A4 (SettlementSerial) and its insured city. A5 carries
    no residence city of its own: it comes with the sender's area code, hence the (residence, A5) pairs.
    """
    claim_by_key = {(c.residence_city, c.insured_city, c.period, c.serial): c for c in claims}
    settlement_by_key = {(s.residence_city, s.insured_city, s.period, s.claim_serial): s for s in settlements}
    a5_by_key: dict[tuple[str, str, str, str], list[FacilitySettlement]] = defaultdict(list)
    for residence, a5 in facility_settlements:
        a5_by_key[(residence, a5.insured_city, a5.period, a5.settlement_serial)].append(a5)
    reports = []
    used_a5: set[tuple[str, str, str, str]] = set()
    for key in sorted(set(claim_by_key) | set(settlement_by_key)):
        residence, insured, period, _ = key
        claim, settlement = claim_by_key.get(key), settlement_by_key.get(key)
        a5_key = (residence, insured, period, settlement.serial) if settlement else None
        following = a5_by_key.get(a5_key, []) if a5_key else []
        if a5_key:
            used_a5.add(a5_key)
        reports.append(reconcile_claim(claim, settlement, sorted(following, key=lambda s: s.facility_code),
                                       residence=residence, insured=insured, period=period,
                                       a5_carried=a5_pairs is None or (residence, insured) in a5_pairs))
    for key, orphans in sorted(a5_by_key.items()):
        if key in used_a5:
            continue
        residence, insured, period, serial = key
        report = Reconciliation(residence, insured, period, None, serial)
        _Recorder(report).differ("settlement_unknown", words("A5 {serials}", serials=", ".join(o.serial for o in orphans)),
                                 None, serial, words("these facility settlements name a settlement (A4) not received"))
        reports.append(report)
    return reports



# --- the money (第二十六条, 第二十九条) ---------------------------------------------------------------------------


def reconcile_money(
    reports: list[Reconciliation],
    claims: Iterable[CityClaim],
    settlements: Iterable[CitySettlement],
    payments: Iterable[PaymentAdvice],
    refunds: Iterable[RecoveryRefund],
    period: str,
) -> list[Reconciliation]:
    """Add the money of `period` to each claim's report: the payments' parts and the refunds' items for its
    settlement, per person where a refund names statements; money naming a settlement of the month that was not
    received becomes a report of its own with the difference. Returns the reports (and those extra ones)."""
    claim_by_key = {(c.residence_city, c.insured_city, c.period, c.serial): c for c in claims}
    settlement_by = {(s.residence_city, s.insured_city, s.serial): s for s in settlements if s.period == period}
    paid: dict[tuple[str, str, str], list[MoneyEntry]] = defaultdict(list)
    returned: dict[tuple[str, str, str], list[tuple[RecoveryRefund, list]]] = defaultdict(list)
    for advice in payments:
        for ref in advice.settlements:
            if ref.period == period:
                paid[(advice.residence_city, advice.insured_city, ref.serial)].append(MoneyEntry(
                    "PAYMENT", advice.serial, advice.value_date.isoformat(), ref.amount or ZERO))
    for refund in refunds:
        items = [item for item in refund.items if item.month == period]
        named = [ref.serial for ref in refund.settlements if ref.period == period]
        if items and named:
            returned[(refund.residence_city, refund.insured_city, named[0])].append((refund, items))
    for report in reports:
        key = (report.residence, report.insured, report.settlement_serial or "")
        settlement = settlement_by.get(key)
        claim = claim_by_key.get((report.residence, report.insured, report.period, report.claim_serial or ""))
        if settlement is None and claim is None:
            continue
        line = MoneyLine(claim.totals.claimed if claim else None,
                         settlement.totals.deducted if settlement else None,
                         settlement.totals.supplemented if settlement else None,
                         settlement.totals.paid if settlement else None)
        report.money = line
        if settlement is None:
            continue
        line.payments = paid.pop(key, [])
        line.paid = sum((e.amount for e in line.payments), ZERO)
        rec = _Recorder(report)
        if line.paid > settlement.totals.paid:
            rec.differ("overpaid", words("PAYMENT ({serials}) vs A4 {serial}: 实拨金额",
                                         serials=", ".join(e.serial for e in line.payments), serial=settlement.serial),
                       settlement.totals.paid, line.paid,
                       words("the payment advices pay this settlement more than its 实拨金额"))
        for refund, items in returned.pop(key, []):
            amount = sum((item.amount for item in items), ZERO)
            line.refunds.append(MoneyEntry("REFUND", refund.serial, refund.value_date.isoformat(), amount))
            _refund_persons(report, claim, refund, items, rec)
        line.refunded = sum((e.amount for e in line.refunds), ZERO)
        if line.refunded > settlement.totals.paid:
            rec.differ("refund_exceeds", words("REFUND ({serials}) vs A4 {serial}: 实拨金额",
                                               serials=", ".join(e.serial for e in line.refunds),
                                               serial=settlement.serial),
                       settlement.totals.paid, line.refunded,
                       words("more is returned as recovered than the settlement paid"))
    extra = []
    for (residence, insured, serial), entries in sorted(paid.items()):
        report = Reconciliation(residence, insured, period, None, serial)
        report.money = MoneyLine(None, None, None, None, sum((e.amount for e in entries), ZERO), payments=entries)
        _Recorder(report).differ("paid_unknown_settlement",
                                 words("PAYMENT ({serials})", serials=", ".join(e.serial for e in entries)), None,
                                 serial, words("the payment names settlement (附件4) {serial} of {period}, which was "
                                               "not received", serial=serial, period=period))
        extra.append(report)
    for (residence, insured, serial), listed in sorted(returned.items()):
        entries = [MoneyEntry("REFUND", r.serial, r.value_date.isoformat(), sum((i.amount for i in items), ZERO))
                   for r, items in listed]
        report = Reconciliation(residence, insured, period, None, serial)
        report.money = MoneyLine(None, None, None, None, refunded=sum((e.amount for e in entries), ZERO),
                                 refunds=entries)
        _Recorder(report).differ("refund_unknown_settlement",
                                 words("REFUND ({serials})", serials=", ".join(e.serial for e in entries)), None,
                                 serial, words("the refund names settlement (附件4) {serial} of {period}, which was "
                                               "not received", serial=serial, period=period))
        extra.append(report)
    return reports + extra


def _refund_persons(report: Reconciliation, claim: CityClaim | None, refund: RecoveryRefund, items: list,
                    rec: _Recorder) -> None:
    """Each refunded person against the claim's statements: named by 流水号, else by ID number and month (the
    number never leaves this function); the statement must be of the refund's facility and paid at least as much
    as is returned for it."""
    if claim is None:
        return
    position_of = {p.statement_serial: k for k, p in enumerate(report.persons)}
    statements = {s.serial: (position, s) for position, s in enumerate(claim.statements, start=1)}
    by_id = {s.id_number: s.serial for s in claim.statements}
    for n, item in enumerate(items, 1):
        serial = item.statement_serial or by_id.get(item.id_number)
        if serial not in statements:
            rec.differ("refund_statement", words("REFUND {serial} item {n}", serial=refund.serial, n=n), None,
                       item.statement_serial,
                       words("the refunded person is not among the statements of the claim for this month"))
            continue
        if serial not in position_of:  # not adjusted by the A4: paid as claimed
            position, statement = statements[serial]
            report.persons.append(PersonLine(position, serial, statement.facility_code, statement.fund_paid, ZERO,
                                             ZERO))
            report.persons.sort(key=lambda p: p.position)
            position_of = {p.statement_serial: k for k, p in enumerate(report.persons)}
        k = position_of[serial]
        person = report.persons[k]
        if person.facility_code != refund.facility_code:
            rec.differ("refund_facility", words("REFUND {refund} item {n} vs statement #{position} {serial}",
                                                refund=refund.serial, n=n, position=person.position, serial=serial),
                       person.facility_code, refund.facility_code,
                       words("the statement is of another facility than the one the fees were recovered from"))
        refunded = person.refunded + item.amount
        report.persons[k] = PersonLine(person.position, person.statement_serial, person.facility_code,
                                       person.claimed, person.deducted, person.supplemented, refunded)
        if refunded > person.paid:
            rec.differ("refund_person", words("REFUND {refund} item {n} vs statement #{position} {serial}",
                                              refund=refund.serial, n=n, position=person.position, serial=serial),
                       person.paid, refunded,
                       words("more is returned for this person than the settlement paid for the statement"))
