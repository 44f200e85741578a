"""The entitlement documents end to end through the daemon (`ltcgw run --once`: bootstrap, real keys, XML-DSig,
SQLite ledger, local drops), each city's clerk working with the kit (`ltcgw sample`, `pack`, `receipt`, `render`):
a delegated assessment asked and answered, a notice started, revised (superseding the unanswered first issue) and
ended, a facility assigned; each delivered, ACKed, and closed by its receipt. Wrong ones are refused with their
finding named. And the resend schedule applies to them as to the settlement documents."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.local import LocalTransport
from gateway.bootstrap import build_gateway
from gateway.config import load_config
from gateway.workspace.city_system import CitySystem
from gateway.documents.check import check_message
from gateway.documents.envelope import file_name
from gateway.documents.replies import make_receipt
from gateway.documents.sample_entitlement import sample_entitlement_notice
from gateway.documents.writer import to_bytes
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.workspace.layout import write_workspace
from gateway.service.daemon import run_once

from tests.support.kit_exchange import INSURED, PERIOD, RESIDENCE, KitExchange, message_id


class Exchange(KitExchange):
    """The kit's workspace, with what the entitlement documents' tests ask of each message."""

    def delivered(self, city: str, kind: str, sent: Path) -> Path:
        """The file `city` received for the message `sent`, checked as its system would (ltcgw verify)."""
        [path] = [p for p in self.inbox(city, kind) if p.stem.endswith(message_id(sent))]
        assert self.verified(path).header.type is MessageType(kind)
        return path

    def acked(self, city: str, sent: Path) -> None:
        ack = self.root / "drops" / city / "inbox" / f"ACK_{message_id(sent)}.xml"
        assert self.verified(ack).header.reply_to == message_id(sent)

    def closed_by_receipt(self, city: str, delivered: Path, sender: str) -> None:
        self.receipt(city, delivered)
        self.run()
        assert self.state(message_id(delivered)) is State.ACKNOWLEDGED
        receipt = self.root / "drops" / sender / "inbox" / f"RECEIPT_{message_id(delivered)}.xml"
        assert self.verified(receipt).document.status == "accepted"

    def nack_codes(self, sender: str, sent: Path) -> set[str]:
        nack = self.root / "drops" / sender / "inbox" / f"NACK_{message_id(sent)}.xml"
        assert self.state(message_id(sent)) is State.REJECTED
        return {e.code for e in self.verified(nack).document.errors}

    def pdf_text(self, path: Path) -> str:
        pdf = self.desk / f"{path.stem}.pdf"
        self.ltcgw("render", str(path), "-o", str(pdf))
        text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
        return re.sub(r"\s+", "", text)


@pytest.fixture
def exchange(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Exchange:
    return Exchange(tmp_path / "gw", capsys)


def test_each_entitlement_document_is_delivered_acked_and_closed_by_its_receipt(exchange: Exchange) -> None:
    ex = exchange
    forward = ("--sender", INSURED, "--receiver", RESIDENCE, "--period", PERIOD)
    back = ("--sender", RESIDENCE, "--receiver", INSURED, "--period", PERIOD)
    seen: dict[str, Path] = {}

    # 第十条: 济南 delegates the assessment to 淄博, which answers it.
    request = ex.send("ASSESSMENT_REQUEST", INSURED, RESIDENCE, ex.sample("ASSESSMENT_REQUEST", *forward))
    ex.run()
    ex.acked(INSURED, request)
    seen["request"] = delivered = ex.delivered(RESIDENCE, "ASSESSMENT_REQUEST", request)
    assert delivered.name.startswith(f"ASSESSMENT_REQUEST_{INSURED}_{RESIDENCE}_{PERIOD}_")
    assert ex.state(message_id(request)) is State.DELIVERED
    ex.closed_by_receipt(RESIDENCE, delivered, INSURED)

    answer = ex.send("ASSESSMENT_RESULT", RESIDENCE, INSURED, ex.sample("ASSESSMENT_RESULT", "--ref", str(delivered)))
    ex.run()
    ex.acked(RESIDENCE, answer)
    seen["result"] = delivered_answer = ex.delivered(INSURED, "ASSESSMENT_RESULT", answer)
    result = ex.verified(delivered_answer).document
    assert result.request_serial == ex.verified(delivered).document.serial and len(result.assessors) >= 2
    ex.closed_by_receipt(INSURED, delivered_answer, RESIDENCE)

    # 第十七条: the notice; revised before 淄博 answered the first issue, which that supersedes.
    first = ex.send("ENTITLEMENT", INSURED, RESIDENCE, ex.sample("ENTITLEMENT", *forward))
    ex.run()
    first_delivered = ex.delivered(RESIDENCE, "ENTITLEMENT", first)
    change = ex.send("ENTITLEMENT", INSURED, RESIDENCE, ex.sample("ENTITLEMENT", *forward, "--kind", "change"),
                     revision=2)
    ex.run()
    ex.acked(INSURED, change)
    assert ex.state(message_id(first)) is State.SUPERSEDED
    changed = ex.delivered(RESIDENCE, "ENTITLEMENT", change)
    assert ex.verified(changed).document.serial == ex.verified(first_delivered).document.serial
    ex.closed_by_receipt(RESIDENCE, changed, INSURED)

    # 第十五条 / 第十七条: 淄博 files the facility it assigned (派单).
    filing = ex.send("CHANGE_FILING", RESIDENCE, INSURED, ex.sample("CHANGE_FILING", *back))
    ex.run()
    ex.acked(RESIDENCE, filing)
    seen["filing"] = filed = ex.delivered(INSURED, "CHANGE_FILING", filing)
    assert ex.verified(filed).document.entitlement_serial == ex.verified(changed).document.serial
    ex.closed_by_receipt(INSURED, filed, RESIDENCE)

    # The end: a notice of Kind end, revision 3 of the same serial.
    end = ex.send("ENTITLEMENT", INSURED, RESIDENCE, ex.sample("ENTITLEMENT", *forward, "--kind", "end"), revision=3)
    ex.run()
    seen["end"] = ended = ex.delivered(RESIDENCE, "ENTITLEMENT", end)
    assert ex.verified(ended).header.revision == 3 and ex.verified(ended).document.end is not None
    ex.closed_by_receipt(RESIDENCE, ended, INSURED)
    assert ex.state(message_id(change)) is State.ACKNOWLEDGED  # answered: nothing left to supersede

    titles = {"request": "失能等级委托评估函", "result": "失能等级委托评估结果反馈单", "filing": "定点服务机构派单备案表",
              "end": "待遇终止通知单"}
    for what, path in seen.items():
        text = ex.pdf_text(path)
        assert f"省内异地长期护理保险{titles[what]}" in text and ex.verified(path).header.serial in text


def test_wrong_entitlement_documents_are_refused_with_their_finding(exchange: Exchange) -> None:
    ex = exchange
    forward = ("--sender", INSURED, "--receiver", RESIDENCE, "--period", PERIOD)
    notice = ex.sample("ENTITLEMENT", *forward)
    # The residence city cannot notify an entitlement: a notice goes from the insured city.
    wrong_way = ex.send("ENTITLEMENT", RESIDENCE, INSURED, notice)
    # A result confirmed by one assessor only (第十条: at least two).
    result = ex.sample("ASSESSMENT_RESULT", "--sender", RESIDENCE, "--receiver", INSURED, "--period", PERIOD)
    text = result.read_text(encoding="utf-8")
    one = text[:text.index("<Assessor>")] + text[text.index("</Assessor>") + len("</Assessor>"):]
    result.write_text(one, encoding="utf-8")
    lonely = ex.send("ASSESSMENT_RESULT", RESIDENCE, INSURED, result)
    # A death reported before it happened.
    dead = ex.sample("ENTITLEMENT", *forward, "--kind", "end")
    text = dead.read_text(encoding="utf-8").replace("<EndReason>moved<", "<EndReason>death<")
    dead.write_text(re.sub(r"<EndDate>[^<]+<", "<EndDate>2099-01-01<", text), encoding="utf-8")
    early = ex.send("ENTITLEMENT", INSURED, RESIDENCE, dead, revision=2)
    ex.run()

    assert "envelope.cities" in ex.nack_codes(RESIDENCE, wrong_way)
    assert "assessment.assessors" in ex.nack_codes(RESIDENCE, lonely)
    assert {"date.future", "entitlement.end"} <= ex.nack_codes(INSURED, early)
    assert not ex.inbox(RESIDENCE, "ENTITLEMENT") and not ex.inbox(INSURED, "ASSESSMENT_RESULT")

    # A revision not newer than one passed on is stale, as for the settlement documents.
    good = ex.send("ENTITLEMENT", INSURED, RESIDENCE, notice, revision=2)
    ex.run()
    assert ex.state(message_id(good)) is State.DELIVERED
    stale = ex.send("ENTITLEMENT", INSURED, RESIDENCE, notice, revision=1)
    ex.run()
    assert "envelope.stale_revision" in ex.nack_codes(INSURED, stale)


def test_an_unanswered_notice_is_resent_and_a_late_receipt_closes_it(tmp_path: Path) -> None:
    root = tmp_path / "gw"
    config = load_config(write_workspace(root, [INSURED, RESIDENCE], retry=["10m", "30m"]))

    class Clock:
        """Real time at the start (certificates are checked against it), then moved by hand."""

        now = datetime.now(timezone.utc)

        def __call__(self) -> datetime:
            return self.now

    clock = Clock()
    transports = {code: LocalTransport(code, root / "drops" / code, settle_seconds=0) for code in (INSURED, RESIDENCE)}
    gw = build_gateway(config, clock=clock, transports=transports)
    try:
        jinan = CitySystem(INSURED, root / "keys", root / "drops" / INSURED)
        zibo = CitySystem(RESIDENCE, root / "keys", root / "drops" / RESIDENCE)
        document = to_bytes(sample_entitlement_notice(INSURED, RESIDENCE, PERIOD, seed=3))
        header, data = jinan.send(MessageType.ENTITLEMENT, RESIDENCE, PERIOD, document=document)
        run_once(gw)
        delivered = zibo.inbox / file_name(header)
        assert delivered.read_bytes() == data
        delivered.unlink()  # 淄博's system took the file but never answered
        clock.now += timedelta(minutes=11)
        run_once(gw)
        assert delivered.read_bytes() == data  # delivered again, under the same name
        record = next(m for m in gw.ledger.messages() if m.message_id == header.message_id)
        assert record.state is State.DELIVERED and record.deliveries == 2
        receipt = make_receipt(data, key=zibo.key, cert=zibo.cert)
        zibo.drop_file(f"RECEIPT_{header.message_id}.xml", receipt)
        run_once(gw)
        record = next(m for m in gw.ledger.messages() if m.message_id == header.message_id)
        assert record.state is State.ACKNOWLEDGED
        assert check_message(data, config.trust_store()).valid
    finally:
        gw.ledger.close()
        gw.checker.close()
