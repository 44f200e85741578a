"""The resend schedule on fakes, driven by the injected clock: delivered again on each wait, then FAILED."""

from __future__ import annotations

import pytest

from gateway.documents.envelope import file_name
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.service.resend import UnknownMessage, resend_by_hand, resend_due
from tests.support.exactly_once import assert_exactly_once

from .conftest import JINAN, ZIBO

# The workspace's schedule: ["10m", "30m"]: a resend 10 minutes after the first delivery, FAILED 30 after that.


def test_no_receipt_resends_on_the_schedule_then_fails_with_an_alert(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    claim = zibo.send(MessageType.A3, JINAN, seed=1)
    exchange.step()
    name = file_name(claim.header)

    exchange.clock.advance(minutes=9)
    assert resend_due(exchange.gw).resent == []  # not due yet

    exchange.clock.advance(minutes=1)
    report = resend_due(exchange.gw)
    assert report.resent == [claim.header.message_id] and report.cities_owed == {JINAN}
    assert exchange.message(claim.header).state is State.WAITING_FOR_RETRY
    assert resend_due(exchange.gw).resent == []  # scheduled once, whatever asks again
    exchange.flush()
    record = exchange.message(claim.header)
    assert record.state is State.DELIVERED and record.deliveries == 2
    assert jinan.drop.written == [name, name] and jinan.drop.inbox == {name: claim.data}  # the same name again

    exchange.clock.advance(minutes=29)
    assert resend_due(exchange.gw).failed == []
    exchange.clock.advance(minutes=1)
    report = resend_due(exchange.gw)
    assert report.failed == [claim.header.message_id] and report.resent == []
    assert exchange.message(claim.header).state is State.FAILED
    [alert] = exchange.events("alert")
    assert (alert["kind"], alert["cause"], alert["deliveries"]) == ("message_failed", "receipt_missing", 2)
    exchange.flush()
    assert jinan.drop.written == [name, name]  # nothing more owed once FAILED


def test_a_late_receipt_still_closes_a_failed_message(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    claim = zibo.send(MessageType.A3, JINAN, seed=2)
    exchange.step()
    for minutes in (10, 30):
        exchange.clock.advance(minutes=minutes)
        resend_due(exchange.gw)
        exchange.flush()
    assert exchange.message(claim.header).state is State.FAILED
    jinan.answer()
    exchange.step()
    assert exchange.message(claim.header).state is State.ACKNOWLEDGED
    assert_exactly_once([claim], exchange.drops, exchange.ledger, receipts=True, deliveries=2)


def test_an_operator_resend_of_a_failed_message_owes_one_delivery(exchange) -> None:
    zibo = exchange.cities[ZIBO]
    claim = zibo.send(MessageType.A3, JINAN, seed=3)
    exchange.step()
    for minutes in (10, 30):
        exchange.clock.advance(minutes=minutes)
        resend_due(exchange.gw)
        exchange.flush()
    assert resend_by_hand(exchange.gw, claim.header.message_id) == JINAN
    assert resend_by_hand(exchange.gw, claim.header.message_id) == JINAN  # asked twice: still one write owed
    owed = [o for o in exchange.ledger.outgoing(JINAN) if o.written_at is None and not o.cancelled]
    assert [o.kind for o in owed] == ["delivery"]
    exchange.flush()
    record = exchange.message(claim.header)
    assert record.state is State.DELIVERED and record.deliveries == 3
    causes = [t.cause for _, ts in exchange.ledger.trace(claim.header.message_id) for t in ts]
    assert causes.count("operator: ltcgw resend") == 2


def test_an_operator_resend_of_an_unknown_or_closed_message_is_refused(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    with pytest.raises(UnknownMessage, match="no message NOPE waiting for a receipt"):
        resend_by_hand(exchange.gw, "NOPE")
    claim = zibo.send(MessageType.A3, JINAN, seed=4)
    exchange.step()
    jinan.answer()
    exchange.step()
    with pytest.raises(UnknownMessage, match="states: ACKNOWLEDGED"):
        resend_by_hand(exchange.gw, claim.header.message_id)
