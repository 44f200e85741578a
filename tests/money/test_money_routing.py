"""Routing of the money and of 附件5, pure: a payment or refund names settlements (附件4) the two cities
exchanged through the gateway; an A5 goes on only for the pairs that asked for it."""

from __future__ import annotations

from datetime import datetime, timezone

from gateway.domain import routing
from gateway.domain.envelope import Header, MessageType
from gateway.domain.lifecycle import State

RESIDENCE, INSURED = "370300", "370100"
CITIES = {RESIDENCE, INSURED, "370600"}


def head(kind: MessageType, sender: str, receiver: str, serial: str = "P-1") -> Header:
    return Header(f"{sender}M{serial}", kind, sender, receiver, "2026-10", serial, 1,
                  datetime(2026, 12, 20, tzinfo=timezone.utc))


def a4(state: State = State.ACKNOWLEDGED) -> routing.Known:
    return routing.Known(7, "ab" * 32, state, 1, INSURED, RESIDENCE, "A4", "A4-1", "2026-10")


def test_a_payment_of_an_exchanged_settlement_is_routed() -> None:
    decision = routing.decide_money(INSURED, head(MessageType.PAYMENT, INSURED, RESIDENCE), "cd" * 32, CITIES, [],
                                    [], [("A4-1", "2026-10", a4())])
    assert decision.route and decision.findings == ()


def test_money_about_a_settlement_never_passed_on_is_refused() -> None:
    for known in (None, a4(State.REJECTED), a4(State.RECEIVED)):
        decision = routing.decide_money(RESIDENCE, head(MessageType.REFUND, RESIDENCE, INSURED), "cd" * 32, CITIES,
                                        [], [], [("A4-1", "2026-10", known)])
        assert not decision.route and decision.codes == ["route.unknown_settlement"]
        assert "A4-1" in decision.findings[0].message


def test_money_keeps_the_attachment_checks_and_reports_them_together() -> None:
    decision = routing.decide_money("370600", head(MessageType.PAYMENT, INSURED, RESIDENCE), "cd" * 32, CITIES,
                                    [], [], [("A4-9", "2026-10", None)])
    assert decision.codes == ["route.wrong_drop", "route.unknown_settlement"]
    unread = routing.decide_money(INSURED, head(MessageType.PAYMENT, INSURED, RESIDENCE), "cd" * 32, CITIES, [], [],
                                  None)  # the body could not be read: the check's findings say why
    assert unread.route


def test_an_a5_goes_on_only_for_a_configured_pair() -> None:
    a5 = head(MessageType.A5, RESIDENCE, INSURED, "A5-1")
    refused = routing.decide_document(RESIDENCE, a5, "ef" * 32, CITIES, [], [], a5_pairs=frozenset())
    assert refused.codes == ["route.a5_not_carried"] and "附件5" in refused.findings[0].message
    other = routing.decide_document(RESIDENCE, a5, "ef" * 32, CITIES, [], [], a5_pairs={(INSURED, RESIDENCE)})
    assert other.codes == ["route.a5_not_carried"]  # the reverse pair is another pair
    assert routing.decide_document(RESIDENCE, a5, "ef" * 32, CITIES, [], [], a5_pairs={(RESIDENCE, INSURED)}).route
    a3 = head(MessageType.A3, RESIDENCE, INSURED, "A3-1")
    assert routing.decide_document(RESIDENCE, a3, "ef" * 32, CITIES, [], [], a5_pairs=frozenset()).route
