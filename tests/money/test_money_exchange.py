"""The money end to end through the daemon (`ltcgw run --once`: bootstrap, real keys, XML-DSig, SQLite ledger,
local drops), each city's side made with the kit as a clerk would (`ltcgw sample`, `pack`, `receipt`): a
claim and its settlement, then the insured city's payment advice (第二十六条) delivered and confirmed by the
residence city's receipt (到账确认), resent by hand, tracked by `ltcgw deadlines`; a payment naming a settlement
never exchanged is refused; a refund of recovered fees (第二十九条) goes back; an A5 is refused unless its pair
asked for it; both money documents print."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from tests.disputes.test_dispute_exchange import HOLIDAYS, INSURED, RESIDENCE, Exchange, china_today, message_id

# The month before this one (in China): its care has ended (care yet to come is refused: date.future), and its
# settlement (by the 5th) and payment (15 working days after the 对账确认截止日) are ahead or just due.
PERIOD = f"{china_today().replace(day=1) - timedelta(days=1):%Y-%m}"


@pytest.fixture
def exchange(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Exchange:
    return Exchange(tmp_path / "gw", capsys)


def settled_month(ex: Exchange) -> tuple[Path, Path]:
    """淄博's claim to 济南 and 济南's settlement of it, both routed, delivered and receipted: (the A4 as
    济南 packed it, the A4 as 淄博 received it)."""
    month = ["--period", PERIOD, "--persons", "4"]
    claim = ex.send("A3", RESIDENCE, INSURED, ex.sample("A3", "--sender", RESIDENCE, "--receiver", INSURED, *month),
                    period=PERIOD)
    ex.run()
    ex.receipt(INSURED, ex.inbox(INSURED, "A3")[-1])
    settlement = ex.send("A4", INSURED, RESIDENCE, ex.sample("A4", "--sender", INSURED, "--receiver", RESIDENCE,
                                                             *month), period=PERIOD)
    ex.run()
    [delivered] = ex.inbox(RESIDENCE, "A4")
    ex.receipt(RESIDENCE, delivered)
    ex.run()
    assert ex.state(message_id(claim)) is State.ACKNOWLEDGED
    assert ex.state(message_id(settlement)) is State.ACKNOWLEDGED
    return settlement, delivered


def deadline(ex: Exchange, what: str, *argv: str) -> dict:
    out = ex.ltcgw("deadlines", "-c", str(ex.config), "--period", PERIOD, "--holidays", str(HOLIDAYS), "--json",
                   "--cities", f"{RESIDENCE},{INSURED}", *argv)
    [item] = [i for i in json.loads(out)["items"] if i["what"] == what and i["residence"] == RESIDENCE]
    return item


def nack_codes(ex: Exchange, sender: str, sent: Path) -> set[str]:
    nack = ex.verified(ex.root / "drops" / sender / "inbox" / f"NACK_{message_id(sent)}.xml")
    return {e.code for e in nack.document.errors}


def pdf_text(ex: Exchange, path: Path) -> str:
    pdf = ex.desk / f"{path.stem}.pdf"
    ex.ltcgw("render", str(path), "-o", str(pdf))
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", "", text)


def test_payment_advice_delivered_confirmed_and_tracked(exchange: Exchange) -> None:
    ex = exchange
    before = deadline(ex, "PAYMENT", "--today", china_today().isoformat())
    assert before["status"] in ("pending", "due_soon") and before["arrived"] is None
    packed_a4, _ = settled_month(ex)
    advice_doc = ex.sample("PAYMENT", "--ref", str(packed_a4))  # 济南 pays what its A4 settled
    advice = ex.send("PAYMENT", INSURED, RESIDENCE, advice_doc, period=PERIOD)
    ex.run()

    [delivered] = ex.inbox(RESIDENCE, "PAYMENT")
    checked = ex.verified(delivered)
    assert delivered.name.startswith(f"PAYMENT_{INSURED}_{RESIDENCE}_{PERIOD}_")  # canonical, like attachments
    assert checked.header.type is MessageType.PAYMENT and checked.header.reply_to is None
    settlement = ex.verified(packed_a4).document
    assert checked.document.amount == settlement.totals.paid
    assert [s.serial for s in checked.document.settlements] == [settlement.serial]
    ack = ex.verified(ex.inbox(INSURED, "ACK")[-1])
    assert ack.header.reply_to == message_id(advice)
    assert ex.state(message_id(advice)) is State.DELIVERED

    # the operator delivers it again by hand (淄博 lost the file): the same bytes, the same name
    ex.ltcgw("resend", message_id(advice), "-c", str(ex.config))
    delivered.unlink()
    ex.run()
    [again] = ex.inbox(RESIDENCE, "PAYMENT")
    assert again.read_bytes() == advice.read_bytes()

    ex.receipt(RESIDENCE, again)  # 到账确认: 淄博 saw the money arrive
    ex.run()
    assert ex.state(message_id(advice)) is State.ACKNOWLEDGED
    receipts = [ex.verified(p) for p in ex.inbox(INSURED, "RECEIPT")]
    assert message_id(advice) in {r.header.reply_to for r in receipts}

    paid = deadline(ex, "PAYMENT", "--today", china_today().isoformat())
    assert paid["status"] == "on_time" and paid["arrived"] == china_today().isoformat()
    assert paid["message_id"] == message_id(advice) and paid["due"] == before["due"]
    assert "到账确认" in paid["note"]
    # the other direction (济南 lives-in, 淄博 insures) has paid nothing: missing once its due day passed
    out = ex.ltcgw("deadlines", "-c", str(ex.config), "--period", PERIOD, "--holidays", str(HOLIDAYS), "--json",
                   "--today", "2099-01-01", "--cities", f"{RESIDENCE},{INSURED}")
    reverse = [i for i in json.loads(out)["items"] if i["what"] == "PAYMENT" and i["residence"] == INSURED]
    assert [i["status"] for i in reverse] == ["missing"]

    text = pdf_text(ex, again)
    assert "省内异地长期护理保险费用拨付通知单" in text and settlement.serial in text


def test_payment_of_a_settlement_never_exchanged_is_refused(exchange: Exchange) -> None:
    ex = exchange
    settled_month(ex)
    # seed 7: a sample A4 serial the two cities never exchanged
    stray_doc = ex.sample("PAYMENT", "--sender", INSURED, "--receiver", RESIDENCE, "--period", PERIOD,
                          "--persons", "4", "--seed", "7")
    stray = ex.send("PAYMENT", INSURED, RESIDENCE, stray_doc, period=PERIOD)
    # a payment sent the wrong way round: by the residence city
    wrong_way = ex.send("PAYMENT", RESIDENCE, INSURED, stray_doc, period=PERIOD)
    ex.run()
    assert not ex.inbox(RESIDENCE, "PAYMENT") and not ex.inbox(INSURED, "PAYMENT")
    assert "route.unknown_settlement" in nack_codes(ex, INSURED, stray)
    assert "payment.direction" in nack_codes(ex, RESIDENCE, wrong_way)
    assert ex.state(message_id(stray)) is State.REJECTED
    assert deadline(ex, "PAYMENT", "--today", china_today().isoformat())["arrived"] is None  # refused: not paid


def test_refund_of_recovered_fees_goes_back_to_the_insured_city(exchange: Exchange) -> None:
    ex = exchange
    ex.config.write_text(ex.config.read_text(encoding="utf-8") + '\n[log]\npath = "transfer.log"\n',
                         encoding="utf-8")
    packed_a4, _ = settled_month(ex)
    refund_doc = ex.sample("REFUND", "--sender", RESIDENCE, "--receiver", INSURED, "--period", PERIOD,
                           "--persons", "4")
    refund = ex.send("REFUND", RESIDENCE, INSURED, refund_doc, period=PERIOD)
    ex.run()
    [delivered] = ex.inbox(INSURED, "REFUND")
    checked = ex.verified(delivered)
    settlement = ex.verified(packed_a4).document
    assert [s.serial for s in checked.document.settlements] == [settlement.serial]
    assert checked.document.total == sum(i.amount for i in checked.document.items) > 0
    ex.receipt(INSURED, delivered)
    ex.run()
    assert ex.state(message_id(refund)) is State.ACKNOWLEDGED
    text = pdf_text(ex, delivered)
    assert "省内异地长期护理保险追回费用退回单" in text and checked.document.facility_code in text
    # the transfer log tells the refund's story without a name or an ID number: those stay in the document
    log = (ex.root / "transfer.log").read_text(encoding="utf-8")
    assert message_id(refund) in log
    for item in checked.document.items:
        assert item.name not in log and item.id_number not in log


def test_a5_goes_on_only_where_the_pair_asked_for_it(exchange: Exchange) -> None:
    ex = exchange
    month = ["--sender", RESIDENCE, "--receiver", INSURED, "--period", PERIOD, "--persons", "4"]
    refused = ex.send("A5", RESIDENCE, INSURED, ex.sample("A5", *month), period=PERIOD)
    ex.run()
    assert not ex.inbox(INSURED, "A5")
    assert nack_codes(ex, RESIDENCE, refused) == {"route.a5_not_carried"}
    # the pair configures it: 淄博's facility settlements go on to 济南, for information
    ex.config.write_text(ex.config.read_text(encoding="utf-8")
                         + f'\n[settlement]\na5_pairs = ["{RESIDENCE}->{INSURED}"]\n', encoding="utf-8")
    ex.ltcgw("config", "check", "-c", str(ex.config))
    carried = ex.send("A5", RESIDENCE, INSURED, ex.sample("A5", *month, "--seed", "2"), period=PERIOD)
    ex.run()
    assert ex.inbox(INSURED, "A5") and ex.state(message_id(carried)) is State.DELIVERED
    assert "A5" not in {i["what"] for i in json.loads(ex.ltcgw(
        "deadlines", "-c", str(ex.config), "--period", PERIOD, "--holidays", str(HOLIDAYS), "--json"))["items"]}
