"""What each unit of work decides about (the ledger port's Scope), read off the message it is about.

One rule makes the scopes meet wherever decisions could race: a message is covered by its pair's insured city
(参保地), read off its type's direction; a type without a direction (a receipt, a dispute, a withdrawal) takes
both cities of its pair, one of which is the insured city. So a claim, its settlement, their revisions,
the receipts, disputes and withdrawals about them, their deliveries and resends all take one city, and so does
every check across documents of one insured city (the register: double billing within a claim, across claims
and across residence cities, entitlements, a settlement against its claim). Decisions about different insured
cities share nothing and may run at once on different instances.
"""

from __future__ import annotations

from gateway.domain.envelope import Header, MessageType, sent_by_residence_city
from gateway.service.ports.ledger import Capture, MessageRecord, Scope


def pair_cities(kind: str | None, sender: str | None, receiver: str | None) -> frozenset[str]:
    """The cities whose lock covers a message of `kind` from `sender` to `receiver`."""
    if kind is None or sender is None or receiver is None:
        return frozenset()  # no readable header: nothing but its own bytes is decided on
    try:
        insured = receiver if sent_by_residence_city(MessageType(kind)) else sender
    except (KeyError, ValueError):
        return frozenset({sender, receiver})  # no direction: either city may be the pair's insured city
    return frozenset({insured})


def of_file(city: str, sha256: str) -> Scope:
    """The bytes taken from `city`'s drop: capturing them, or asking whether they were decided already."""
    return Scope(files=frozenset({(city, sha256)}))


def of_decision(capture: Capture, header: Header | None) -> Scope:
    """Deciding a checked capture: its bytes, its message id and its pair (the header as read, trusted or not:
    the same bytes read again give the same header, so a duplicate's earlier message is covered too)."""
    scope = of_file(capture.city, capture.sha256)
    if header is None:
        return scope
    return scope | Scope(pair_cities(header.type.value, header.sender, header.receiver), frozenset({header.message_id}))


def of_message(message: MessageRecord) -> Scope:
    """Changing a message the ledger holds (a delivery written, a resend, a duplicate answered): its pair, its
    id and its bytes, all fixed when it was added, so they may be read before the unit of work begins."""
    scope = of_file(message.drop_city, message.sha256)
    ids = frozenset({message.message_id}) if message.message_id else frozenset()
    return scope | Scope(pair_cities(message.type, message.sender, message.receiver), ids)
