"""Writing what is owed on fakes: written, then marked; a failed or unmarked write is done again, same name."""

from __future__ import annotations

import pytest

from gateway.service.ports.transport import TransportError
from gateway.documents.envelope import file_name
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import Event, State
from gateway.service.outgoing import flush_city
from tests.support.exactly_once import assert_exactly_once

from .conftest import JINAN, ZIBO


def test_everything_owed_is_written_in_order_and_marked_once(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    claims = [zibo.send(MessageType.A3, JINAN, seed=i) for i in (1, 2, 3)]
    exchange.capture()
    exchange.process()
    assert flush_city(exchange.gw, jinan.drop) == 3
    decided = sorted(claims, key=lambda c: exchange.message(c.header).key)  # the ledger's order of decisions
    assert jinan.drop.written == [file_name(c.header) for c in decided]
    assert flush_city(exchange.gw, jinan.drop) == 0  # nothing owed any more
    assert flush_city(exchange.gw, zibo.drop) == 3
    assert all(o.written_at == exchange.clock() for o in exchange.ledger.outgoing())
    assert_exactly_once(claims, exchange.drops, exchange.ledger)


def test_an_unreachable_receiver_delays_only_its_own_writes(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    claim = zibo.send(MessageType.A3, JINAN, seed=4)
    exchange.capture()
    exchange.process()
    jinan.drop.down = "connection timed out"
    with pytest.raises(TransportError):
        flush_city(exchange.gw, jinan.drop)
    assert flush_city(exchange.gw, zibo.drop) == 1  # the sender has its ACK all the same
    assert exchange.message(claim.header).state is State.ROUTED  # owed, not lost
    jinan.drop.down = None
    assert flush_city(exchange.gw, jinan.drop) == 1
    assert_exactly_once([claim], exchange.drops, exchange.ledger)


def test_a_write_whose_mark_was_lost_is_written_again_under_the_same_name_and_counted_once(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    claim = zibo.send(MessageType.A3, JINAN, seed=5)
    exchange.capture()
    exchange.process()
    exchange.ledger.fail_commit(OSError("disk I/O error"), after="mark_written")
    with pytest.raises(OSError):
        flush_city(exchange.gw, jinan.drop)
    assert jinan.drop.inbox == {file_name(claim.header): claim.data}  # written, but not known to be
    assert exchange.message(claim.header).state is State.ROUTED
    assert flush_city(exchange.gw, jinan.drop) == 1
    assert jinan.drop.written == [file_name(claim.header)] * 2 and len(jinan.drop.inbox) == 1
    exchange.flush()
    assert_exactly_once([claim], exchange.drops, exchange.ledger)  # one file, one delivery in the ledger


def test_a_write_marked_by_another_instance_first_is_not_counted_again(exchange) -> None:
    """Two instances wrote the same owed file (a lease changed hands): the second mark is refused."""
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    claim = zibo.send(MessageType.A3, JINAN, seed=6)
    exchange.capture()
    exchange.process()
    [owed] = [o for o in exchange.ledger.outgoing(JINAN) if o.kind == "delivery"]
    real_deliver = jinan.drop.deliver

    def deliver_while_the_other_marks(name, src):
        real_deliver(name, src)
        with exchange.ledger.unit_of_work() as tx:  # the other instance's write and mark, in between
            assert tx.mark_written(owed.key, exchange.clock())
            tx.transition(owed.message_key, Event.DELIVERED, exchange.clock(), "written by the other instance")

    jinan.drop.deliver = deliver_while_the_other_marks
    assert flush_city(exchange.gw, jinan.drop) == 0  # written (same name, same bytes), not counted
    record = exchange.message(claim.header)
    assert record.state is State.DELIVERED and record.deliveries == 1
