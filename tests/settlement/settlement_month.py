"""A consistent month between two cities, built in memory for the settlement tests: the residence city's claim
(A3 with its A1 forms and A2 statements), the insured city's settlement (A4, with per-person adjustments) and
the facility settlements (A5). Names and ID numbers are made up (the check character is computed)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gateway.domain.amounts import amount_in_words
from gateway.domain.settlement import (
    Adjustment,
    CityClaim,
    CitySettlement,
    ClaimRow,
    ClaimScheme,
    FacilityClaim,
    FacilitySettlement,
    PersonStatement,
    SettledRow,
    SettledScheme,
    SignOff,
)

CENT = Decimal("0.01")
SERVICE_TYPES = ("01", "02", "03")
CLAIM_FIELDS = ("visits", "days", "total_cost", "self_paid", "covered", "co_pay", "claimed")


def id_number(rng: random.Random) -> str:
    body = f"370{rng.randrange(100, 999)}19{rng.randrange(30, 99)}{rng.randrange(1, 13):02d}" \
           f"{rng.randrange(1, 28):02d}{rng.randrange(100, 999)}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def _sum_claim(statements: list[PersonStatement], service_type: str | None) -> ClaimRow:
    claimed = sum((s.fund_paid for s in statements), Decimal("0.00"))
    return ClaimRow(
        service_type, len(statements), sum(s.benefit_days for s in statements),
        sum((s.total_cost for s in statements), Decimal("0.00")),
        sum((s.self_paid for s in statements), Decimal("0.00")),
        sum((s.covered for s in statements), Decimal("0.00")),
        sum((s.co_pay for s in statements), Decimal("0.00")), claimed, amount_in_words(claimed))


def _settle(row: ClaimRow, deducted: Decimal, supplemented: Decimal, words: bool) -> SettledRow:
    paid = row.claimed - deducted + supplemented
    return SettledRow(row.service_type, *(getattr(row, f) for f in CLAIM_FIELDS), deducted, supplemented, paid,
                      amount_in_words(paid) if words else None)


@dataclass
class Month:
    claim: CityClaim
    settlement: CitySettlement
    facility_settlements: list[FacilitySettlement]


def build_month(residence: str, insured: str, period: str, *, facilities: int = 2, persons: int = 3,
                seed: int = 1, adjust: bool = True) -> Month:
    rng = random.Random(f"{seed}{residence}{insured}{period}")
    year, month = (int(x) for x in period.split("-"))
    prepared = date(year + month // 12, month % 12 + 1, 20)
    tag = f"{residence[2:4]}{insured[2:4]}{period.replace('-', '')}"
    statements: list[PersonStatement] = []
    facility_claims: list[FacilityClaim] = []
    for f in range(facilities):
        code, name = f"F{residence}{f:02d}", f"{residence}第{f + 1}护理院"
        mine = []
        for p in range(persons):
            total = Decimal(rng.randrange(150000, 600000)) * CENT
            self_paid = Decimal(rng.randrange(0, 20000)) * CENT
            covered = total - self_paid
            fund = (covered * Decimal("0.7")).quantize(CENT)
            days = rng.randrange(10, 29)
            mine.append(PersonStatement(
                code, name, "2", f"S{tag}{f:02d}{p:03d}", period, f"测试人员{f}{p}", "1", "01",
                id_number(rng), "1" if p % 2 == 0 else "2", "3", insured, residence,
                SERVICE_TYPES[p % len(SERVICE_TYPES)], date(year, month, 1), date(year, month, days), days,
                total, self_paid, covered, fund, covered - fund, self_paid + covered - fund, name, prepared))
        schemes = []
        for category in ("1", "2"):
            of_scheme = [s for s in mine if s.person_category == category]
            if of_scheme:
                lines = [_sum_claim([s for s in of_scheme if s.service_type == t], t)
                         for t in SERVICE_TYPES if any(s.service_type == t for s in of_scheme)]
                schemes.append(ClaimScheme(category, lines, _sum_claim(of_scheme, None)))
        facility_claims.append(FacilityClaim(code, name, f"A1{tag}{f:02d}", period, schemes, "张制表", "李复核",
                                             name, prepared))
        statements.extend(mine)
    totals = _sum_claim(statements, None)
    claim = CityClaim(f"AG{residence}", f"{residence}医保中心", f"A3{tag}", period, residence, insured, totals,
                      "王初审", "赵审核", "钱复核", f"{residence}医疗保障局", prepared, facility_claims, statements)
    adjustments: list[Adjustment] = []
    if adjust:
        first, second = statements[0], statements[-1]
        adjustments = [
            Adjustment(first.serial, first.id_number, (first.fund_paid / 4).quantize(CENT), Decimal("0.00"),
                       "超出护理服务频次"),
            Adjustment(second.serial, second.id_number, Decimal("0.00"), Decimal("88.50"), "上月漏报补拨"),
        ]
    deducted = sum((a.deducted for a in adjustments), Decimal("0.00"))
    supplemented = sum((a.supplemented for a in adjustments), Decimal("0.00"))
    sign = SignOff("甲", "乙", "丙", f"{residence}医疗保障局")
    settlement = CitySettlement(
        f"AG{insured}", f"{insured}医保中心", f"A4{tag}", period, claim.serial, insured, residence,
        _settle(totals, deducted, supplemented, True), "详见明细" if deducted else None,
        "详见明细" if supplemented else None, sign, SignOff("丁", "戊", "己", f"{insured}医疗保障局"),
        prepared, adjustments or None)
    by_statement = {a.statement_serial: a for a in adjustments}
    facility_settlements = []
    for fc in facility_claims:
        mine = [s for s in statements if s.facility_code == fc.facility_code]
        schemes5 = []
        for scheme in fc.schemes:
            cut: dict[str | None, list[Decimal]] = defaultdict(lambda: [Decimal("0.00"), Decimal("0.00")])
            for s in mine:
                if s.person_category == scheme.category and s.serial in by_statement:
                    for key in (s.service_type, None):
                        cut[key][0] += by_statement[s.serial].deducted
                        cut[key][1] += by_statement[s.serial].supplemented
            lines = [_settle(row, *cut[row.service_type], False) for row in scheme.lines]
            schemes5.append(SettledScheme(scheme.category, lines, _settle(scheme.total, *cut[None], True)))
        facility_settlements.append(FacilitySettlement(
            fc.facility_code, fc.facility_name, f"A5{tag}{fc.facility_code[-2:]}", period, insured,
            settlement.serial, schemes5, None, None, "甲", "乙", "丙", f"{residence}医疗保障局", prepared))
    return Month(claim, settlement, facility_settlements)
