"""The test support itself: the waiting helper and the exactly-once assertion must fail, and say why, when the
thing they guard goes wrong (a check that cannot fail guards nothing)."""

from __future__ import annotations

import itertools

import pytest

from gateway.documents.envelope import file_name
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import Event
from tests.support.exactly_once import assert_exactly_once, problems
from tests.support.waiting import anything, wait_for

from .conftest import JINAN, ZIBO


# -- wait_for -----------------------------------------------------------------------------------------------------


def test_wait_for_returns_the_answer_that_satisfied_it() -> None:
    counter = itertools.count()
    assert wait_for(lambda: next(counter), until=lambda n: n >= 3, every=0, what="three") == 3
    assert wait_for(lambda: [1], what="a non-empty list") == [1]


def test_wait_for_says_what_it_waited_for_and_the_last_answer_seen() -> None:
    counter = itertools.count()
    with pytest.raises(AssertionError) as failed:
        wait_for(lambda: ["A3_x.xml"] * next(counter), until=lambda files: len(files) > 100, seconds=0.05,
                 every=0.01, what="101 deliveries")
    message = str(failed.value)
    assert message.startswith("timed out after 0.05 s waiting for 101 deliveries; last seen: ['A3_x.xml'")


def test_wait_for_retries_the_exceptions_it_is_told_of_and_shows_the_last() -> None:
    attempts = itertools.count()

    def flaky() -> str:
        if next(attempts) < 2:
            raise ConnectionError("database restarting")
        return "back"

    assert wait_for(flaky, until=anything, retry_on=ConnectionError, every=0, what="the database") == "back"
    with pytest.raises(AssertionError, match=r"last seen: raised ConnectionError\('still down'\)"):
        wait_for(lambda: (_ for _ in ()).throw(ConnectionError("still down")), retry_on=ConnectionError,
                 seconds=0.02, every=0.01, what="the database")
    with pytest.raises(KeyError):  # anything else is a defect in the test or the code: raised at once
        wait_for(lambda: {}["missing"], retry_on=ConnectionError, what="a key")


def test_wait_for_shortens_a_long_answer_keeping_its_start_and_end() -> None:
    output = "started\n" + "x" * 10_000 + "\nTraceback: the real reason"
    with pytest.raises(AssertionError) as failed:
        wait_for(lambda: output, until=lambda out: "stopped" in out, seconds=0, what="the stop")
    message = str(failed.value)
    assert "started" in message and "the real reason" in message and len(message) < 2000


# -- the exactly-once assertion -----------------------------------------------------------------------------------


@pytest.fixture
def delivered(exchange):
    """Two claims delivered and answered correctly: the promise holds, so every problem below is one made."""
    zibo = exchange.cities[ZIBO]
    sent = [zibo.send(MessageType.A3, JINAN, seed=seed) for seed in (1, 2)]
    exchange.step()
    assert problems(sent, exchange.drops, exchange.ledger) == []
    return exchange, sent


def test_a_delivery_doubled_under_another_name_is_named(delivered) -> None:
    exchange, sent = delivered
    exchange.cities[JINAN].drop.inbox["copy.xml"] = sent[0].data
    [problem] = problems(sent, exchange.drops, exchange.ledger)
    assert problem == (f"message {sent[0].header.message_id} (A3 {ZIBO}->{JINAN}): delivered 2 times to {JINAN}: "
                       f"{file_name(sent[0].header)}, copy.xml")


def test_a_missing_delivery_and_a_missing_ack_are_named(delivered) -> None:
    exchange, sent = delivered
    del exchange.cities[JINAN].drop.inbox[file_name(sent[0].header)]
    del exchange.cities[ZIBO].drop.inbox[f"ACK_{sent[1].header.message_id}.xml"]
    found = problems(sent, exchange.drops, exchange.ledger)
    assert found == [
        f"message {sent[0].header.message_id} (A3 {ZIBO}->{JINAN}): not delivered to {JINAN}'s inbox "
        f"(no {file_name(sent[0].header)})",
        f"message {sent[1].header.message_id} (A3 {ZIBO}->{JINAN}): no ACK_{sent[1].header.message_id}.xml in "
        f"{ZIBO}'s inbox",
    ]


def test_a_second_reply_and_a_stray_file_are_named(delivered) -> None:
    exchange, sent = delivered
    ident = sent[0].header.message_id
    zibo = exchange.cities[ZIBO].drop
    zibo.inbox[f"NACK_{ident}.xml"] = b"<Message/>"
    zibo.inbox["ACK_unknown.xml"] = b"<Message/>"
    found = problems(sent, exchange.drops, exchange.ledger)
    assert found == [
        f"message {ident} (A3 {ZIBO}->{JINAN}): {ZIBO}'s inbox holds ACK_{ident}.xml, NACK_{ident}.xml "
        f"(expected only ACK_{ident}.xml)",
        f"in {ZIBO}'s inbox, answering nothing sent: ACK_unknown.xml",
    ]
    assert problems(sent, exchange.drops, exchange.ledger, strict=False) == found[:1]


def test_the_ledger_side_is_checked_too(delivered) -> None:
    exchange, sent = delivered
    assert problems(sent, exchange.drops, exchange.ledger, receipts=True)[0].endswith(
        "0 receipts forwarded to 370300 (expected 1): []")
    with exchange.ledger.unit_of_work() as tx:
        [first] = tx.messages_by_id(sent[0].header.message_id)
        tx.transition(first.key, Event.RESEND_REQUESTED, exchange.clock(), "resend")
        tx.transition(first.key, Event.DELIVERED, exchange.clock(), "written again")  # counted twice
        tx.add_outgoing(JINAN, "A3_late.xml", "inbox", first.sha256, "delivery", first.key, exchange.clock())
    found = problems(sent, exchange.drops, exchange.ledger)
    assert found == [
        f"message {sent[0].header.message_id} (A3 {ZIBO}->{JINAN}): the ledger counts 2 deliveries (expected 1)",
        f"still owed by the ledger: delivery A3_late.xml to {JINAN}",
    ]
    assert problems(sent, exchange.drops, exchange.ledger, deliveries=None) == found[1:]


def test_a_file_left_in_a_drop_and_a_message_never_recorded_are_named(exchange) -> None:
    zibo = exchange.cities[ZIBO]
    sent = zibo.send(MessageType.A3, JINAN, seed=3)
    found = problems([sent], exchange.drops, exchange.ledger)
    assert f"message {sent.header.message_id} (A3 {ZIBO}->{JINAN}): not in the ledger" in found
    assert f"left in {ZIBO}'s outbox (never taken): {file_name(sent.header)}" in found
    with pytest.raises(AssertionError, match=r"^\d+ problems with 1 messages sent:\n  message "):
        assert_exactly_once([sent], exchange.drops, exchange.ledger)


def test_folders_are_read_as_a_citys_system_reads_them(tmp_path, delivered) -> None:
    """The same check on real drop folders (the daemon tests'): hidden temporaries are not the city's."""
    exchange, sent = delivered
    for code, drop in exchange.drops.items():
        for sub, files in (("inbox", drop.inbox), ("outbox", {})):
            folder = tmp_path / code / sub
            folder.mkdir(parents=True)
            for name, data in files.items():
                (folder / name).write_bytes(data)
    folders = {code: tmp_path / code for code in exchange.drops}
    assert problems(sent, folders, exchange.ledger) == []
    (tmp_path / JINAN / "inbox" / ".A3_x.xml.part").write_bytes(b"half")  # a killed writer's leftover
    (tmp_path / ZIBO / "outbox" / "A3_new.xml").write_bytes(b"new")
    assert problems(sent, folders, exchange.ledger) == [f"left in {ZIBO}'s outbox (never taken): A3_new.xml"]
