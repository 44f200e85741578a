"""Processing captured files on fakes: route, reject, duplicate, receipt, supersede; each decision whole."""

from __future__ import annotations

import pytest

from gateway.documents.envelope import file_name
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from tests.support.exactly_once import assert_exactly_once

from .conftest import JINAN, YANTAI, ZIBO


def test_a_valid_claim_is_routed_acked_and_delivered_byte_for_byte(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    claim = zibo.send(MessageType.A3, JINAN, seed=1)
    assert exchange.capture() == 1
    report = exchange.process()
    assert (report.routed, report.rejected, report.cities_owed) == (1, 0, {ZIBO, JINAN})
    record = exchange.message(claim.header)
    assert record.state is State.ROUTED and record.delivery_name == file_name(claim.header)
    owed = {(o.city, o.kind, o.name) for o in exchange.ledger.outgoing() if o.written_at is None}
    assert owed == {(JINAN, "delivery", file_name(claim.header)), (ZIBO, "ack", f"ACK_{claim.header.message_id}.xml")}
    assert jinan.drop.inbox == {} and zibo.drop.inbox == {}  # decided, nothing written yet

    assert exchange.flush() == 2
    assert jinan.drop.inbox == {file_name(claim.header): claim.data}
    assert exchange.message(claim.header).state is State.DELIVERED
    assert_exactly_once([claim], exchange.drops, exchange.ledger)


def test_a_broken_file_is_rejected_with_every_finding_and_never_delivered(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    broken = zibo.broken(MessageType.A3, JINAN, seed=2)
    report = exchange.step()
    assert (report.routed, report.rejected) == (0, 1)
    record = exchange.message(broken.header)
    assert record.state is State.REJECTED
    codes = [f["code"] for f in record.findings]
    assert "sig.digest" in codes, codes
    nack = zibo.drop.inbox[f"NACK_{broken.header.message_id}.xml"]
    assert all(code.encode() in nack for code in codes)  # the NACK lists what the ledger recorded
    assert jinan.deliveries() == []
    assert exchange.spool.read("inbox", broken.sha256) == broken.data  # kept in quarantine
    assert_exactly_once([broken], exchange.drops, exchange.ledger)


def test_an_unreadable_file_is_answered_by_its_digest(exchange) -> None:
    zibo = exchange.cities[ZIBO]
    zibo.drop.put("garbage.xml", b"<Message><Header>")
    exchange.step()
    [record] = exchange.ledger.messages()
    assert record.state is State.REJECTED and record.message_id is None
    assert zibo.drop.files("NACK_") == [f"NACK_{record.sha256[:16]}.xml"]


def test_the_same_file_again_gets_the_stored_ack_and_is_never_delivered_twice(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    claim = zibo.send(MessageType.A3, JINAN, seed=3)
    exchange.step()
    ack_name = f"ACK_{claim.header.message_id}.xml"
    first_ack = zibo.drop.inbox.pop(ack_name)  # the city consumed its ACK and the receiver its delivery
    jinan.drop.inbox.clear()
    zibo.drop.put(file_name(claim.header), claim.data)  # ... and its system sends the file again
    report = exchange.step()
    assert (report.duplicates, report.routed) == (1, 0)
    assert zibo.drop.inbox == {ack_name: first_ack}  # the same signed ACK, under the same name
    assert jinan.drop.inbox == {} and jinan.drop.written == [file_name(claim.header)]
    assert [m.message_id for m in exchange.ledger.messages()] == [claim.header.message_id]
    assert [d["name"] for d in exchange.events("duplicate")] == [file_name(claim.header)]


def test_the_same_bytes_twice_in_one_batch_are_one_message(exchange) -> None:
    zibo = exchange.cities[ZIBO]
    claim = zibo.send(MessageType.A3, JINAN, seed=4)
    zibo.drop.put("again.xml", claim.data)
    report = exchange.step()
    assert (report.routed, report.duplicates) == (1, 1)
    assert_exactly_once([claim], exchange.drops, exchange.ledger)


def test_the_same_id_with_other_bytes_is_refused(exchange) -> None:
    zibo = exchange.cities[ZIBO]
    first = zibo.send(MessageType.A3, JINAN, seed=5)
    exchange.step()
    other = zibo.send(MessageType.A3, JINAN, seed=6, message_id=first.header.message_id)
    exchange.step()
    by_bytes = {m.sha256: m for m in exchange.ledger.messages()}
    assert by_bytes[other.sha256].state is State.REJECTED
    assert [f["code"] for f in by_bytes[other.sha256].findings] == ["envelope.id_conflict"]
    assert by_bytes[first.sha256].state is State.DELIVERED and len(by_bytes) == 2


def test_a_receipt_closes_the_message_and_goes_byte_for_byte_to_its_sender(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    claim = zibo.send(MessageType.A3, JINAN, seed=7)
    exchange.step()
    [answered] = jinan.answer()
    receipt = jinan.drop.outbox[f"RECEIPT_{answered[:-4]}.xml"].data
    report = exchange.step()
    assert report.receipts == 1
    assert exchange.message(claim.header).state is State.ACKNOWLEDGED
    assert zibo.drop.inbox[f"RECEIPT_{claim.header.message_id}.xml"] == receipt
    [forwarded] = [m for m in exchange.ledger.messages() if m.type == "RECEIPT"]
    assert forwarded.state is State.FORWARDED and forwarded.reply_to == claim.header.message_id
    assert_exactly_once([claim], exchange.drops, exchange.ledger, receipts=True)


def test_a_declining_receipt_closes_the_message_as_declined(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    claim = zibo.send(MessageType.A3, JINAN, seed=8)
    exchange.step()
    jinan.answer(reject="金额不符 (amounts differ)")
    exchange.step()
    assert exchange.message(claim.header).state is State.DECLINED
    assert zibo.drop.files("RECEIPT_") == [f"RECEIPT_{claim.header.message_id}.xml"]


def test_a_receipt_proves_a_delivery_whose_mark_was_lost(exchange) -> None:
    """Written to the receiver but the mark never committed (a crash): the receipt proves it delivered."""
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    claim = zibo.send(MessageType.A3, JINAN, seed=9)
    exchange.capture()
    exchange.process()
    exchange.ledger.fail("mark_written", RuntimeError("crash between the write and its mark"))
    with pytest.raises(RuntimeError, match="crash between"):
        exchange.flush()
    assert exchange.message(claim.header).state is State.ROUTED and jinan.deliveries() == [file_name(claim.header)]
    jinan.answer()
    exchange.capture()
    exchange.process()
    record = exchange.message(claim.header)
    assert record.state is State.ACKNOWLEDGED and record.deliveries == 1
    exchange.flush()  # the owed delivery was cancelled with the receipt: not written again
    assert jinan.drop.written == [file_name(claim.header)]
    assert_exactly_once([claim], exchange.drops, exchange.ledger, receipts=True)


def test_a_receipt_for_nothing_known_is_refused(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    never = zibo.pack(MessageType.A3, JINAN, seed=10)  # signed, but never sent through the gateway
    from gateway.documents.replies import make_receipt

    jinan.drop.put("RECEIPT_x.xml", make_receipt(never.data, key=jinan.system.key, cert=jinan.system.cert))
    exchange.step()
    [refused] = exchange.ledger.messages()
    assert refused.state is State.REJECTED and [f["code"] for f in refused.findings] == ["route.unknown_reference"]
    assert zibo.drop.inbox == {} and jinan.drop.files("NACK_")


def test_a_higher_revision_supersedes_the_open_one_and_cancels_its_delivery(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    first = zibo.send(MessageType.A3, JINAN, seed=11)
    exchange.capture()
    exchange.process()  # routed, its delivery owed but not written yet
    second = zibo.send(MessageType.A3, JINAN, seed=11, revision=2)
    exchange.step()
    assert exchange.message(first.header).state is State.SUPERSEDED
    assert exchange.message(second.header).state is State.DELIVERED
    assert jinan.deliveries() == [file_name(second.header)]  # the superseded one is never written
    cancelled = [o for o in exchange.ledger.outgoing() if o.cancelled]
    assert [(o.kind, o.message_key) for o in cancelled] == [("delivery", exchange.message(first.header).key)]
    assert zibo.drop.files("ACK_") == sorted([f"ACK_{first.header.message_id}.xml", f"ACK_{second.header.message_id}.xml"])


def test_a_stale_revision_is_refused(exchange) -> None:
    zibo = exchange.cities[ZIBO]
    zibo.send(MessageType.A3, JINAN, seed=12, revision=2)
    exchange.step()
    stale = zibo.send(MessageType.A3, JINAN, seed=12, revision=2)
    exchange.step()
    record = exchange.message(stale.header)
    assert record.state is State.REJECTED and [f["code"] for f in record.findings] == ["envelope.stale_revision"]


def test_a_file_in_another_citys_drop_is_refused(exchange) -> None:
    zibo, yantai = exchange.cities[ZIBO], exchange.cities[YANTAI]
    claim = zibo.pack(MessageType.A3, JINAN, seed=13)
    yantai.drop.put(file_name(claim.header), claim.data)  # signed by 淄博, left in 烟台's drop
    exchange.step()
    record = exchange.message(claim.header)
    assert record.state is State.REJECTED and "route.wrong_drop" in [f["code"] for f in record.findings]
    assert yantai.drop.files("NACK_") == [f"NACK_{claim.header.message_id}.xml"] and zibo.drop.inbox == {}


def test_a_decision_that_fails_leaves_nothing_and_is_made_again_whole(exchange) -> None:
    """One unit of work: the message, its transition, its delivery and ACK, the capture marked processed."""
    zibo = exchange.cities[ZIBO]
    claim = zibo.send(MessageType.A3, JINAN, seed=14)
    exchange.capture()
    exchange.ledger.fail("set_delivery_name", OSError("disk full"))
    with pytest.raises(OSError, match="disk full"):
        exchange.process()
    assert exchange.ledger.messages() == [] and exchange.ledger.outgoing() == []
    assert [c.processed for c in exchange.ledger.tables.captures.values()] == [False]
    report = exchange.process()
    assert report.routed == 1
    exchange.flush()
    assert_exactly_once([claim], exchange.drops, exchange.ledger)


def test_a_commit_that_fails_leaves_the_capture_pending(exchange) -> None:
    zibo = exchange.cities[ZIBO]
    claim = zibo.send(MessageType.A3, JINAN, seed=15)
    exchange.capture()
    rollbacks = exchange.ledger.rollbacks
    exchange.ledger.fail_commit(OSError("database or disk is full"), after="add_message")  # the decision's
    with pytest.raises(OSError):
        exchange.process()
    assert exchange.ledger.rollbacks == rollbacks + 1 and exchange.ledger.messages() == []
    assert [c.processed for c in exchange.ledger.tables.captures.values()] == [False]
    exchange.step()
    assert_exactly_once([claim], exchange.drops, exchange.ledger)
