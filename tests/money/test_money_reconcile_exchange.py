"""`ltcgw reconcile` with the money, from the ledger and spool of a running exchange (`ltcgw run --once`): the
insured city's payment advice and the residence city's refund of recovered fees show as paid and refunded
beside the claim and its settlement, outstanding falls to zero, the CSV carries the money rows."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.disputes.test_dispute_exchange import INSURED, RESIDENCE, Exchange
from tests.money.test_money_exchange import PERIOD, settled_month


@pytest.fixture
def exchange(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Exchange:
    return Exchange(tmp_path / "gw", capsys)


def reconciled(ex: Exchange, *argv: str, expect: int | None = 0) -> dict:
    from gateway.entrypoints.cli import main

    code = main(["reconcile", "-c", str(ex.config), "--period", PERIOD, "--json", *argv])
    out, err = ex.capsys.readouterr()
    assert expect is None or code == expect, out + err
    [report] = [r for r in json.loads(out) if (r["residence"], r["insured"]) == (RESIDENCE, INSURED)]
    return report


def test_reconcile_adds_payments_and_refunds_from_the_ledger(exchange: Exchange, tmp_path: Path) -> None:
    ex = exchange
    packed_a4, _ = settled_month(ex)
    before = reconciled(ex, expect=None)["money"]
    assert before["paid"] == "0.00" and before["outstanding"] == before["settled"] != "0.00"
    advice = ex.sample("PAYMENT", "--ref", str(packed_a4))
    ex.send("PAYMENT", INSURED, RESIDENCE, advice, period=PERIOD)
    refund = ex.sample("REFUND", "--sender", RESIDENCE, "--receiver", INSURED, "--period", PERIOD, "--persons", "4")
    ex.send("REFUND", RESIDENCE, INSURED, refund, period=PERIOD)
    ex.run()
    assert len(ex.inbox(RESIDENCE, "PAYMENT")) == 1 and len(ex.inbox(INSURED, "REFUND")) == 1
    report = reconciled(ex, "--csv", str(tmp_path / "r.csv"), expect=None)
    money = report["money"]
    # the money adds no difference, and the A5 is not carried for this pair ([settlement] a5_pairs): none is owed
    assert report["differences"] == []
    assert money["paid"] == money["settled"] and money["outstanding"] == "0.00"
    assert Decimal(money["refunded"]) > 0
    assert Decimal(money["net_paid"]) == Decimal(money["paid"]) - Decimal(money["refunded"])
    assert money["payments"][0]["kind"] == "PAYMENT" and money["refunds"][0]["kind"] == "REFUND"
    assert [p for p in report["persons"] if p["refunded"] != "0.00"]
    with (tmp_path / "r.csv").open(encoding="utf-8-sig") as f:
        rows = [r for r in csv.DictReader(f) if r["kind"] == "money"]
    by_label = {r["where"]: r for r in rows}
    assert by_label["未拨付金额"]["amount"] == "0.00" and "PAYMENT" in by_label["已拨付金额"]["source"]
    text = ex.ltcgw("reconcile", "-c", str(ex.config), "--period", PERIOD, expect=0)  # balanced
    assert "已拨付金额" in text and "追回退回金额" in text
