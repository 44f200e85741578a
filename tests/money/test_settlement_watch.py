"""The daemon's settlement watch (issue 13): at start and once per China day, alerts for a payment advice due
soon or late, and for next year's missing holidays from 1 October, each item once even across restarts; wired
into the engine's step and into `ltcgw run --once`."""

from __future__ import annotations

import shutil
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from gateway.bootstrap import Daemon, build_gateway, settlement_watch
from gateway.config import load_config
from gateway.domain.deadlines import CHINA_TIME, schedule
from gateway.service.daemon import run_once
from gateway.service.settlement import load_calendar
from tests.disputes.test_dispute_exchange import HOLIDAYS, INSURED, RESIDENCE, Exchange
from tests.money.test_money_exchange import PERIOD, settled_month


@pytest.fixture
def exchange(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Exchange:
    return Exchange(tmp_path / "gw", capsys)


class Clock:
    def __init__(self, day: date) -> None:
        self.now = datetime.combine(day, time(10), CHINA_TIME).astimezone(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def set(self, day: date) -> None:
        self.now = datetime.combine(day, time(10), CHINA_TIME).astimezone(timezone.utc)


def watching(ex: Exchange, clock: Clock):
    """A gateway on the exchange's config at `clock`, its watch, and the alerts its log raises."""
    config = load_config(ex.config)
    gw = build_gateway(config, clock=clock)
    alerts: list[dict] = []
    gw.log.subscribe(lambda event, fields: alerts.append(fields) if event == "alert" else None)
    return gw, settlement_watch(config, gw), alerts


def with_holidays(ex: Exchange) -> None:
    folder = ex.root / "holidays"
    folder.mkdir(exist_ok=True)
    shutil.copy(HOLIDAYS / "2027.toml", folder / "2027.toml")


def mine(raised: list) -> list:
    """Only this exchange's pair and month: every other expected pair has no traffic, its payments are missing
    too (and alerted, rightly)."""
    return [r for r in raised if r.ref.startswith(f"PAYMENT {RESIDENCE}->{INSURED} {PERIOD} ")]


def payment_due() -> date:
    return schedule(PERIOD, load_calendar(HOLIDAYS)).payment


def test_a_payment_due_soon_then_late_is_alerted_once_each(exchange: Exchange) -> None:
    ex = exchange
    with_holidays(ex)
    packed_a4, _ = settled_month(ex)
    due = payment_due()
    clock = Clock(due - timedelta(days=1))
    gw, watch, alerts = watching(ex, clock)
    raised = mine(watch.maybe_run())
    soon = [a for a in alerts if a["kind"] == "payment_due_soon" and a["ref"] == raised[0].ref]
    assert [r.kind for r in raised] == ["payment_due_soon"] and len(soon) == 1
    # With the register (`ltcgw init` keeps one), only the pair that claimed owes a payment: the other pairs, with
    # nobody entitled and no claim, are not alerted (they used to be, every month, for every ordered pair).
    assert [a["ref"] for a in alerts if a["kind"].startswith("payment")] == [raised[0].ref]
    assert (soon[0]["sender"], soon[0]["receiver"], soon[0]["period"]) == (INSURED, RESIDENCE, PERIOD)
    assert due.isoformat() in soon[0]["reason"]
    assert watch.maybe_run() == []  # the same day: not looked at again
    clock.set(due + timedelta(days=1))
    late = mine(watch.maybe_run())
    assert [(r.kind, r.fields["cause"]) for r in late] == [("payment_late", "missing")]
    gw.ledger.close()
    # a restart the same day (or `run --once`) raises nothing again: what was alerted is in the ledger
    gw, again, alerts = watching(ex, clock)
    assert again.maybe_run() == [] and alerts == []
    gw.ledger.close()
    # the advice arrives two days after its day (the daemon's clock): late, once
    advice = ex.sample("PAYMENT", "--ref", str(packed_a4))
    ex.send("PAYMENT", INSURED, RESIDENCE, advice, period=PERIOD)
    clock.set(due + timedelta(days=2))
    gw, watch, alerts = watching(ex, clock)
    run_once(gw, settle_seconds=1.1)
    arrived = mine(watch.maybe_run())
    assert [(r.kind, r.fields["cause"]) for r in arrived] == [("payment_late", "late")]
    assert "2 calendar day(s) late" in arrived[0].fields["reason"]
    clock.set(due + timedelta(days=3))
    assert watch.maybe_run() == []
    gw.ledger.close()


def test_next_years_holidays_missing_from_1_october_alerted_once_until_added(exchange: Exchange) -> None:
    ex = exchange
    clock = Clock(date(2026, 9, 30))
    gw, watch, alerts = watching(ex, clock)
    assert [r for r in watch.maybe_run() if r.kind == "calendar_missing"] == []
    clock.set(date(2026, 10, 1))
    [missing] = [r for r in watch.maybe_run() if r.kind == "calendar_missing"]
    assert missing.fields["year"] == 2027 and missing.fields["cause"] == "pending"
    assert missing.fields["file"] == "config/holidays/2027.toml" and missing.fields["due"] == "2026-12-01"
    clock.set(date(2026, 10, 2))
    assert [r for r in watch.maybe_run() if r.kind == "calendar_missing"] == []  # once per status
    clock.set(date(2026, 12, 2))
    [overdue] = [r for r in watch.maybe_run() if r.kind == "calendar_missing"]
    assert overdue.fields["cause"] == "missing"
    with_holidays(ex)  # the administrator adds 2027.toml: read at the next look, no restart
    clock.set(date(2026, 12, 3))
    assert [r for r in watch.maybe_run() if r.kind == "calendar_missing"] == []
    assert [a["kind"] for a in alerts if a["kind"] == "calendar_missing"] == ["calendar_missing"] * 2
    gw.ledger.close()


def test_the_engine_looks_at_its_first_step_and_run_once_too(exchange: Exchange) -> None:
    ex = exchange
    config = load_config(ex.config)
    clock = Clock(date(2026, 10, 15))
    gw = build_gateway(config, clock=clock)
    alerts: list[str] = []
    gw.log.subscribe(lambda event, fields: alerts.append(fields["kind"]) if event == "alert" else None)
    daemon = Daemon(config, gw=gw)
    assert daemon.engine.watch is not None
    daemon.engine.step()
    assert "calendar_missing" in alerts
    daemon.engine.step()
    assert alerts.count("calendar_missing") == 1
    gw.ledger.close()
    # `ltcgw run --once` looks too (today, in real time): recorded in the ledger, not raised twice
    ex.run()
    ex.run()
    gw = build_gateway(config)
    refs = [d["ref"] for _, _, _, d in gw.ledger.events("settlement_alerted")]
    gw.ledger.close()
    assert len(refs) == len(set(refs))
