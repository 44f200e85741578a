"""Resend: a delivered message whose receipt is overdue is delivered again on the schedule, then FAILED.

The schedule is gateway/domain/lifecycle.py's RetryPolicy; the time comes from the injected clock, so the
schedule is tested without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.domain.lifecycle import RESENDABLE, SCHEDULED, Event, on_receipt_timeout
from gateway.domain.notes import Note, NoteError
from gateway.service.context import Gateway


class UnknownMessage(NoteError, LookupError):
    """No message of that id waits for a receipt: said in the reader's language by the CLI or the console."""


@dataclass
class ResendReport:
    resent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cities_owed: set[str] = field(default_factory=set)


def resend_due(gw: Gateway) -> ResendReport:
    """Ask the schedule about every delivered message still waiting for its receipt."""
    report = ResendReport()
    now = gw.clock()
    with gw.unit_of_work() as (tx, events):
        for message in tx.messages_in(sorted(SCHEDULED)):
            if message.last_delivered_at is None:
                continue
            event = on_receipt_timeout(gw.policy, message.deliveries, message.last_delivered_at, now)
            if event is Event.RECEIPT_OVERDUE:
                tx.transition(message.key, event, now, f"no receipt after delivery {message.deliveries}: resend")
                tx.add_outgoing(message.receiver, message.delivery_name, "inbox", message.sha256, "delivery", message.key, now)
                report.resent.append(message.message_id)
                report.cities_owed.add(message.receiver)
                events.emit("resend_due", id=message.message_id)
                events.alert("receipt_overdue", id=message.message_id)
            elif event is Event.RETRIES_EXHAUSTED:
                tx.transition(message.key, event, now, f"no receipt after {message.deliveries} deliveries")
                tx.record_event(now, "alert", message.receiver, {
                    "kind": "message_failed", "cause": "receipt_missing", "id": message.message_id,
                    "deliveries": message.deliveries,
                })
                report.failed.append(message.message_id)
                events.alert("message_failed", id=message.message_id, cause="receipt_missing")
    return report


def resend_by_hand(gw: Gateway, message_id: str, cause: str = "operator: ltcgw resend") -> str:
    """Deliver a message again now (RESEND_REQUESTED); returns the city it goes to."""
    now = gw.clock()
    with gw.unit_of_work() as (tx, events):
        candidates = [m for m in tx.messages_by_id(message_id) if m.state in RESENDABLE]
        if not candidates:
            states = [m.state.value for m in tx.messages_by_id(message_id)]
            raise UnknownMessage(
                Note("resend.unknown_states", "no message {id} waiting for a receipt (states: {states})",
                     id=message_id, states=", ".join(states)) if states
                else Note("resend.unknown", "no message {id} waiting for a receipt", id=message_id))
        message = candidates[-1]
        tx.transition(message.key, Event.RESEND_REQUESTED, now, cause)
        if not any(o.kind == "delivery" and o.written_at is None and not o.cancelled for o in tx.outgoing_of(message.key)):
            tx.add_outgoing(message.receiver, message.delivery_name, "inbox", message.sha256, "delivery", message.key, now)
        events.emit("resend_requested", id=message_id, receiver=message.receiver)
    return message.receiver
