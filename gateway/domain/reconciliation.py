"""Reconciliation of one month between two cities (规程 第二十八条: 对账信息不符 … 查明原因).

For each claim (A3, keyed by its residence city, insured city, month and 流水号):
- the settlement (A4) that names it must repeat its claim figures (总人次 … 申请拨付) and keep
  实拨 = 申请拨付 − 审核扣款 + 补拨;
- where the A4 lists per-person adjustments, they must add up to its 审核扣款 and 补拨, and each must name a
  statement (A2) of the claim, deduct no more than that statement claimed, and carry its ID number;
- the facility settlements (A5) that follow the A4 must add up to its figures, each facility's to the A1 it
  claimed and to the adjustments of its own statements.
Every difference says where it comes from (document, 流水号, field, statement position) and never carries a
name or ID number: the report goes to clerks of both cities, to CSV files and to logs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from gateway.domain.settlement import (
    CityClaim,
    CitySettlement,
    FacilityClaim,
    FacilitySettlement,
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
    """One mismatch: a stable code, where it was found, the two sides, and what it means for a clerk."""

    code: str  # "reconcile.<...>"
    where: str  # e.g. "A4 S-2 vs A3 C-1: 申请拨付金额"
    expected: str | None
    actual: str | None
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "where": self.where, "expected": self.expected, "actual": self.actual,
                "message": self.message}


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
    # 补报 (第二十四条): statements of earlier months this claim carries, counted here (the cycle that claims
    # them), never in their own month's reconciliation; a nil claim (零申报) owes no settlement.
    late: dict[str, str] = field(default_factory=dict)  # service month -> 申请拨付 of its late statements
    late_statements: int = 0
    nil: bool = False

    @property
    def balanced(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, object]:
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
            "differences": [d.as_dict() for d in self.differences],
            "late": dict(self.late),
            "late_statements": self.late_statements,
            "nil": self.nil,
        }


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

    def differ(self, code: str, where: str, expected: object, actual: object, message: str) -> None:
        self.report.differences.append(Difference(
            f"reconcile.{code}", where,
            money(expected) if isinstance(expected, (Decimal, int)) else expected,  # type: ignore[arg-type]
            money(actual) if isinstance(actual, (Decimal, int)) else actual,  # type: ignore[arg-type]
            message))

    def compare(self, code: str, where: str, expected: Decimal | int, actual: Decimal | int, message: str) -> None:
        if expected != actual:
            self.differ(code, where, expected, actual, message)


def _check_claim_details(claim: CityClaim, rec: _Recorder) -> None:
    """The claim against its own details: the A2 statements and the A1 forms must add up to its 申请拨付."""
    where = f"A3 {claim.serial}"
    if claim.statements:
        rec.compare("claim_statements", f"{where}: 申请拨付金额 vs 附件2 统筹支付金额",
                    claim.totals.claimed, sum((s.fund_paid for s in claim.statements), ZERO),
                    "the statements' fund parts do not add up to the claim")
        rec.compare("claim_statements", f"{where}: 总人次 vs 附件2", claim.totals.visits, len(claim.statements),
                    "the claim's 总人次 is not its number of statements")
    if claim.facility_claims:
        rec.compare("claim_facilities", f"{where}: 申请拨付金额 vs 附件1 合计",
                    claim.totals.claimed, sum((_a1_total(f) for f in claim.facility_claims), ZERO),
                    "the facilities' claims do not add up to the city claim")


def _check_settlement(claim: CityClaim | None, settlement: CitySettlement, rec: _Recorder) -> None:
    where = f"A4 {settlement.serial}"
    totals = settlement.totals
    rec.compare("paid_identity", f"{where}: 实拨金额", totals.claimed - totals.deducted + totals.supplemented,
                totals.paid, "实拨 is not 申请拨付 − 审核扣款 + 补拨")
    if claim is None:
        return
    for name, label in CLAIM_FIGURES:
        rec.compare("claim_figure", f"{where} vs A3 {claim.serial}: {label}", getattr(claim.totals, name),
                    getattr(totals, name), f"the settlement does not repeat the claim's {label}")


def _persons(claim: CityClaim | None, settlement: CitySettlement | None, rec: _Recorder) -> list[PersonLine]:
    """Person by person, where the A4 lists adjustments: each names one of the claim's statements."""
    if settlement is None or settlement.adjustments is None:
        return []
    where = f"A4 {settlement.serial}"
    adjustments = settlement.adjustments
    rec.compare("adjustment_sum", f"{where}: 审核扣款金额 vs adjustments", settlement.totals.deducted,
                sum((a.deducted for a in adjustments), ZERO), "the per-person deductions do not add up")
    rec.compare("adjustment_sum", f"{where}: 补拨金额 vs adjustments", settlement.totals.supplemented,
                sum((a.supplemented for a in adjustments), ZERO), "the per-person supplements do not add up")
    if claim is None:
        return []
    by_serial = {s.serial: (position, s) for position, s in enumerate(claim.statements, start=1)}
    deducted: dict[str, Decimal] = defaultdict(lambda: ZERO)
    supplemented: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for number, adjustment in enumerate(adjustments, start=1):
        found = by_serial.get(adjustment.statement_serial)
        place = f"{where}: adjustment {number} (statement {adjustment.statement_serial})"
        if found is None:
            rec.differ("unknown_statement", place, None, adjustment.statement_serial,
                       f"no statement with this 流水号 in A3 {claim.serial}")
            continue
        position, statement = found
        if adjustment.id_number != statement.id_number:
            # Says that they differ, never what they are: ID numbers are personal data.
            rec.differ("adjustment_person", f"{place}, A3 statement {position}", None, None,
                       "the adjustment's ID number is not the statement's")
        deducted[statement.serial] += adjustment.deducted
        supplemented[statement.serial] += adjustment.supplemented
    persons = []
    for serial in deducted:
        position, statement = by_serial[serial]
        line = PersonLine(position, serial, statement.facility_code, statement.fund_paid, deducted[serial],
                          supplemented[serial])
        if line.deducted > line.claimed:
            rec.differ("over_deduction", f"{where}: A3 statement {position} ({serial})", line.claimed,
                       line.deducted, "more deducted than the statement claimed")
        persons.append(line)
    return sorted(persons, key=lambda p: p.position)


def _facilities(
    claim: CityClaim | None, settlement: CitySettlement | None, persons: Sequence[PersonLine],
    facility_settlements: Sequence[FacilitySettlement], rec: _Recorder,
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
            rec.differ("facility_settlement_missing", f"facility {code}", line.claimed, None,
                       f"no facility settlement (A5) following A4 {settlement.serial}")
            continue
        where = f"A5 {a5.serial} (facility {code})"
        if line.claimed is None:
            rec.differ("facility_not_claimed", where, None, line.settled_claimed,
                       "this facility has no A1 in the claim")
        else:
            rec.compare("facility_claim", f"{where}: 申请拨付金额 vs its A1", line.claimed,
                        line.settled_claimed, "the facility settlement does not repeat the facility's claim")
        if settlement.adjustments is not None:
            rec.compare("facility_adjustment", f"{where}: 审核扣款金额 vs A4 adjustments of its statements",
                        line.adjusted_deducted, line.settled_deducted, "deducted from the facility ≠ deducted "
                        "by the insured city for its statements")
            rec.compare("facility_adjustment", f"{where}: 补拨金额 vs A4 adjustments of its statements",
                        line.adjusted_supplemented, line.settled_supplemented, "supplemented to the facility ≠ "
                        "supplemented by the insured city for its statements")
        for scheme in a5.schemes:
            total = scheme.total
            rec.compare("paid_identity", f"{where}: 实拨金额 (人员类别 {scheme.category})",
                        total.claimed - total.deducted + total.supplemented, total.paid,
                        "实拨 is not 申请拨付 − 审核扣款 + 补拨")
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
            rec.differ("facility_sum", f"A5 ({serials}) vs A4 {settlement.serial}: {label}", in_settlement,
                       in_facilities, f"the facility settlements' {label} do not add up to the settlement's")
    return lines


def reconcile_claim(
    claim: CityClaim | None,
    settlement: CitySettlement | None,
    facility_settlements: Sequence[FacilitySettlement] = (),
    *,
    residence: str,
    insured: str,
    period: str,
) -> Reconciliation:
    """One claim, its settlement, the facility settlements that follow it: every difference, located."""
    report = Reconciliation(residence, insured, period, claim.serial if claim else None,
                            settlement.serial if settlement else None)
    rec = _Recorder(report)
    if claim is None:
        rec.differ("claim_missing", f"A4 {settlement.serial}" if settlement else "A5", None, None,
                   "no claim (A3) for this settlement: its 流水号 names none received")
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
            rec.differ("settlement_missing", f"A3 {claim.serial}", None, None,
                       "no settlement (A4) names this claim yet")
    else:
        _check_settlement(claim, settlement, rec)
    report.persons = _persons(claim, settlement, rec)
    report.facilities = _facilities(claim, settlement, report.persons, facility_settlements, rec)
    report.figures = _figures(claim, settlement, facility_settlements, rec)
    return report


def reconcile(
    claims: Iterable[CityClaim],
    settlements: Iterable[CitySettlement],
    facility_settlements: Iterable[tuple[str, FacilitySettlement]],
) -> list[Reconciliation]:
    """Match the month's documents (latest revisions only) and reconcile each claim.

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
                                       residence=residence, insured=insured, period=period))
    for key, orphans in sorted(a5_by_key.items()):
        if key in used_a5:
            continue
        residence, insured, period, serial = key
        report = Reconciliation(residence, insured, period, None, serial)
        _Recorder(report).differ("settlement_unknown", f"A5 {', '.join(o.serial for o in orphans)}", None,
                                 serial, "these facility settlements name a settlement (A4) not received")
        reports.append(report)
    return reports

