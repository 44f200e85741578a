"""A simulated year between five cities through the running daemon (the engine with its city workers and a pool of
two check workers), on SQLite and on PostgreSQL (issue 12, "done when"):

- entitlements that start (济南 → 淄博, 济南 → 烟台, 青岛 → 潍坊), change (淄博 files another facility from May) and
  end (青岛 ends its person's entitlement in March);
- every month's claims of the entitled persons delivered; one person billed by two residence cities in June
  (烟台 bills 淄博's person to 济南: refused, 济南 refuses); a facility billing a person whose entitlement ended
  (潍坊 in April: delivered with a warning, as 青岛 chose); a person's July fees rolled into August's claim as late
  (补报); a nil claim (零申报) of 烟台 in September; a settlement answering an unknown claim and one with a wrong
  申请拨付: refused with their findings named;
- `ltcgw deadlines` expects a claim of September only from the pairs with somebody entitled; `ltcgw reconcile`
  counts the late fees once, in August;
- no ID number or name in clear in the ledger (the register, the findings, the events) or the transfer log.
"""

from __future__ import annotations

import calendar
import json
import sqlite3
import threading
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.bootstrap import build_gateway
from gateway.config import load_config
from gateway.documents.sample import sample_claim_of, sample_document, sample_nil_claim, sample_settlement_of
from gateway.documents.sample_entitlement import filing_for, notice_for
from gateway.documents.writer import to_bytes
from gateway.domain import entitlement as ent
from gateway.domain.amounts import amount_in_words
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.entrypoints.cli import main
from gateway.service.daemon import Engine
from gateway.workspace.city_system import CitySystem
from gateway.workspace.layout import write_workspace
from tests.support.postgres import postgres_server  # noqa: F401  (the session's server)
from tests.support.waiting import wait_for

JINAN, QINGDAO, ZIBO, YANTAI, WEIFANG = "370100", "370200", "370300", "370600", "370700"
CITIES = [JINAN, QINGDAO, ZIBO, YANTAI, WEIFANG]
MONTHS = [f"2025-{m:02d}" for m in (11, 12)] + [f"2026-{m:02d}" for m in range(1, 11)]


def month_days(period: str) -> tuple[date, date]:
    year, month = (int(x) for x in period.split("-"))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def of_month(statement, period: str, *, serial: str | None = None, facility: tuple[str, str] | None = None,
             late: bool | None = None):
    """The person's statement for another month (whole month, the same fees)."""
    first, last = month_days(period)
    changed = replace(statement, period=period, start_date=first, end_date=last, late=late,
                      benefit_days=min(statement.benefit_days, (last - first).days + 1),
                      serial=serial or f"S{period.replace('-', '')}{statement.serial[-6:]}")
    if facility:
        changed = replace(changed, facility_code=facility[0], facility_name=facility[1])
    return changed


class Year:
    """The workspace, the daemon running on it, and the five cities' systems."""

    def __init__(self, root: Path, ledger_url: str | None) -> None:
        config_path = write_workspace(root, CITIES, retry=["1h"], workers=2, rescan_seconds=0.2,
                                      cross_checks={JINAN: "refuse", QINGDAO: "warn"})
        if ledger_url:
            text = config_path.read_text(encoding="utf-8")
            config_path.write_text(text.replace('[ledger]\npath = "ledger.sqlite3"', f'[ledger]\nurl = "{ledger_url}"'),
                                   encoding="utf-8")
        self.root, self.config_path = root, config_path
        self.config = load_config(config_path)
        self.cities = {code: CitySystem(code, root / "keys", root / "drops" / code) for code in CITIES}
        self.gw = build_gateway(self.config)
        self.logged: list[tuple[str, dict]] = []
        self.gw.log.subscribe(lambda event, fields: self.logged.append((event, dict(fields))))
        self.engine = Engine(self.gw, rescan_seconds=0.2)
        self.thread = threading.Thread(target=self.engine.run_forever, daemon=True)
        self.thread.start()
        self.persons: list = []  # every statement's person: nothing of them may show in clear

    def close(self) -> None:
        self.engine.stopping.set()
        self.engine.wake.set()
        self.thread.join(timeout=30)
        self.gw.ledger.close()
        self.gw.checker.close()
        assert not self.thread.is_alive()

    def send(self, sender: str, kind: MessageType, receiver: str, document, *, period: str | None = None,
             revision: int = 1):
        """Drop one signed message and wait until the daemon decided it: its ledger record."""
        for statement in getattr(document, "statements", ()):
            self.persons.append((statement.id_number, statement.name))
        if hasattr(document, "id_number"):
            self.persons.append((document.id_number, document.name))
        header, _ = self.cities[sender].send(kind, receiver, period or document.period, document=to_bytes(document),
                                             revision=revision)
        decided = wait_for(lambda: [m for m in self.gw.ledger.messages() if m.message_id == header.message_id
                                    and m.state not in (State.RECEIVED, State.ROUTED)],
                           what=f"the decision on {kind} {header.message_id}", seconds=60)[-1]
        # ... and its ACK or NACK written: the daemon's thread logs that to stdout, where `ltcgw` below must be alone
        wait_for(lambda: any(event == "written" and str(fields.get("file", "")) in (
            f"ACK_{header.message_id}.xml", f"NACK_{header.message_id}.xml") for event, fields in list(self.logged)),
            what=f"the reply to {header.message_id} written", seconds=60)
        return decided

    def entitle(self, insured: str, statement, start: date):
        notice = notice_for(statement, start=start)
        assert self.send(insured, MessageType.ENTITLEMENT, statement.residence_city, notice).state is State.DELIVERED
        filing = filing_for(notice)
        assert self.send(statement.residence_city, MessageType.CHANGE_FILING, insured, filing).state is State.DELIVERED
        return notice, filing

    def claim(self, residence: str, insured: str, period: str, statements, seed: int):
        return self.send(residence, MessageType.A3, insured, sample_claim_of(residence, insured, period, statements,
                                                                             seed=seed))

    def ltcgw(self, capsys, *argv: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main([*argv, "-c", str(self.config_path)])
        return code, capsys.readouterr().out


def codes(record) -> set[str]:
    return {f["code"] for f in record.findings}


@pytest.fixture(params=["sqlite", "postgres"])
def year(request, tmp_path: Path):
    url = request.getfixturevalue("postgres_server").new_database() if request.param == "postgres" else None
    y = Year(tmp_path / "gw", url)
    try:
        yield y
    finally:
        y.close()


def test_a_year_between_five_cities(year: Year, capsys: pytest.CaptureFixture[str]) -> None:
    y = year
    zibo_people = sample_document("A3", ZIBO, JINAN, MONTHS[0], persons=2, seed=11).statements
    yantai_person = sample_document("A3", YANTAI, JINAN, "2026-01", persons=1, seed=12).statements[0]
    weifang_person = sample_document("A3", WEIFANG, QINGDAO, MONTHS[0], persons=1, seed=13).statements[0]
    p1, p2 = zibo_people

    # Entitlements start (第十七条) and each is assigned its facility (派单, 第十五条).
    y.entitle(JINAN, p1, date(2025, 11, 1))
    y.entitle(JINAN, p2, date(2025, 11, 1))
    y.entitle(JINAN, yantai_person, date(2026, 1, 1))
    p4_notice, _ = y.entitle(QINGDAO, weifang_person, date(2025, 11, 1))

    new_facility = ("L37030099999", "淄博市新建护理院")
    p1_notice = notice_for(p1, start=date(2025, 11, 1))
    change = replace(filing_for(p1_notice), serial="CF-P1-CHANGE", period="2026-05", kind=ent.CHANGE,
                     effective_from=date(2026, 5, 1), filed_at=date(2026, 4, 24),
                     facilities=[ent.Facility(ent.CARE, *new_facility)], reason="参保人员申请变更定点长护服务机构")
    ended = replace(p4_notice, kind=ent.END, issued_at=date(2026, 4, 2),
                    end=ent.EntitlementEnd(date(2026, 3, 31), "moved", "迁出本市"))

    delivered, refused, warned = [], {}, {}
    late_fees = Decimal("0.00")
    for n, period in enumerate(MONTHS):
        if period == "2026-04":
            assert y.send(QINGDAO, MessageType.ENTITLEMENT, WEIFANG, ended, revision=2).state is State.DELIVERED
            assert y.send(ZIBO, MessageType.CHANGE_FILING, JINAN, change).state is State.DELIVERED
        # 淄博 claims its two persons each month; P2's July fees come late, with August's claim (补报)
        facility = new_facility if period >= "2026-05" else None
        statements = [of_month(p1, period, facility=facility)]
        if period != "2026-07":
            statements.append(of_month(p2, period))
        if period == "2026-08":
            late = of_month(p2, "2026-07", serial="S202607-LATE", late=True)
            statements.append(late)
            late_fees += late.fund_paid
        record = y.claim(ZIBO, JINAN, period, statements, seed=100 + n)
        assert record.state is State.DELIVERED and not record.findings, (period, record.findings)
        delivered.append(record)
        # 烟台 claims its person from January; in June it bills 淄博's person too; September is nil (零申报)
        if period >= "2026-01":
            if period == "2026-09":
                record = y.send(YANTAI, MessageType.A3, JINAN, sample_nil_claim(YANTAI, JINAN, period, seed=200 + n))
            else:
                twice = replace(p1, residence_city=YANTAI, facility_code=yantai_person.facility_code,
                                facility_name=yantai_person.facility_name)
                extra = [of_month(twice, period, serial="SYT-P1")] if period == "2026-06" else []
                record = y.claim(YANTAI, JINAN, period, [of_month(yantai_person, period), *extra], seed=200 + n)
                if extra:
                    refused["two residence cities"] = record
                    record = y.claim(YANTAI, JINAN, period, [of_month(yantai_person, period)], seed=300 + n)
            assert record.state is State.DELIVERED and not record.findings, (period, record.findings)
            delivered.append(record)
        # 潍坊 bills its person to 青岛 until March; in April after the end: 青岛 warns
        if period <= "2026-04":
            record = y.claim(WEIFANG, QINGDAO, period, [of_month(weifang_person, period)], seed=400 + n)
            if period == "2026-04":
                warned["entitlement ended"] = record
            else:
                assert record.state is State.DELIVERED and not record.findings, (period, record.findings)

    # 济南 settles 淄博's October claim; one settlement names no claim, one states another 申请拨付
    october = [of_month(p1, "2026-10", facility=new_facility), of_month(p2, "2026-10")]
    settlement = sample_settlement_of(ZIBO, JINAN, "2026-10", october, seed=100 + MONTHS.index("2026-10"))
    assert y.send(JINAN, MessageType.A4, ZIBO, settlement).state is State.DELIVERED
    refused["unknown claim"] = y.send(JINAN, MessageType.A4, ZIBO, replace(settlement, serial="A4-NOCLAIM",
                                                                           claim_serial="A3-NO-SUCH-CLAIM"))
    totals = settlement.totals
    more = Decimal("10.00")
    totals = replace(totals, claimed=totals.claimed + more, covered=totals.covered + more,
                     total_cost=totals.total_cost + more, paid=totals.paid + more)
    refused["wrong amount"] = y.send(JINAN, MessageType.A4, ZIBO, replace(
        settlement, serial="A4-WRONG", totals=replace(totals, paid_in_words=amount_in_words(totals.paid))))

    # Each wrong one refused (济南 refuses) or delivered with a warning (青岛 warns), its finding named.
    assert refused["two residence cities"].state is State.REJECTED
    # billed by 淄博 already; and never entitled in 烟台 (one facility and the month's days: twice over too)
    assert {"cross.double_billing", "cross.entitled"} <= codes(refused["two residence cities"])
    assert all(code.startswith("cross.") for code in codes(refused["two residence cities"]))
    assert refused["unknown claim"].state is State.REJECTED and codes(refused["unknown claim"]) == {"cross.claim_unknown"}
    assert refused["wrong amount"].state is State.REJECTED and "cross.claimed" in codes(refused["wrong amount"])
    for record in refused.values():
        nack = y.cities[record.drop_city].inbox / f"NACK_{record.message_id}.xml"
        assert all(code.encode() in nack.read_bytes() for code in codes(record))
    april = warned["entitlement ended"]
    assert april.state is State.DELIVERED and codes(april) == {"cross.entitled"}
    ack = (y.cities[WEIFANG].inbox / f"ACK_{april.message_id}.xml").read_bytes().decode("utf-8")
    # the note all in 潍坊's language (zh-CN, the default): heading and finding alike
    assert "交叉核对提示（已投递）：cross.entitled；cross.entitled: " in ack and "待遇享受通知（第十七条）覆盖" in ack
    assert "checks across documents" not in ack and "is not entitled on those days" not in ack
    assert any(event == "cross_check_warned" and fields.get("codes") == ["cross.entitled"] for event, fields in y.logged)
    for record in delivered:
        assert (y.cities[record.receiver].inbox / record.delivery_name).exists()

    # Deadlines: September's claims are expected from the pairs with somebody entitled, exactly.
    code, out = y.ltcgw(capsys, "deadlines", "--period", "2026-09", "--today", "2026-11-30", "--json")
    items = json.loads(out)["items"]
    assert {(i["residence"], i["insured"]) for i in items} == {(ZIBO, JINAN), (YANTAI, JINAN)}
    nil = {i["what"]: i for i in items if i["residence"] == YANTAI}
    assert nil["A3"]["status"] == "late" and nil["A4"]["status"] == "info" and "零申报" in nil["A4"]["note"]
    code, out = y.ltcgw(capsys, "deadlines", "--period", "2025-12", "--today", "2026-11-30", "--json")
    assert {(i["residence"], i["insured"]) for i in json.loads(out)["items"]} == {(ZIBO, JINAN), (WEIFANG, QINGDAO)}

    code, out = y.ltcgw(capsys, "entitlements", "--period", "2026-09", "--json")
    held = json.loads(out)
    assert {(p["residence"], p["insured"], p["persons"]) for p in held["pairs"]} == {(ZIBO, JINAN, 2), (YANTAI, JINAN, 1)}
    assert [(c["residence"], c["nil"]) for c in held["claims"] if c["nil"]] == [(YANTAI, True)]
    assert list(held["rows_per_key"]) == ["k1"]

    # Reconcile: the late fees counted once, in August (the cycle that claimed them), not in July.
    reports = {}
    for period in ("2026-07", "2026-08"):
        code, out = y.ltcgw(capsys, "reconcile", "--period", period, "--pair", f"{ZIBO},{JINAN}", "--json")
        [reports[period]] = json.loads(out)
    claimed = {p: Decimal(next(f["claim"] for f in r["figures"] if f["name"] == "claimed")) for p, r in reports.items()}
    assert reports["2026-08"]["late"] == {"2026-07": f"{late_fees}"} and reports["2026-08"]["late_statements"] == 1
    assert reports["2026-07"]["late"] == {} and claimed["2026-07"] == of_month(p1, "2026-07").fund_paid
    assert claimed["2026-08"] == sum((s.fund_paid for s in (of_month(p1, "2026-08"), of_month(p2, "2026-08"))),
                                     late_fees)

    # No ID number, no name in clear: not in the ledger (register, findings, events), not in the transfer log.
    dumped = dump_ledger(y)
    assert "register_billings" in dumped and len(y.gw.ledger.register_notices()) == 4
    logged = json.dumps(y.logged, ensure_ascii=False, default=str)
    for id_number, name in set(y.persons):
        assert id_number not in dumped and name not in dumped, "personal data in the ledger"
        assert id_number not in logged and name not in logged, "personal data in the transfer log"


def dump_ledger(y: Year) -> str:
    """Every row of every table but the spool's bytes (the documents themselves, kept for retention)."""
    if y.config.ledger_url is None:
        db = sqlite3.connect(y.config.ledger_path)
        try:
            return "\n".join(db.iterdump())
        finally:
            db.close()
    import psycopg

    with psycopg.connect(y.config.ledger_url) as db:
        tables = [r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")]
        return "\n".join(f"{table} {row}" for table in tables if table != "spool_files"
                         for row in db.execute(f'SELECT * FROM "{table}"'))
