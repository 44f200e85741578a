"""Issue 13, done when: a simulated year between four cities through the daemon's own processing (`run_once` on
one gateway whose clock walks the year: real keys and XML-DSig, SQLite ledger, local drops), each city's system
signing what it sends on the simulated day and receipting what it receives. Service months 2026-12 to 2027-11,
on the tests' made-up 2027 calendar (Spring Festival 6–12 February, Saturday 20 February worked) and no 2028:

- payments on time, and late: 370100's payment of 2026-12 to 370300 after the Spring Festival pushed its due day
  to 2027-03-04 (paid 03-08), while 370300's of the same month, paid 03-03, is on time only thanks to the holidays;
- a refund of recovered fees (370700 to 370600, 2027-03);
- a withdrawn claim (370600's 2027-04 claim to 370700, withdrawn before its receipt; the revision that replaces
  it arrives late, and only it counts);
- disputes from a person (answered by the residence agency in time) and from a facility (answered late);
- 2027-11, whose A4 and payment fall in 2028, a year without holidays yet: the claim is tracked, the rest is
  `no_calendar`, and `calendar_missing` is alerted from 1 October 2027;
and `ltcgw deadlines`, `ltcgw reconcile` (with money) and the daemon's alerts give the right answers."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import time as clock_time
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from hashlib import sha256
from pathlib import Path

import pytest

from gateway.bootstrap import build_gateway, settlement_watch
from gateway.config import load_config
from gateway.documents.envelope import file_name, new_message_id, pack
from gateway.documents.keys import load_certificates, load_private_key
from gateway.documents.message import open_message
from gateway.documents.replies import make_receipt
from gateway.documents.sample import (
    sample_bytes,
    sample_dispute,
    sample_dispute_answer,
    sample_dispute_result,
    sample_payment,
    sample_refund,
    sample_withdrawal,
)
from gateway.documents.writer import to_bytes
from gateway.domain.deadlines import CHINA_TIME, shift_period
from gateway.domain.envelope import Header, MessageType
from gateway.domain.lifecycle import State
from tests.support.persons import person_hash, register_key
from gateway.entrypoints.cli import main
from gateway.service.daemon import run_once

A, B, C, D = "370100", "370300", "370600", "370700"  # 济南, 淄博, 烟台, 潍坊
PAIRS = [(B, A), (A, B), (C, D), (D, C)]  # (residence, insured): each claims from one other
MONTHS = [shift_period("2026-12", n) for n in range(12)]
HOLIDAYS = Path(__file__).parent / "holidays"
KEY = b"simulated-year-person-key"


@dataclass
class City:
    code: str
    key: object
    cert: object
    drop: Path
    answered: set[str] = field(default_factory=set)


class Year:
    """The workspace, the one gateway whose clock is the simulated day, the cities, and what each one sent."""

    def __init__(self, root: Path) -> None:
        assert self.ltcgw("init", str(root), "--cities", ",".join((A, B, C, D)))[0] == 0
        self.root = root
        self.config_path = root / "gateway.toml"
        (root / "holidays").mkdir(exist_ok=True)
        shutil.copy(HOLIDAYS / "2027.toml", root / "holidays" / "2027.toml")
        key = root / "person.key"
        key.write_bytes(KEY)
        os.chmod(key, 0o600)
        pairs = ", ".join(f'"{r}->{i}"' for r, i in PAIRS)
        with self.config_path.open("a", encoding="utf-8") as f:
            f.write(f'\n[settlement]\npairs = [{pairs}]\nperson_key_file = "person.key"\n')
        self.config = load_config(self.config_path)
        self.now = datetime(2027, 1, 1, 2, tzinfo=timezone.utc)
        self.gw = build_gateway(self.config, clock=lambda: self.now)
        self.watch = settlement_watch(self.config, self.gw)
        self.alerts: list[dict] = []
        self.gw.log.subscribe(lambda event, fields: self.alerts.append(fields) if event == "alert" else None)
        keys = root / "keys"
        self.cities = {code: City(code, load_private_key(keys / f"{code}.key.pem"),
                                  load_certificates(keys / f"{code}.crt.pem")[0], root / "drops" / code)
                       for code in (A, B, C, D)}
        self.sent: dict[tuple, tuple[Header, bytes]] = {}  # (type, residence, insured, period[, extra]) -> sent

    # --- the clock and the daemon ----------------------------------------------------------------------------
    def day(self, day: date) -> None:
        """Walk to `day` (10:00 in China), let the daemon work and every city receipt what it received."""
        assert day >= self.now.astimezone(CHINA_TIME).date()
        self.now = datetime.combine(day, time(10), CHINA_TIME).astimezone(timezone.utc)
        self.run()
        for city in self.cities.values():
            self.receipt_all(city)
        self.run()
        self.watch.maybe_run()

    def run(self) -> None:
        totals = run_once(self.gw, settle_seconds=0)
        assert totals["unreachable"] == 0

    # --- a city's system --------------------------------------------------------------------------------------
    def send(self, kind: MessageType, sender: str, receiver: str, period: str, document: bytes, *,
             revision: int = 1, about: tuple[str, str] | None = None) -> tuple[Header, bytes]:
        city = self.cities[sender]
        serial = open_message(document).document.serial
        header = Header(new_message_id(sender, self.now), kind, sender, receiver, period, serial, revision,
                        self.now.replace(microsecond=0), *(about or (None, None)))
        data = pack(document, header, city.key, city.cert)
        path = city.drop / "outbox" / file_name(header)
        path.write_bytes(data)
        old = clock_time.time() - 10
        os.utime(path, (old, old))  # settled: the daemon takes it at its second look
        return header, data

    def receipt_all(self, city: City, *, skip: set[str] = frozenset()) -> None:
        for path in sorted((city.drop / "inbox").iterdir()):
            if path.name in city.answered or path.name.split("_")[0] in ("ACK", "NACK", "RECEIPT"):
                continue
            if any(ident in path.name for ident in skip):
                continue
            receipt = make_receipt(path.read_bytes(), key=city.key, cert=city.cert, now=self.now)
            out = city.drop / "outbox" / f"RECEIPT_{path.stem}.xml"
            out.write_bytes(receipt)
            old = clock_time.time() - 10
            os.utime(out, (old, old))
            city.answered.add(path.name)

    def state(self, header: Header) -> State:
        return next(m.state for m in self.gw.ledger.messages() if m.message_id == header.message_id)

    # --- the documents ----------------------------------------------------------------------------------------
    def claim(self, residence: str, insured: str, period: str, seed: int = 1, revision: int = 1):
        document = sample_bytes(MessageType.A3, residence, insured, period, persons=3, seed=seed)
        sent = self.send(MessageType.A3, residence, insured, period, document, revision=revision)
        self.sent[("A3", residence, insured, period)] = sent
        return sent

    def settle(self, residence: str, insured: str, period: str, seed: int = 1):
        document = sample_bytes(MessageType.A4, insured, residence, period, persons=3, seed=seed)
        sent = self.send(MessageType.A4, insured, residence, period, document)
        self.sent[("A4", residence, insured, period)] = sent
        return sent

    def pay(self, residence: str, insured: str, period: str):
        a4 = open_message(self.sent[("A4", residence, insured, period)][1]).document
        advice = sample_payment(a4, value_date=self.today)
        sent = self.send(MessageType.PAYMENT, insured, residence, period, to_bytes(advice))
        self.sent[("PAYMENT", residence, insured, period)] = sent
        return sent

    @property
    def today(self) -> date:
        return self.now.astimezone(CHINA_TIME).date()

    @staticmethod
    def ltcgw(*argv: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(list(argv))
        return code, out.getvalue()

    def deadlines(self, period: str, today: date) -> list[dict]:
        code, out = self.ltcgw("deadlines", "-c", str(self.config_path), "--period", period, "--today",
                               today.isoformat(), "--json")
        assert code in (0, 1, 2), out
        return json.loads(out)["items"]

    def line(self, period: str, today: date, what: str, pair: tuple[str, str]) -> dict:
        [item] = [i for i in self.deadlines(period, today)
                  if i["what"] == what and (i["residence"], i["insured"]) == pair]
        return item

    def kinds(self, kind: str) -> list[dict]:
        return [a for a in self.alerts if a["kind"] == kind]


def _settlement_day(period: str) -> date:
    """The 3rd of M+2: before the 对账确认截止日 (the 5th, deferred)."""
    year, month = (int(x) for x in shift_period(period, 2).split("-"))
    return date(year, month, 3)


def _claim_day(period: str) -> date:
    year, month = (int(x) for x in shift_period(period, 1).split("-"))
    return date(year, month, 20)


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Year:
    sim = Year(tmp_path_factory.mktemp("year") / "gw")
    _simulate(sim)
    return sim


def _simulate(y: Year) -> None:
    events: dict[date, list] = {}

    def at(day: date, action) -> None:
        events.setdefault(day, []).append(action)

    late_payment = (B, A, "2026-12")  # 370100 pays 370300 after the Spring Festival, late
    holiday_on_time = (A, B, "2026-12")  # 370300 pays 370100 on 03-03: on time thanks to the holidays
    withdrawn = (C, D, "2027-04")
    unpaid_months = {"2027-11", "2027-10", "2027-09"}  # not due yet at the end of the year
    for period in MONTHS:
        for residence, insured in PAIRS:
            if (residence, insured, period) == withdrawn:
                continue
            at(_claim_day(period), lambda y, r=residence, i=insured, p=period: y.claim(r, i, p))
            if period == "2027-11":
                continue  # its A4 falls in January 2028: not yet
            at(_settlement_day(period), lambda y, r=residence, i=insured, p=period: y.settle(r, i, p))
            if period in unpaid_months:
                continue
            key = (residence, insured, period)
            pay_day = (date(2027, 3, 8) if key == late_payment else date(2027, 3, 3) if key == holiday_on_time
                       else _settlement_day(period) + timedelta(days=7))
            at(pay_day, lambda y, r=residence, i=insured, p=period: y.pay(r, i, p))

    # a claim sent in error, withdrawn before its receipt; the corrected revision arrives after the due day
    def wrong_claim(y: Year) -> None:
        y.claim(C, D, "2027-04", seed=7)
        y.withdraw_before = y.cities[D].answered.copy()

    at(date(2027, 5, 20), wrong_claim)
    at(date(2027, 6, 2), lambda y: y.claim(C, D, "2027-04", seed=7, revision=2))
    at(date(2027, 7, 3), lambda y: y.settle(C, D, "2027-04", seed=7))

    # fees recovered from a facility of 370700's 2027-03 claim, returned to 370600
    def refund(y: Year) -> None:
        claim = open_message(y.sent[("A3", D, C, "2027-03")][1]).document
        a4 = open_message(y.sent[("A4", D, C, "2027-03")][1]).document
        document = sample_refund(claim, a4, persons=2, value_date=y.today)
        y.sent[("REFUND", D, C, "2027-03")] = y.send(MessageType.REFUND, D, C, "2027-03", to_bytes(document))

    at(date(2027, 6, 15), refund)

    # a person applies at 370300 about its 2027-05 claim to 370100; a facility at 370100 about its 2027-06 claim
    def application(y: Year, residence: str, insured: str, period: str, applicant: str, applied: date) -> None:
        header, data = y.sent[("A3", residence, insured, period)]
        document = open_message(data).document
        dispute = sample_dispute(document, header, residence, applicant=applicant, applied_on=applied,
                                 raised_at=y.today)
        y.sent[("DISPUTE", residence, insured, period)] = y.send(
            MessageType.DISPUTE, residence, insured, period, to_bytes(dispute),
            about=(header.message_id, sha256(data).hexdigest()))

    def review(y: Year, residence: str, insured: str, period: str) -> None:
        header, data = y.sent[("DISPUTE", residence, insured, period)]
        answer = sample_dispute_answer(open_message(data).document, insured, answered_at=y.today)
        y.send(MessageType.DISPUTE_ANSWER, insured, residence, period, to_bytes(answer),
               about=(header.message_id, sha256(data).hexdigest()))

    def result(y: Year, residence: str, insured: str, period: str) -> None:
        header, data = y.sent[("DISPUTE", residence, insured, period)]
        answer = sample_dispute_result(open_message(data).document, answered_on=y.today)
        y.sent[("DISPUTE_RESULT", residence, insured, period)] = y.send(
            MessageType.DISPUTE_RESULT, residence, insured, period, to_bytes(answer),
            about=(header.message_id, sha256(data).hexdigest()))

    at(date(2027, 7, 5), lambda y: application(y, B, A, "2027-05", "person", date(2027, 7, 1)))
    at(date(2027, 7, 8), lambda y: review(y, B, A, "2027-05"))
    at(date(2027, 7, 15), lambda y: result(y, B, A, "2027-05"))
    at(date(2027, 8, 3), lambda y: application(y, A, B, "2027-06", "facility", date(2027, 8, 2)))
    at(date(2027, 8, 20), lambda y: review(y, A, B, "2027-06"))
    at(date(2027, 8, 30), lambda y: result(y, A, B, "2027-06"))

    # the daemon looks every working week of the year, besides the days something happens
    day = date(2027, 1, 4)
    while day <= date(2027, 12, 31):
        events.setdefault(day, [])
        day += timedelta(days=7)
    for extra in (date(2027, 3, 1), date(2027, 3, 5), date(2027, 8, 19), date(2027, 8, 24), date(2027, 10, 1)):
        events.setdefault(extra, [])

    for day in sorted(events):
        y.now = datetime.combine(day, time(10), CHINA_TIME).astimezone(timezone.utc)
        for action in events[day]:
            action(y)
        if day == date(2027, 5, 20):  # the wrong claim: delivered, withdrawn by its sender before any receipt
            y.run()
            a3_header, a3_data = y.sent[("A3", C, D, "2027-04")]
            delivered = next((y.cities[D].drop / "inbox").glob(f"A3_*{a3_header.message_id}.xml"))
            y.cities[D].answered.add(delivered.name)  # 370700's system had not receipted it yet
            withdrawal = sample_withdrawal(open_message(a3_data).document, a3_header, withdrawn_at=day)
            y.sent[("WITHDRAWAL", C, D, "2027-04")] = y.send(
                MessageType.WITHDRAWAL, C, D, "2027-04", to_bytes(withdrawal),
                about=(a3_header.message_id, sha256(a3_data).hexdigest()))
            y.sent[("A3-withdrawn", C, D, "2027-04")] = (a3_header, a3_data)
        y.day(day)


# --- the answers -------------------------------------------------------------------------------------------


def test_every_document_of_the_year_was_delivered_and_closed(year: Year) -> None:
    messages = year.gw.ledger.messages()
    kinds = {m.type for m in messages}
    assert {"A3", "A4", "PAYMENT", "REFUND", "WITHDRAWAL", "DISPUTE", "DISPUTE_ANSWER", "DISPUTE_RESULT",
            "RECEIPT"} <= kinds
    rejected = [(m.type, m.findings) for m in messages if m.state is State.REJECTED]
    assert rejected == []
    open_ones = [(m.type, m.sender, m.period, m.state.value) for m in messages
                 if m.state not in (State.ACKNOWLEDGED, State.FORWARDED, State.WITHDRAWN)]
    assert open_ones == []
    assert sum(m.type == "A3" for m in messages) == 12 * 4 + 1  # the withdrawn one and its revision


def test_payments_on_time_late_and_across_the_spring_festival(year: Year) -> None:
    late = year.line("2026-12", date(2027, 4, 1), "PAYMENT", (B, A))
    assert (late["due"], late["status"], late["arrived"]) == ("2027-03-04", "late", "2027-03-08")
    assert "到账确认" in late["note"]
    # 15 working days after 2027-02-05 reach 03-04 only because 6–12 February are off
    on_time = year.line("2026-12", date(2027, 4, 1), "PAYMENT", (A, B))
    assert (on_time["due"], on_time["status"], on_time["arrived"]) == ("2027-03-04", "on_time", "2027-03-03")
    regular = year.line("2027-02", date(2027, 5, 1), "PAYMENT", (C, D))
    assert regular["status"] == "on_time"
    # not paid yet at the end of the year: missing once due, pending before
    assert year.line("2027-09", date(2027, 12, 31), "PAYMENT", (C, D))["status"] == "missing"
    assert year.line("2027-10", date(2027, 12, 1), "PAYMENT", (C, D))["status"] in ("pending", "due_soon")


def test_the_daemon_alerted_the_late_payment_once_and_warned_ahead(year: Year) -> None:
    ref_missing = f"PAYMENT {B}->{A} 2026-12 missing"
    ref_late = f"PAYMENT {B}->{A} 2026-12 late"
    assert [a["cause"] for a in year.kinds("payment_late") if a["ref"] == ref_missing] == ["missing"]
    assert [a["cause"] for a in year.kinds("payment_late") if a["ref"] == ref_late] == ["late"]
    soon = [a for a in year.kinds("payment_due_soon") if a["ref"] == f"PAYMENT {B}->{A} 2026-12 due_soon"]
    assert len(soon) == 1 and soon[0]["sender"] == A and "due 2027-03-04" in soon[0]["reason"]
    # paid on time: never alerted late
    assert not [a for a in year.kinds("payment_late") if a["ref"].startswith(f"PAYMENT {A}->{B} 2026-12")]
    # the months left unpaid are alerted as missing once due
    assert [a["ref"] for a in year.kinds("payment_late") if "2027-09" in a["ref"]]
    refs = [a["ref"] for a in year.alerts if "ref" in a]
    assert len(refs) == len(set(refs))  # each item once


def test_the_withdrawn_claim_does_not_count_its_revision_does(year: Year) -> None:
    withdrawn, _ = year.sent[("A3-withdrawn", C, D, "2027-04")]
    assert year.state(withdrawn) is State.WITHDRAWN
    assert year.state(year.sent[("WITHDRAWAL", C, D, "2027-04")][0]) is State.ACKNOWLEDGED
    line = year.line("2027-04", date(2027, 7, 1), "A3", (C, D))
    assert (line["due"], line["status"], line["arrived"]) == ("2027-05-31", "late", "2027-06-02")
    assert line["message_id"] == year.sent[("A3", C, D, "2027-04")][0].message_id


def test_disputes_from_a_person_and_a_facility_count_from_the_application(year: Year) -> None:
    person = year.line("2027-05", date(2027, 9, 1), "dispute", (B, A))
    applicant = open_message(year.sent[("DISPUTE", B, A, "2027-05")][1]).document.application
    ref = person_hash(register_key(year.root), applicant.id_number)  # the one key for persons: the register's
    assert person["due"] == "2027-07-22" and person["status"] == "on_time" and person["arrived"] == "2027-07-15"
    assert f"person {ref[:16]} applied 2027-07-01 at {B}" in person["note"]
    assert f"{A} reviewed 2027-07-08" in person["note"]
    facility = year.line("2027-06", date(2027, 9, 1), "dispute", (A, B))
    assert facility["due"] == "2027-08-23" and facility["status"] == "late" and facility["arrived"] == "2027-08-30"
    code = open_message(year.sent[("DISPUTE", A, B, "2027-06")][1]).document.application.facility_code
    assert f"facility {code} applied 2027-08-02 at {A}" in facility["note"]
    assert f"{B} reviewed 2027-08-20" in facility["note"]
    overdue = [a for a in year.kinds("dispute_overdue") if "2027-06" in a["ref"]]
    soon = [a for a in year.kinds("dispute_due_soon") if "2027-06" in a["ref"]]
    assert len(overdue) == 1 and len(soon) == 1
    assert not [a for a in year.kinds("dispute_overdue") if "2027-05" in a["ref"]]


def test_a_month_in_a_year_without_holidays(year: Year) -> None:
    items = [i for i in year.deadlines("2027-11", date(2027, 12, 31)) if (i["residence"], i["insured"]) == (B, A)]
    by_what = {i["what"]: i for i in items}
    assert by_what["A3"]["due"] == "2027-12-31" and by_what["A3"]["status"] == "on_time"
    assert by_what["A4"]["status"] == "no_calendar" and "2028" in by_what["A4"]["note"]
    assert by_what["PAYMENT"]["status"] == "no_calendar"
    calendar = year.kinds("calendar_missing")
    # from 1 October 2027, once per status: pending, due soon before 1 December, missing after it
    assert [a["cause"] for a in calendar] == ["pending", "due_soon", "missing"]
    assert calendar[0]["year"] == 2028 and calendar[0]["ref"] == "calendar 2028 pending"


def test_reconcile_adds_the_money_of_the_year(year: Year) -> None:
    code, out = year.ltcgw("reconcile", "-c", str(year.config_path), "--period", "2026-12", "--json")
    reports = {(r["residence"], r["insured"]): r for r in json.loads(out)}
    late = reports[(B, A)]["money"]
    assert late["paid"] == late["settled"] and late["outstanding"] == "0.00"
    assert late["payments"][0]["value_date"] == "2027-03-08"
    code, out = year.ltcgw("reconcile", "-c", str(year.config_path), "--period", "2027-03", "--json")
    refunded = {(r["residence"], r["insured"]): r for r in json.loads(out)}[(D, C)]
    assert float(refunded["money"]["refunded"]) > 0 and refunded["money"]["outstanding"] == "0.00"
    assert [p for p in refunded["persons"] if p["refunded"] != "0.00"]
    assert not [d for d in refunded["differences"] if d["code"].startswith("reconcile.refund")]
    code, out = year.ltcgw("reconcile", "-c", str(year.config_path), "--period", "2027-09", "--json")
    unpaid = {(r["residence"], r["insured"]): r for r in json.loads(out)}[(C, D)]["money"]
    assert unpaid["paid"] == "0.00" and unpaid["outstanding"] == unpaid["settled"] != "0.00"
