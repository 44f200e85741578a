"""End to end on local drops with the real checks and signatures: claims one way, settlements back, receipts,
refusals, resends, duplicates, id conflicts and revisions."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace

from gateway.bootstrap import build_checker
from gateway.config import load_config
from gateway.workspace.city_system import CitySystem
from gateway.documents.check import check_message
from gateway.documents.envelope import file_name
from gateway.documents.replies import make_receipt
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.workspace.layout import write_workspace
from gateway.service.resend import resend_by_hand
from tests.support.exactly_once import Sent, assert_exactly_once, problems
from tests.support.waiting import wait_for

from .conftest import JINAN, PERIOD, ZIBO, Workspace, running_daemon


def _verified_reply(ws, path):
    result = check_message(path.read_bytes(), ws.config.trust_store(), now=ws.clock())
    assert result.valid, result.findings
    return result


def test_claim_and_settlement_flow_with_receipts(workspace) -> None:
    ws = workspace
    zibo, jinan = ws.cities[ZIBO], ws.cities[JINAN]
    claim, claim_bytes = ws.claim(1)

    delivered = jinan.inbox / file_name(claim)
    assert delivered.read_bytes() == claim_bytes  # byte for byte, under the canonical name
    assert not any(zibo.outbox.iterdir())  # taken off the drop
    ack = zibo.inbox / f"ACK_{claim.message_id}.xml"
    reply = _verified_reply(ws, ack)
    assert reply.header.type is MessageType.ACK and reply.header.reply_to == claim.message_id
    assert ws.message(claim.message_id).state is State.DELIVERED

    settlement, settlement_bytes = jinan.send(MessageType.A4, ZIBO, PERIOD, seed=1)
    assert jinan.answer() == [delivered.name]
    receipt_bytes = next(jinan.outbox.glob("RECEIPT_*")).read_bytes()
    ws.run()
    assert (zibo.inbox / file_name(settlement)).read_bytes() == settlement_bytes
    assert (jinan.inbox / f"ACK_{settlement.message_id}.xml").exists()
    forwarded = zibo.inbox / f"RECEIPT_{claim.message_id}.xml"
    assert forwarded.read_bytes() == receipt_bytes  # forwarded byte for byte
    receipt = _verified_reply(ws, forwarded)
    assert receipt.header.sender == JINAN and receipt.header.reply_to == claim.message_id
    assert ws.message(claim.message_id).state is State.ACKNOWLEDGED
    assert ws.message(receipt.header.message_id).state is State.FORWARDED

    zibo.answer(reject={file_name(settlement): "审核扣款有误"})
    ws.run()
    assert ws.message(settlement.message_id).state is State.DECLINED
    assert (jinan.inbox / f"RECEIPT_{settlement.message_id}.xml").exists()

    trace = ws.gw.ledger.trace(claim.message_id)[0][1]
    assert [t.target for t in trace] == [State.RECEIVED, State.ROUTED, State.DELIVERED, State.ACKNOWLEDGED]
    assert all(t.cause for t in trace)


def test_a_broken_file_is_nacked_with_every_finding_and_kept(workspace) -> None:
    ws = workspace
    zibo = ws.cities[ZIBO]
    header, data = zibo.pack(MessageType.A3, JINAN, PERIOD, seed=2)
    tampered = data.replace(b"<TotalCost>", b"<TotalCost>1", 1)
    assert tampered != data
    zibo.drop_file("claim.xml", tampered)
    zibo.drop_file("garbage.xml", b"this is not XML")
    ws.run()

    record = ws.message(header.message_id)
    assert record.state is State.REJECTED
    assert [f["code"] for f in record.findings] == ["sig.digest"]
    assert ws.gw.spool.read("inbox", record.sha256) == tampered  # quarantined: kept, marked REJECTED
    nack = _verified_reply(ws, zibo.inbox / f"NACK_{header.message_id}.xml")
    assert nack.header.receiver == ZIBO and nack.header.reply_to_sha256 == record.sha256
    assert b"sig.digest" in (zibo.inbox / f"NACK_{header.message_id}.xml").read_bytes()
    garbage = [m for m in ws.gw.ledger.messages() if m.message_id is None]
    assert len(garbage) == 1 and garbage[0].state is State.REJECTED
    assert (zibo.inbox / f"NACK_{garbage[0].sha256[:16]}.xml").exists()
    assert not any(ws.cities[JINAN].inbox.iterdir())  # nothing reached the receiver


def test_a_missing_receipt_is_resent_on_schedule_then_answered(workspace) -> None:
    ws = workspace
    jinan = ws.cities[JINAN]
    claim, _ = ws.claim(3)
    delivered = jinan.inbox / file_name(claim)
    delivered.unlink()  # the receiver's system took it, and lost it: no receipt comes

    ws.clock.advance(minutes=9)
    ws.run()
    assert not delivered.exists() and ws.message(claim.message_id).deliveries == 1
    ws.clock.advance(minutes=1)
    ws.run()
    assert delivered.exists()  # delivered again, under the same name
    record = ws.message(claim.message_id)
    assert record.state is State.DELIVERED and record.deliveries == 2

    jinan.answer()
    ws.run()
    assert ws.message(claim.message_id).state is State.ACKNOWLEDGED
    events = [t.event for t in ws.gw.ledger.trace(claim.message_id)[0][1]]
    assert events == ["captured", "check_passed", "delivered", "receipt_overdue", "delivered", "receipt_accepted"]


def test_when_the_schedule_is_spent_the_message_fails_with_an_alert_and_a_late_receipt_closes_it(workspace, capsys) -> None:
    ws = workspace
    jinan = ws.cities[JINAN]
    claim, _ = ws.claim(4)
    ws.clock.advance(minutes=10)
    ws.run()
    ws.clock.advance(minutes=30)
    ws.run()
    record = ws.message(claim.message_id)
    assert record.state is State.FAILED and record.deliveries == 2
    alerts = list(ws.gw.ledger.events("alert"))
    assert alerts and alerts[0][3] == {"kind": "message_failed", "cause": "receipt_missing", "id": claim.message_id,
                                     "deliveries": 2}
    assert "receipt_missing" in capsys.readouterr().out

    assert resend_by_hand(ws.gw, claim.message_id) == JINAN
    (jinan.inbox / file_name(claim)).unlink()
    ws.run()
    assert (jinan.inbox / file_name(claim)).exists()
    assert ws.message(claim.message_id).deliveries == 3
    jinan.answer()
    ws.run()
    assert ws.message(claim.message_id).state is State.ACKNOWLEDGED


def test_the_same_file_again_is_acknowledged_again_but_never_delivered_twice(workspace) -> None:
    ws = workspace
    zibo, jinan = ws.cities[ZIBO], ws.cities[JINAN]
    claim, data = ws.claim(5)
    ack = zibo.inbox / f"ACK_{claim.message_id}.xml"
    first_ack = ack.read_bytes()
    ack.unlink()
    (jinan.inbox / file_name(claim)).unlink()  # the receiver consumed the delivery
    zibo.drop_file(file_name(claim), data)
    ws.run()
    assert ack.read_bytes() == first_ack  # the stored ACK, rewritten under the same name
    assert not any(jinan.inbox.iterdir())  # not delivered again
    assert len([m for m in ws.gw.ledger.messages() if m.message_id == claim.message_id]) == 1
    assert [detail["name"] for _, _, _, detail in ws.gw.ledger.events("duplicate")] == [file_name(claim)]


def test_the_same_id_with_other_bytes_is_refused_but_a_rejected_id_may_be_reused(workspace) -> None:
    ws = workspace
    zibo, jinan = ws.cities[ZIBO], ws.cities[JINAN]
    claim, _ = ws.claim(6)
    other, _ = ws.claim(7, message_id=claim.message_id)
    conflict = [m for m in ws.gw.ledger.messages() if m.message_id == claim.message_id and m.state is State.REJECTED]
    assert len(conflict) == 1 and [f["code"] for f in conflict[0].findings] == ["envelope.id_conflict"]
    nacks = sorted(p.name for p in zibo.replies("NACK"))
    assert nacks == [f"NACK_{claim.message_id}.xml"]
    assert len(jinan.deliveries()) == 1

    # A file refused for its content may come back corrected under the same id.
    header, data = zibo.pack(MessageType.A3, JINAN, PERIOD, seed=8)
    zibo.drop_file("broken.xml", data.replace(b"<TotalCost>", b"<TotalCost>1", 1))
    ws.run()
    zibo.send(MessageType.A3, JINAN, PERIOD, seed=8, message_id=header.message_id)
    ws.run()
    states = [m.state for m in ws.gw.ledger.messages() if m.message_id == header.message_id]
    assert states == [State.REJECTED, State.DELIVERED]
    assert (zibo.inbox / f"ACK_{header.message_id}.xml").exists()


def test_a_higher_revision_supersedes_and_a_stale_one_is_refused(workspace) -> None:
    ws = workspace
    first, _ = ws.claim(9)
    second, _ = ws.claim(9, revision=2)
    assert ws.message(first.message_id).state is State.SUPERSEDED
    assert ws.message(second.message_id).state is State.DELIVERED
    ws.clock.advance(minutes=10)
    ws.run()
    assert ws.message(first.message_id).deliveries == 1  # no more resends of the superseded one
    assert ws.message(second.message_id).deliveries == 2

    stale, _ = ws.claim(9, revision=2)
    record = ws.message(stale.message_id)
    assert record.state is State.REJECTED and [f["code"] for f in record.findings] == ["envelope.stale_revision"]


def test_a_file_from_another_citys_drop_and_a_receipt_for_nothing_are_refused(workspace) -> None:
    ws = workspace
    zibo, jinan = ws.cities[ZIBO], ws.cities[JINAN]
    header, data = zibo.pack(MessageType.A3, JINAN, PERIOD, seed=10)
    jinan.drop_file(file_name(header), data)  # signed by 淄博, left in 济南's drop
    ws.run()
    record = ws.message(header.message_id)
    assert record.state is State.REJECTED and "route.wrong_drop" in [f["code"] for f in record.findings]
    assert (jinan.inbox / f"NACK_{header.message_id}.xml").exists()
    assert not zibo.replies("ACK") and not zibo.deliveries()

    receipt = make_receipt(header, answered_sha256="0" * 64, key=jinan.key, cert=jinan.cert)
    # The header answered was never delivered to 济南 (it was refused): the receipt answers nothing known.
    jinan.drop_file("RECEIPT_x.xml", receipt)
    ws.run()
    refused = [m for m in ws.gw.ledger.messages() if m.type == "RECEIPT"]
    assert refused[0].state is State.REJECTED
    assert [f["code"] for f in refused[0].findings] == ["route.unknown_reference"]


def test_the_same_bytes_twice_in_one_batch_are_one_message(workspace) -> None:
    ws = workspace
    zibo, jinan = ws.cities[ZIBO], ws.cities[JINAN]
    claim, data = zibo.send(MessageType.A3, JINAN, PERIOD, seed=11)
    zibo.drop_file("again.xml", data)
    ws.run()
    assert [m.state for m in ws.gw.ledger.messages()] == [State.DELIVERED]
    assert_exactly_once([Sent(claim, data)], {JINAN: jinan, ZIBO: zibo}, ws.gw.ledger)


def test_refused_drop_entries_are_recorded_and_alerted_once(workspace, tmp_path, capsys) -> None:
    ws = workspace
    zibo = ws.cities[ZIBO]
    (zibo.outbox / "link.xml").symlink_to(tmp_path / "keys" / f"{ZIBO}.key.pem")
    ws.run()
    ws.run()
    refused = list(ws.gw.ledger.events("refused"))
    assert [(city, detail["name"]) for _, _, city, detail in refused] == [(ZIBO, "link.xml")]
    assert (zibo.outbox / "link.xml").is_symlink()  # left for the operator; never followed
    assert "refused_file" in capsys.readouterr().out


def test_checks_in_a_process_pool_give_the_same_outcomes(tmp_path, _template) -> None:
    shutil.copytree(_template, tmp_path / "keys")
    ws = Workspace(tmp_path, [JINAN, ZIBO], retry=["10m"])
    ws.gw.checker = build_checker(replace(ws.config, workers=2))
    zibo = ws.cities[ZIBO]
    sent = [zibo.send(MessageType.A3, JINAN, PERIOD, seed=30 + i)[0] for i in range(4)]
    header, data = zibo.pack(MessageType.A3, JINAN, PERIOD, seed=40)
    zibo.drop_file("broken.xml", data.replace(b"<TotalCost>", b"<TotalCost>2", 1))
    try:
        ws.run()
        assert ws.gw.checker._pool is not None
        assert {ws.message(h.message_id).state for h in sent} == {State.DELIVERED}
        assert ws.message(header.message_id).state is State.REJECTED
    finally:
        ws.gw.checker.close()
        ws.gw.ledger.close()


def test_the_daemon_takes_a_renamed_file_at_once_on_a_watchdog_event(tmp_path, _template) -> None:
    """With a 60 s rescan, only the watchdog event can explain a pickup within seconds."""
    shutil.copytree(_template, tmp_path / "keys")
    config = load_config(write_workspace(tmp_path, [JINAN, ZIBO], rescan_seconds=60))
    with running_daemon(config, rescan_seconds=60) as gw:
        time.sleep(0.5)  # the start-up scan has passed; the next rescan is a minute away
        zibo = CitySystem(ZIBO, tmp_path / "keys", tmp_path / "drops" / ZIBO)
        jinan = CitySystem(JINAN, tmp_path / "keys", tmp_path / "drops" / JINAN)
        sent = Sent(*zibo.send(MessageType.A3, JINAN, PERIOD, seed=50))
        wait_for(lambda: problems([sent], {JINAN: jinan, ZIBO: zibo}, gw.ledger), until=lambda found: not found,
                 seconds=10, what="the claim delivered to 济南 and ACKed, once")


def test_an_unreachable_city_does_not_stall_the_others(tmp_path, _template, capsys) -> None:
    yantai = "370600"
    shutil.copytree(_template, tmp_path / "keys")
    config = load_config(write_workspace(tmp_path, [JINAN, ZIBO, yantai], rescan_seconds=0.2))
    shutil.rmtree(tmp_path / "drops" / yantai)  # 烟台's drop is gone (a dead mount, say)
    with running_daemon(config, rescan_seconds=0.2) as gw:
        zibo = CitySystem(ZIBO, tmp_path / "keys", tmp_path / "drops" / ZIBO)
        jinan = CitySystem(JINAN, tmp_path / "keys", tmp_path / "drops" / JINAN)
        sent = Sent(*zibo.send(MessageType.A3, JINAN, PERIOD, seed=60))
        wait_for(lambda: problems([sent], {JINAN: jinan, ZIBO: zibo}, gw.ledger), until=lambda found: not found,
                 seconds=10, what="the claim delivered to 济南 and ACKed, once")
    out = capsys.readouterr().out
    assert "drop_unreachable" in out and yantai in out


def test_an_oversize_file_is_refused_and_only_its_head_kept(workspace) -> None:
    ws = workspace
    zibo = ws.cities[ZIBO]
    ws.gw.max_message_bytes = ws.gw.checker.settings.max_bytes = 4096
    header, data = zibo.pack(MessageType.A3, JINAN, PERIOD, seed=12, persons=30)
    assert len(data) > 4096
    zibo.drop_file(file_name(header), data)
    ws.run()
    [record] = ws.gw.ledger.messages()
    assert record.state is State.REJECTED and [f["code"] for f in record.findings] == ["xml.too_large"]
    assert record.size == 4097  # the head only: enough to say it is too large
    assert [p.name for p in zibo.replies("NACK")] == [f"NACK_{record.sha256[:16]}.xml"]
    assert not any(zibo.outbox.iterdir())


def test_a_nack_lists_the_routing_findings_with_the_document_ones(workspace) -> None:
    ws = workspace
    zibo, jinan = ws.cities[ZIBO], ws.cities[JINAN]
    header, data = zibo.pack(MessageType.A3, JINAN, PERIOD, seed=13, persons=2)
    ws.gw.checker.settings.service_types = {ZIBO: frozenset({"99"})}  # every line of the claim breaks the list
    jinan.drop_file(file_name(header), data)  # and it is left in the wrong drop
    ws.run()
    codes = {f["code"] for f in ws.message(header.message_id).findings}
    assert {"codes.service_type", "route.wrong_drop"} <= codes
