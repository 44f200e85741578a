"""Disputes end to end through the daemon (`ltcgw run --once`: bootstrap, real keys, XML-DSig, SQLite ledger,
local drops), the city side made with the kit exactly as a clerk would (`ltcgw sample`, `pack`, `receipt`):
a dispute by the insured city about a routed claim is delivered, receipted and answered in time; disputes that
name no routed message, or a message of other cities, are refused; `ltcgw deadlines` tracks the answer."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from gateway.domain.deadlines import CHINA_TIME
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State

from tests.support.kit_exchange import INSURED, OTHER, PERIOD, RESIDENCE, KitExchange, message_id  # noqa: F401
HOLIDAYS = Path(__file__).parents[1] / "settlement" / "holidays"  # 2027, should the answer fall into it


class Exchange(KitExchange):
    """The kit's workspace, with the dispute's own views: its deadline lines, and a claim delivered to 济南."""

    def deadlines(self, *argv: str) -> list[dict]:
        out = self.ltcgw("deadlines", "-c", str(self.config), "--period", PERIOD, "--holidays", str(HOLIDAYS),
                         "--json", *argv)
        return [i for i in json.loads(out)["items"] if i["what"] == "dispute"]

    def claim(self) -> Path:
        """淄博's claim to 济南, routed and delivered: the file as 济南 received it."""
        document = self.sample("A3", "--sender", RESIDENCE, "--receiver", INSURED, "--period", PERIOD,
                               "--persons", "4")
        self.send("A3", RESIDENCE, INSURED, document)
        self.run()
        [delivered] = self.inbox(INSURED, "A3")
        return delivered


@pytest.fixture
def exchange(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Exchange:
    return Exchange(tmp_path / "gw", capsys)


def test_dispute_delivered_receipted_and_answered_in_time(exchange: Exchange, monkeypatch: pytest.MonkeyPatch) -> None:
    ex = exchange
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    claim = ex.claim()
    dispute_doc = ex.sample("DISPUTE", "--ref", str(claim), "--sender", INSURED)
    ex.send("DISPUTE", INSURED, RESIDENCE, dispute_doc, ref=claim)
    ex.run()

    [delivered] = ex.inbox(RESIDENCE, "DISPUTE")
    dispute = ex.verified(delivered)
    assert dispute.header.type is MessageType.DISPUTE and dispute.header.reply_to == message_id(claim)
    assert delivered.name.startswith(f"DISPUTE_{INSURED}_{RESIDENCE}_{PERIOD}_")  # canonical, like attachments
    assert dispute.document.disputed_type == "A3" and dispute.document.residence_city == RESIDENCE
    ack = ex.verified(ex.inbox(INSURED, "ACK")[-1])
    assert ack.header.reply_to == dispute.header.message_id
    assert ex.state(dispute.header.message_id) is State.DELIVERED
    [open_item] = ex.deadlines()
    assert open_item["status"] in ("pending", "due_soon") and open_item["message_id"] == dispute.header.message_id
    assert (open_item["residence"], open_item["insured"]) == (RESIDENCE, INSURED)

    ex.receipt(RESIDENCE, delivered)  # 淄博's system took the dispute
    answer_doc = ex.sample("DISPUTE_ANSWER", "--ref", str(delivered), "--outcome", "partially_accepted")
    ex.send("DISPUTE_ANSWER", RESIDENCE, INSURED, answer_doc, ref=delivered)
    ex.run()
    assert ex.state(dispute.header.message_id) is State.ACKNOWLEDGED
    assert ex.inbox(INSURED, "RECEIPT")  # the receipt went back to the disputing city
    [answer_file] = ex.inbox(INSURED, "DISPUTE_ANSWER")
    answer = ex.verified(answer_file)
    assert answer.header.reply_to == dispute.header.message_id
    assert answer.document.outcome == "partially_accepted"
    assert dispute.document.expected < answer.document.corrected_amount < dispute.document.stated
    ex.receipt(INSURED, answer_file)
    ex.run()
    assert ex.state(answer.header.message_id) is State.ACKNOWLEDGED

    for path, title in ((delivered, "争议单"), (answer_file, "争议答复单")):  # printable, to sign and stamp
        pdf = ex.desk / f"{path.stem}.pdf"
        ex.ltcgw("render", str(path), "-o", str(pdf))
        text = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                                                 text=True).stdout)
        assert f"省内异地长期护理保险费用{title}" in text and dispute.document.serial in text

    today = china_today().isoformat()
    [answered] = ex.deadlines("--today", today)
    assert answered["status"] == "on_time" and answered["arrived"] is not None
    assert answered["message_id"] == dispute.header.message_id
    assert f"{INSURED} disputes A3" in answered["note"]
    assert [n["code"] for n in answered["notes"]] == ["dispute.raised"]
    # said to a clerk: in Chinese by default, in English on request
    text = ex.ltcgw("deadlines", "-c", str(ex.config), "--period", PERIOD, "--holidays", str(HOLIDAYS), "--today",
                    today)
    assert f"{INSURED} 对 A3 " in text and "提出争议（争议 " in text and f"由 {RESIDENCE} 答复" in text
    assert "disputes A3" not in text
    monkeypatch.setenv("LANGUAGE", "en")
    text = ex.ltcgw("deadlines", "-c", str(ex.config), "--period", PERIOD, "--holidays", str(HOLIDAYS), "--today",
                    today)
    assert f"{INSURED} disputes A3" in text and "提出争议" not in text


def test_dispute_about_an_unrouted_message_or_other_cities_is_refused(exchange: Exchange) -> None:
    ex = exchange
    claim = ex.claim()
    # A claim packed but never sent: the gateway has not passed it on.
    unsent_doc = ex.sample("A3", "--sender", RESIDENCE, "--receiver", INSURED, "--period", PERIOD)
    ex.ltcgw("pack", str(unsent_doc), "--type", "A3", "--sender", RESIDENCE, "--receiver", INSURED, "--period",
             PERIOD, *ex.signer(RESIDENCE), "-o", str(ex.desk / "unsent.xml"))
    unsent = ex.desk / "unsent.xml"
    stray = ex.send("DISPUTE", INSURED, RESIDENCE, ex.sample("DISPUTE", "--ref", str(unsent), "--sender", INSURED),
                    ref=unsent)
    # 烟台 disputes a claim between 淄博 and 济南: not its business.
    nosy_doc = ex.sample("DISPUTE", "--ref", str(claim), "--sender", INSURED)
    text = nosy_doc.read_text(encoding="utf-8").replace(f"<InsuredCity>{INSURED}<", f"<InsuredCity>{OTHER}<")
    nosy_doc.write_text(text, encoding="utf-8")
    nosy = ex.send("DISPUTE", OTHER, RESIDENCE, nosy_doc, ref=claim)
    ex.run()

    assert not ex.inbox(RESIDENCE, "DISPUTE")  # nothing delivered
    for sender, sent in ((INSURED, stray), (OTHER, nosy)):
        nack_file = ex.root / "drops" / sender / "inbox" / f"NACK_{message_id(sent)}.xml"
        nack = ex.verified(nack_file)
        assert "route.unknown_reference" in {e.code for e in nack.document.errors}
        assert ex.state(message_id(sent)) is State.REJECTED
    # An answer to a dispute that was never routed is refused the same way.
    answer = ex.send("DISPUTE_ANSWER", RESIDENCE, INSURED, ex.sample("DISPUTE_ANSWER", "--ref", str(stray)),
                     ref=stray)
    ex.run()
    nack_file = ex.root / "drops" / RESIDENCE / "inbox" / f"NACK_{message_id(answer)}.xml"
    assert "route.unknown_reference" in {e.code for e in ex.verified(nack_file).document.errors}
    assert ex.deadlines() == []  # refused disputes are no one's deadline


def test_deadlines_shows_an_unanswered_dispute_overdue(exchange: Exchange) -> None:
    ex = exchange
    claim = ex.claim()
    ex.send("DISPUTE", INSURED, RESIDENCE, ex.sample("DISPUTE", "--ref", str(claim), "--sender", INSURED), ref=claim)
    ex.run()
    raised = china_today()
    [item] = ex.deadlines("--today", raised.isoformat())
    due = date.fromisoformat(item["due"])
    assert due - raised >= timedelta(days=19)  # 15 working days: three weeks at least
    [late] = ex.deadlines("--today", (due + timedelta(days=1)).isoformat())
    assert late["status"] == "missing" and f"overdue since {due.isoformat()}" in late["note"]
    # an open dispute stays in view whatever months are asked for
    out = ex.ltcgw("deadlines", "-c", str(ex.config), "--period", "2026-06", "--holidays", str(HOLIDAYS),
                   "--today", (due + timedelta(days=1)).isoformat())
    assert "dispute" in out and "missing" in out


def china_today() -> date:
    """Deadlines count days in China (UTC+8), as `ltcgw deadlines` does."""
    return datetime.now(CHINA_TIME).date()
