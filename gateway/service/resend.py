"""Resend: a delivered message whose receipt is overdue is delivered again on the schedule, then FAILED.

The schedule is gateway/domain/lifecycle.py's RetryPolicy; the time comes from the injected clock, so the
schedule is tested without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gateway.domain.lifecycle import RESENDABLE, SCHEDULED, Event, on_receipt_timeout
from gateway.domain.notes import Note, NoteError
from gateway.service.context import Gateway
from gateway.service.ports.ledger import EVERYTHING, MessageRecord, Scope
from gateway.service.scopes import of_message


class UnknownMessage(NoteError, LookupError):
    """No message of that id waits for a receipt: said in the reader's language by the CLI or the console."""


@dataclass
class ResendReport:
    resent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cities_owed: set[str] = field(default_factory=set)


def resend_due(gw: Gateway) -> ResendReport:
    """Ask the schedule about every delivered message still waiting for its receipt: on a snapshot first (no
    lock: most steps find nothing due), then each due message again under its own scope (a receipt, a
    delivery or another instance's resend may have moved it meanwhile)."""
    report = ResendReport()
    now = gw.clock()
    with gw.unit_of_work(Scope()) as (tx, _):
        due = [m for m in tx.messages_in(sorted(SCHEDULED)) if _due(gw, m, now) is not None]
    for seen in due:
        with gw.unit_of_work(of_message(seen)) as (tx, events):
            message = tx.get_message(seen.key)
            event = _due(gw, message, now)
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


def _due(gw: Gateway, message: MessageRecord, now: datetime) -> Event | None:
    """What the schedule calls for now (RECEIPT_OVERDUE, RETRIES_EXHAUSTED) of a message waiting for its
    receipt; None: wait (or it waits no more)."""
    if message.state not in SCHEDULED or message.last_delivered_at is None:
        return None
    return on_receipt_timeout(gw.policy, message.deliveries, message.last_delivered_at, now)


def resend_by_hand(gw: Gateway, message_id: str, cause: str = "operator: ltcgw resend") -> str:
    """Deliver a message again now (RESEND_REQUESTED); returns the city it goes to."""
    now = gw.clock()
    with gw.unit_of_work(EVERYTHING) as (tx, events):  # an operator's action, rare: it runs alone
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
