"""What each unit of work decides about (gateway/service/scopes.py), on fakes: the rule read off a message's
type, the scopes the use cases name, and the fake refusing a change outside its unit's scope (on PostgreSQL
another instance could be deciding about it at that moment)."""

from __future__ import annotations

import pytest

from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import Event
from gateway.service.ports.ledger import EVERYTHING, Scope
from gateway.service.resend import resend_due
from gateway.service.scopes import pair_cities

from .conftest import JINAN, YANTAI, ZIBO


def test_a_message_is_covered_by_its_insured_city_or_both_cities_when_its_type_has_no_direction() -> None:
    assert pair_cities("A3", ZIBO, JINAN) == {JINAN}  # the residence city claims from the insured city
    assert pair_cities("A4", JINAN, ZIBO) == {JINAN}  # the insured city settles
    assert pair_cities("ENTITLEMENT", JINAN, YANTAI) == {JINAN}
    assert pair_cities("CHANGE_FILING", YANTAI, JINAN) == {JINAN}
    assert pair_cities("PAYMENT", JINAN, ZIBO) == {JINAN}
    for kind in ("RECEIPT", "DISPUTE", "DISPUTE_ANSWER", "WITHDRAWAL", "ACK"):
        assert pair_cities(kind, JINAN, ZIBO) == {JINAN, ZIBO}, kind
    assert pair_cities(None, None, None) == frozenset()  # unreadable: its bytes only


def test_the_flow_decides_under_the_insured_city_and_never_takes_everything(exchange) -> None:
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    zibo.send(MessageType.A3, JINAN, seed=1)
    exchange.cities[YANTAI].send(MessageType.A3, JINAN, seed=2)
    exchange.step()
    jinan.answer()
    exchange.step()  # the receipts: forwarded, the claims closed
    exchange.clock.advance(minutes=11)
    resend_due(exchange.gw)
    taken = exchange.ledger.scopes
    assert EVERYTHING not in taken
    # Deciding a message, writing its delivery or forwarded receipt: its insured city (a receipt: both cities).
    about_messages = [s for s in taken if s.messages and s.files]
    assert len(about_messages) == 8  # two claims and two receipts, each decided and written
    assert {tuple(sorted(s.cities)) for s in about_messages} == {(JINAN,), (JINAN, YANTAI), (JINAN, ZIBO)}


def test_resend_due_with_nothing_due_takes_no_lock(exchange) -> None:
    exchange.cities[ZIBO].send(MessageType.A3, JINAN, seed=3)
    exchange.step()
    before = len(exchange.ledger.scopes)
    resend_due(exchange.gw)
    assert exchange.ledger.scopes[before:] == [Scope()]  # a snapshot only
    exchange.clock.advance(minutes=11)
    resend_due(exchange.gw)
    assert exchange.ledger.scopes[-1].cities == {JINAN}  # the due one, under its insured city


def test_a_change_outside_the_units_scope_is_refused_by_the_fake(exchange) -> None:
    exchange.cities[ZIBO].send(MessageType.A3, JINAN, seed=4)
    exchange.step()
    [message] = exchange.ledger.messages()
    with pytest.raises(AssertionError, match="outside the unit of work's scope"):
        with exchange.ledger.unit_of_work(Scope(frozenset({ZIBO}))) as tx:  # the residence city's: not this claim's
            tx.transition(message.key, Event.RESEND_REQUESTED, exchange.clock(), "by hand")
    with exchange.ledger.unit_of_work(Scope(frozenset({JINAN}))) as tx:
        tx.transition(message.key, Event.RESEND_REQUESTED, exchange.clock(), "by hand")
