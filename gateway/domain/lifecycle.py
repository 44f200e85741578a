"""The life of one message through the gateway, as one table of data.

Rules (read these before the table):

1. Every file taken from a city's drop becomes a message in state RECEIVED, after its bytes are in the spool
   and the ledger, and before it leaves the drop.
2. A message that fails any check (XML, signature, schema, settlement rules, routing) is REJECTED: a signed
   NACK goes to the sender and its bytes stay in quarantine. REJECTED is final.
3. A message that passes every check is ROUTED: an ACK goes to the sender; delivery to the receiver is owed.
4. Delivery (byte for byte, under a temporary name then renamed) makes it DELIVERED. The receiver's system owes
   a signed RECEIPT.
5. A RECEIPT that accepts makes it ACKNOWLEDGED; one that rejects makes it DECLINED. Both are final; a late
   receipt after FAILED still closes the message, because the receiver did answer.
6. With no receipt when the retry schedule says so, the message waits for its resend (WAITING_FOR_RETRY) and
   is delivered again under the same name; when the schedule is spent it is FAILED and an alert is raised.
   An operator's resend (`ltcgw resend ID`) delivers it again from DELIVERED, WAITING_FOR_RETRY or FAILED.
7. A higher revision of the same document (type, sender, receiver, period, serial) SUPERSEDES an earlier one
   that is not yet closed: the earlier one is no longer resent.
8. A RECEIPT a city sends is itself a message: checked like any other, it becomes FORWARDED (final) once it
   is written, byte for byte, to the inbox of the city whose message it answers.
9. Every transition is written to the ledger with its time and cause: that is the transfer log.

Nothing here does I/O: the service layer asks these functions and writes what they answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType


class State(StrEnum):
    RECEIVED = "RECEIVED"
    REJECTED = "REJECTED"
    ROUTED = "ROUTED"
    DELIVERED = "DELIVERED"
    WAITING_FOR_RETRY = "WAITING_FOR_RETRY"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    DECLINED = "DECLINED"
    FAILED = "FAILED"
    SUPERSEDED = "SUPERSEDED"
    FORWARDED = "FORWARDED"


class Event(StrEnum):
    CHECK_FAILED = "check_failed"
    CHECK_PASSED = "check_passed"
    DELIVERED = "delivered"
    RECEIPT_ACCEPTED = "receipt_accepted"
    RECEIPT_REJECTED = "receipt_rejected"
    RECEIPT_OVERDUE = "receipt_overdue"
    RETRIES_EXHAUSTED = "retries_exhausted"
    RESEND_REQUESTED = "resend_requested"
    SUPERSEDED = "superseded"
    FORWARDED = "forwarded"


S, E = State, Event

# (state, event) -> next state. Anything not listed is an illegal transition.
TRANSITIONS: Mapping[tuple[State, Event], State] = MappingProxyType(
    {
        (S.RECEIVED, E.CHECK_FAILED): S.REJECTED,
        (S.RECEIVED, E.CHECK_PASSED): S.ROUTED,
        (S.ROUTED, E.DELIVERED): S.DELIVERED,
        (S.WAITING_FOR_RETRY, E.DELIVERED): S.DELIVERED,
        (S.DELIVERED, E.RECEIPT_ACCEPTED): S.ACKNOWLEDGED,
        (S.WAITING_FOR_RETRY, E.RECEIPT_ACCEPTED): S.ACKNOWLEDGED,
        (S.FAILED, E.RECEIPT_ACCEPTED): S.ACKNOWLEDGED,
        (S.DELIVERED, E.RECEIPT_REJECTED): S.DECLINED,
        (S.WAITING_FOR_RETRY, E.RECEIPT_REJECTED): S.DECLINED,
        (S.FAILED, E.RECEIPT_REJECTED): S.DECLINED,
        (S.DELIVERED, E.RECEIPT_OVERDUE): S.WAITING_FOR_RETRY,
        (S.DELIVERED, E.RETRIES_EXHAUSTED): S.FAILED,
        (S.WAITING_FOR_RETRY, E.RETRIES_EXHAUSTED): S.FAILED,
        (S.DELIVERED, E.RESEND_REQUESTED): S.WAITING_FOR_RETRY,
        (S.WAITING_FOR_RETRY, E.RESEND_REQUESTED): S.WAITING_FOR_RETRY,
        (S.FAILED, E.RESEND_REQUESTED): S.WAITING_FOR_RETRY,
        (S.ROUTED, E.SUPERSEDED): S.SUPERSEDED,
        (S.DELIVERED, E.SUPERSEDED): S.SUPERSEDED,
        (S.WAITING_FOR_RETRY, E.SUPERSEDED): S.SUPERSEDED,
        (S.FAILED, E.SUPERSEDED): S.SUPERSEDED,
        (S.ROUTED, E.FORWARDED): S.FORWARDED,
    }
)

FINAL_STATES = frozenset({S.REJECTED, S.ACKNOWLEDGED, S.DECLINED, S.SUPERSEDED, S.FORWARDED})
# States in which the receiver owes a receipt (what `status` counts as "waiting for receipt").
AWAITING_RECEIPT = frozenset({S.DELIVERED, S.WAITING_FOR_RETRY})
# States whose delivery to the receiver is still owed (the daemon delivers these).
DELIVERY_OWED = frozenset({S.ROUTED, S.WAITING_FOR_RETRY})


class IllegalTransition(ValueError):
    pass


def next_state(state: State, event: Event) -> State:
    """The state after `event`, or IllegalTransition: the only way the service changes a state."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(f"{event.value} is not allowed in state {state.value}") from None


def events_from(state: State) -> list[Event]:
    return [event for (source, event) in TRANSITIONS if source is state]


# ---------------------------------------------------------------------------------------------------------
# The resend schedule: pure decisions over times.


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait for a receipt after each delivery: schedule[n] after the (n+1)-th delivery."""

    schedule: Sequence[timedelta] = (
        timedelta(minutes=10),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=4),
    )

    def __post_init__(self) -> None:
        if not self.schedule:
            raise ValueError("the retry schedule needs at least one wait")
        if any(wait <= timedelta(0) for wait in self.schedule):
            raise ValueError("every wait in the retry schedule must be positive")

    def receipt_due(self, deliveries: int, last_delivered_at: datetime) -> datetime:
        """When the receipt for the `deliveries`-th delivery is overdue."""
        index = min(max(deliveries, 1), len(self.schedule)) - 1
        return last_delivered_at + self.schedule[index]


def on_receipt_timeout(policy: RetryPolicy, deliveries: int, last_delivered_at: datetime, now: datetime) -> Event | None:
    """What a message in DELIVERED calls for at `now`: nothing yet, a resend, or giving up.

    `deliveries` counts every delivery so far (the first one included); the schedule allows one resend per
    wait after the first, so with five waits a message is delivered at most five times before FAILED.
    """
    if now < policy.receipt_due(deliveries, last_delivered_at):
        return None
    if deliveries >= len(policy.schedule):
        return Event.RETRIES_EXHAUSTED
    return Event.RECEIPT_OVERDUE


# ---------------------------------------------------------------------------------------------------------
# The diagram in docs/architecture.md is generated from the table above: `python -m gateway.domain.lifecycle`.


def mermaid() -> str:
    """The lifecycle as a Mermaid state diagram, drawn from TRANSITIONS so the docs cannot drift."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.RECEIVED.value}: file taken from a city's drop"]
    for (source, event), target in TRANSITIONS.items():
        lines.append(f"    {source.value} --> {target.value}: {event.value}")
    for final in sorted(FINAL_STATES):
        lines.append(f"    {final.value} --> [*]")
    return "\n".join(lines)


if __name__ == "__main__":
    print(mermaid())
