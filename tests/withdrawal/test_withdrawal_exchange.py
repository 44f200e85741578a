"""Withdrawal (撤销) end to end through the daemon (`ltcgw run --once`: real keys, XML-DSig, SQLite ledger, local
drops), the clerks' side made with the kit: a claim sent in error and not yet receipted is withdrawn by its
sender (closed WITHDRAWN, resent no more, the withdrawal delivered to the receiver and receipted like any
document, the month's claim back to not arrived); once the receiver's receipt answered it, the withdrawal is
refused (route.withdrawal_answered); only the sender withdraws; the form prints."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from tests.disputes.test_dispute_exchange import HOLIDAYS, INSURED, PERIOD, RESIDENCE, Exchange, message_id


@pytest.fixture
def exchange(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Exchange:
    return Exchange(tmp_path / "gw", capsys)


def claim(ex: Exchange) -> tuple[Path, Path]:
    """淄博's claim to 济南, routed and delivered, no receipt yet: (as packed, as 济南 received it)."""
    document = ex.sample("A3", "--sender", RESIDENCE, "--receiver", INSURED, "--period", PERIOD, "--persons", "3")
    packed = ex.send("A3", RESIDENCE, INSURED, document)
    ex.run()
    [delivered] = ex.inbox(INSURED, "A3")
    return packed, delivered


def nack_codes(ex: Exchange, sender: str, sent: Path) -> set[str]:
    nack = ex.verified(ex.root / "drops" / sender / "inbox" / f"NACK_{message_id(sent)}.xml")
    return {e.code for e in nack.document.errors}


def outgoing(ex: Exchange, message: str) -> list:
    from adapters.sqlite_ledger import SqliteLedger
    from gateway.config import load_config

    ledger = SqliteLedger(load_config(ex.config).ledger_path)
    try:
        key = next(m.key for m in ledger.messages() if m.message_id == message)
        return [o for o in ledger.outgoing() if o.message_key == key]
    finally:
        ledger.close()


def test_an_unanswered_claim_is_withdrawn_delivered_and_resent_no_more(exchange: Exchange) -> None:
    ex = exchange
    packed, delivered = claim(ex)
    assert ex.state(message_id(packed)) is State.DELIVERED
    withdrawal = ex.send("WITHDRAWAL", RESIDENCE, INSURED, ex.sample("WITHDRAWAL", "--ref", str(delivered)),
                         ref=delivered)
    ex.run()

    assert ex.state(message_id(packed)) is State.WITHDRAWN
    assert ex.state(message_id(withdrawal)) is State.DELIVERED
    assert (ex.root / "drops" / RESIDENCE / "inbox" / f"ACK_{message_id(withdrawal)}.xml").exists()
    [told] = ex.inbox(INSURED, "WITHDRAWAL")
    checked = ex.verified(told)
    assert told.name.startswith(f"WITHDRAWAL_{RESIDENCE}_{INSURED}_{PERIOD}_")
    assert checked.header.type is MessageType.WITHDRAWAL and checked.header.reply_to == message_id(packed)
    assert (checked.document.withdrawn_type, checked.document.withdrawn_revision) == ("A3", 1)
    # no resend of the withdrawn claim is owed any more
    assert not [o for o in outgoing(ex, message_id(packed)) if o.kind == "delivery" and o.written_at is None
                and not o.cancelled]
    # the receiver's system receipts the withdrawal like any document; a late receipt of the claim closes nothing
    ex.receipt(INSURED, told)
    ex.receipt(INSURED, delivered)
    ex.run()
    assert ex.state(message_id(withdrawal)) is State.ACKNOWLEDGED
    assert ex.state(message_id(packed)) is State.WITHDRAWN
    # the month's claim counts as not arrived again (--cities: this pair whatever the register expects)
    out = ex.ltcgw("deadlines", "-c", str(ex.config), "--period", PERIOD, "--holidays", str(HOLIDAYS), "--json",
                   "--cities", f"{RESIDENCE},{INSURED}")
    [a3] = [i for i in json.loads(out)["items"] if i["what"] == "A3" and i["residence"] == RESIDENCE
            and i["insured"] == INSURED]
    assert a3["arrived"] is None
    # withdrawn once: a second withdrawal finds nothing left to withdraw
    again = ex.send("WITHDRAWAL", RESIDENCE, INSURED, ex.sample("WITHDRAWAL", "--ref", str(delivered), "--seed", "2"),
                    ref=delivered)
    ex.run()
    assert nack_codes(ex, RESIDENCE, again) == {"route.withdrawal_closed"}


def test_a_receipted_claim_cannot_be_withdrawn(exchange: Exchange) -> None:
    ex = exchange
    packed, delivered = claim(ex)
    ex.receipt(INSURED, delivered)
    ex.run()
    assert ex.state(message_id(packed)) is State.ACKNOWLEDGED
    withdrawal = ex.send("WITHDRAWAL", RESIDENCE, INSURED, ex.sample("WITHDRAWAL", "--ref", str(delivered)),
                         ref=delivered)
    ex.run()
    assert ex.state(message_id(withdrawal)) is State.REJECTED
    assert nack_codes(ex, RESIDENCE, withdrawal) == {"route.withdrawal_answered"}
    nack = (ex.root / "drops" / RESIDENCE / "inbox" / f"NACK_{message_id(withdrawal)}.xml").read_text()
    assert "现在只能以更高版本或争议更正" in nack  # the city reads its NACK in zh-CN (its default language)
    assert ex.state(message_id(packed)) is State.ACKNOWLEDGED
    assert not ex.inbox(INSURED, "WITHDRAWAL")


def test_only_the_sender_withdraws_and_only_what_it_sent(exchange: Exchange) -> None:
    ex = exchange
    packed, delivered = claim(ex)
    # 济南 received the claim: it may dispute it, not withdraw it
    document = ex.sample("WITHDRAWAL", "--ref", str(delivered))
    by_receiver = ex.send("WITHDRAWAL", INSURED, RESIDENCE, document, ref=delivered)
    ex.run()
    codes = nack_codes(ex, INSURED, by_receiver)
    assert "withdrawal.direction" in codes and "route.unknown_reference" in codes
    # InReplyTo must be the bytes as delivered: another file is unknown
    stray = ex.desk / "stray.xml"
    stray.write_bytes(delivered.read_bytes().replace(b"<Revision>1</Revision>", b"<Revision>1</Revision> "))
    wrong = ex.send("WITHDRAWAL", RESIDENCE, INSURED, ex.sample("WITHDRAWAL", "--ref", str(delivered), "--seed", "3"),
                    ref=stray)
    ex.run()
    assert "route.unknown_reference" in nack_codes(ex, RESIDENCE, wrong)
    assert ex.state(message_id(packed)) is State.DELIVERED


def test_the_withdrawal_prints_as_a_form(exchange: Exchange) -> None:
    ex = exchange
    _, delivered = claim(ex)
    document = ex.sample("WITHDRAWAL", "--ref", str(delivered))
    pdf = ex.desk / "w.pdf"
    ex.ltcgw("render", str(document), "-o", str(pdf))
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                                             text=True).stdout)
    assert "撤销通知单" in text and "A3" in text and "撤销原因" in text


def test_a_withdrawn_settlement_is_not_paid(exchange: Exchange) -> None:
    ex = exchange
    _, delivered_claim = claim(ex)
    ex.receipt(INSURED, delivered_claim)
    settlement = ex.send("A4", INSURED, RESIDENCE, ex.sample("A4", "--sender", INSURED, "--receiver", RESIDENCE,
                                                             "--period", PERIOD, "--persons", "3"))
    ex.run()
    [delivered] = ex.inbox(RESIDENCE, "A4")
    # 济南 (insured) withdraws its settlement sent in error, before 淄博's receipt
    ex.send("WITHDRAWAL", INSURED, RESIDENCE, ex.sample("WITHDRAWAL", "--ref", str(delivered)), ref=delivered)
    ex.run()
    assert ex.state(message_id(settlement)) is State.WITHDRAWN
    advice = ex.send("PAYMENT", INSURED, RESIDENCE, ex.sample("PAYMENT", "--ref", str(settlement)))
    ex.run()
    assert nack_codes(ex, INSURED, advice) == {"route.unknown_settlement"}
    nack = (ex.root / "drops" / INSURED / "inbox" / f"NACK_{message_id(advice)}.xml").read_text()
    assert "已被 " in nack and "撤销" in nack  # 结算单 … 已被 CITY 撤销 (zh-CN, the city's default language)
