"""The life of one message through the gateway, as one table of data.

Rules (read these before the table):

1. Every file taken from a city's drop is CAPTURED: it becomes a message in state RECEIVED, after its bytes are
   in the spool and the ledger, and before it leaves the drop. Before that there is no message (NEW).
2. A message that fails any check (XML, signature, schema, settlement rules, routing) is REJECTED: a signed
   NACK goes to the sender and its bytes stay in quarantine. REJECTED is final.
3. A message that passes every check is ROUTED: an ACK goes to the sender; delivery to the receiver is owed.
4. Delivery (byte for byte, under a temporary name then renamed) makes it DELIVERED, and every delivery is
   counted and timed beside the state (the resend schedule reads both). The receiver's system owes a signed
   RECEIPT.
5. A RECEIPT that accepts makes it ACKNOWLEDGED; one that rejects makes it DECLINED. Both are final; a late
   receipt after FAILED still closes the message, because the receiver did answer.
6. With no receipt when the retry schedule says so, the message waits for its resend (WAITING_FOR_RETRY) and
   is delivered again under the same name; when the schedule is spent it is FAILED and an alert is raised.
   An operator's resend (`ltcgw resend ID`) delivers it again from DELIVERED, WAITING_FOR_RETRY or FAILED.
7. A higher revision of the same document (type, sender, receiver, period, serial) SUPERSEDES an earlier one
   that is not yet closed: the earlier one is no longer resent.
8. A RECEIPT a city sends is itself a message: checked like any other, it becomes FORWARDED (final) once it
   is written, byte for byte, to the inbox of the city whose message it answers.
9. A document sent in error is WITHDRAWN by its sender's signed withdrawal (撤销) while no receipt has closed it:
   it is no longer resent, and the withdrawal itself is delivered to the receiver like any document. Once a
   receipt closed it (ACKNOWLEDGED, DECLINED), only a revision or a dispute corrects it.
10. Every transition is written to the ledger with its time and cause: that is the transfer log.

How the table answers:

- The table is the only place that knows states: each event names the states it may leave from and the one
  state it leads to. Anything not in it is an illegal transition. A state no event leaves is final.
- Every set of states the gateway acts on (what a resend may start from, what a receipt closes, what a higher
  revision supersedes, what retention counts as closed, what the console counts as owing a receipt) is derived
  below from the table, never written out by hand elsewhere: tests/domain/test_lifecycle.py pins each one.
- `apply` is the one guard: what the ledger writes for a transition (the new state, and beside it the delivery
  count and time) is its answer, whichever database holds the ledger.

Nothing here does I/O: the service layer asks these functions and writes what they answer.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final


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
    WITHDRAWN = "WITHDRAWN"


class Event(StrEnum):
    CAPTURED = "captured"
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
    WITHDRAWN = "withdrawn"


# Before capture there is no message: the pseudo-state the first transition leaves from (the transfer log
# writes it as an empty source).
NEW: Final = None


@dataclass(frozen=True, slots=True)
class Move:
    """One row of the table: where an event leads, from which states, and what it records beside the state."""

    target: State
    sources: frozenset[State | None]
    counts_delivery: bool = False  # rule 4: deliveries + 1 and last_delivered_at = the time of the transition


def _move(target: State, *sources: State | None, counts_delivery: bool = False) -> Move:
    return Move(target, frozenset(sources), counts_delivery)


S, E = State, Event

# event:            _move(leads to, from these states[, what it records]). Nothing else is a legal transition.
TABLE: Mapping[Event, Move] = MappingProxyType(
    {
        E.CAPTURED: _move(S.RECEIVED, NEW),
        E.CHECK_FAILED: _move(S.REJECTED, S.RECEIVED),
        E.CHECK_PASSED: _move(S.ROUTED, S.RECEIVED),
        E.DELIVERED: _move(S.DELIVERED, S.ROUTED, S.WAITING_FOR_RETRY, counts_delivery=True),
        E.RECEIPT_ACCEPTED: _move(S.ACKNOWLEDGED, S.DELIVERED, S.WAITING_FOR_RETRY, S.FAILED),
        E.RECEIPT_REJECTED: _move(S.DECLINED, S.DELIVERED, S.WAITING_FOR_RETRY, S.FAILED),
        E.RECEIPT_OVERDUE: _move(S.WAITING_FOR_RETRY, S.DELIVERED),
        E.RETRIES_EXHAUSTED: _move(S.FAILED, S.DELIVERED, S.WAITING_FOR_RETRY),
        E.RESEND_REQUESTED: _move(S.WAITING_FOR_RETRY, S.DELIVERED, S.WAITING_FOR_RETRY, S.FAILED),
        E.SUPERSEDED: _move(S.SUPERSEDED, S.ROUTED, S.DELIVERED, S.WAITING_FOR_RETRY, S.FAILED),
        E.FORWARDED: _move(S.FORWARDED, S.ROUTED),
        # rule 9: what a receipt has not closed yet (delivery owed, awaited, or given up on)
        E.WITHDRAWN: _move(S.WITHDRAWN, S.ROUTED, S.DELIVERED, S.WAITING_FOR_RETRY, S.FAILED),
    }
)


# ---------------------------------------------------------------------------------------------------------
# Asking the table.


class IllegalTransition(ValueError):
    pass


def sources(event: Event) -> frozenset[State]:
    """The states `event` may leave from (the message exists: NEW is left out)."""
    return frozenset(s for s in TABLE[event].sources if s is not NEW)


def target(event: Event) -> State:
    """The one state `event` leads to, whichever state it leaves."""
    return TABLE[event].target


def allows(state: State | None, event: Event) -> bool:
    return state in TABLE[event].sources


def events_from(state: State | None) -> list[Event]:
    return [event for event, move in TABLE.items() if state in move.sources]


def next_state(state: State | None, event: Event) -> State:
    """The state after `event`, or IllegalTransition."""
    if not allows(state, event):
        where = "before capture" if state is None else f"in state {state.value}"
        raise IllegalTransition(f"{event.value} is not allowed {where}")
    return TABLE[event].target


def reachable(start: Collection[State]) -> frozenset[State]:
    """`start` and every state some run of events leads to from it."""
    found, frontier = set(start), list(start)
    while frontier:
        state = frontier.pop()
        for event in events_from(state):
            if (after := target(event)) not in found:
                found.add(after)
                frontier.append(after)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Change:
    """What one transition writes: the new state, and beside it what the event records (rule 4)."""

    source: State | None
    event: Event
    target: State
    at: datetime
    deliveries: int = 0  # added to the message's count of deliveries
    delivered_at: datetime | None = None  # the message's new last delivery, when this transition is one


def apply(state: State | None, event: Event, at: datetime) -> Change:
    """The one guard: the change `event` makes to a message in `state` at `at`, or IllegalTransition.

    Whatever holds the ledger writes exactly this, so a delivery never goes without its count and time.
    """
    after = next_state(state, event)
    if TABLE[event].counts_delivery:
        return Change(state, event, after, at, deliveries=1, delivered_at=at)
    return Change(state, event, after, at)


# ---------------------------------------------------------------------------------------------------------
# The sets of states the gateway acts on, each derived from the table (never copied by hand elsewhere).

# No event leaves them: the message is closed.
FINAL_STATES = frozenset(s for s in State if not events_from(s))
# Delivery to the receiver is owed (the daemon delivers these).
DELIVERY_OWED = sources(Event.DELIVERED)
# The resend schedule watches these: delivered, and its receipt not yet overdue.
SCHEDULED = sources(Event.RECEIPT_OVERDUE)
# The receiver holds it and owes a receipt while the schedule runs (what `status` counts as "waiting for
# receipt"): the states the schedule may still give up on.
AWAITING_RECEIPT = sources(Event.RETRIES_EXHAUSTED)
# A receipt still closes it: awaited, or late after FAILED (the same states for an accepting or rejecting one).
RECEIPT_CLOSES = sources(Event.RECEIPT_ACCEPTED)
# An operator may deliver it again (`ltcgw resend`, the console's resend button).
RESENDABLE = sources(Event.RESEND_REQUESTED)
# A higher revision still stops it (closed ones were answered: nothing left to stop).
SUPERSEDABLE = sources(Event.SUPERSEDED)
# Its sender may still withdraw it (撤销): no receipt closed it.
WITHDRAWABLE = sources(Event.WITHDRAWN)
# Stopped by its sender's side before an answer (a higher revision, a withdrawal): passed on, but it does not
# count as the document that arrived (deadlines, reconciliation).
CALLED_OFF = frozenset({target(Event.SUPERSEDED), target(Event.WITHDRAWN)})
# The receiver's receipt answered it (accepted or declined): a withdrawal is refused, only a revision or a
# dispute corrects it.
ANSWERED = frozenset({target(Event.RECEIPT_ACCEPTED), target(Event.RECEIPT_REJECTED)})
# It passed every check: routed, and whatever followed (a receipt's FORWARDED included).
PASSED_CHECKS = reachable([target(Event.CHECK_PASSED)])
# DELIVERED and every state it leads to (SUPERSEDED too, which a message may also reach before any delivery):
# what `status` counts as delivered.
AFTER_DELIVERY = reachable([target(Event.DELIVERED)])
# A document the gateway passed on to its receiver (routing: a revision at or below one of these is stale; a
# receipt or a dispute may answer it): routed, and every state a delivery leads to.
PASSED_ON = frozenset({target(Event.CHECK_PASSED)}) | AFTER_DELIVERY
# The gateway itself still moves it on: a check, a delivery or the schedule is owed (FAILED waits for a person).
IN_FLIGHT = sources(Event.CHECK_PASSED) | DELIVERY_OWED | AWAITING_RECEIPT
# Refused by the checks: its bytes are the quarantine.
QUARANTINED = target(Event.CHECK_FAILED)


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
    """The lifecycle as a Mermaid state diagram, drawn from TABLE so the docs cannot drift."""
    lines = ["stateDiagram-v2"]
    order = {state: i for i, state in enumerate(State)}
    for event, move in TABLE.items():
        note = " (deliveries + 1)" if move.counts_delivery else ""
        for source in sorted(move.sources, key=lambda s: -1 if s is NEW else order[s]):
            start = "[*]" if source is NEW else source.value
            lines.append(f"    {start} --> {move.target.value}: {event.value}{note}")
    for final in sorted(FINAL_STATES):
        lines.append(f"    {final.value} --> [*]")
    return "\n".join(lines)


if __name__ == "__main__":
    print(mermaid())
