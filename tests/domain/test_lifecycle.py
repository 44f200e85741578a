"""The lifecycle table and the resend schedule, as pure decisions."""

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gateway.domain import lifecycle
from gateway.domain.lifecycle import (
    NEW,
    TABLE,
    Change,
    Event,
    IllegalTransition,
    RetryPolicy,
    State,
    apply,
    next_state,
    on_receipt_timeout,
    sources,
)

S = State

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def test_the_happy_path_ends_acknowledged() -> None:
    state = State.RECEIVED
    for event in (Event.CHECK_PASSED, Event.DELIVERED, Event.RECEIPT_ACCEPTED):
        state = next_state(state, event)
    assert state is State.ACKNOWLEDGED


def test_a_rejected_message_can_go_nowhere() -> None:
    state = next_state(State.RECEIVED, Event.CHECK_FAILED)
    assert state is State.REJECTED
    for event in Event:
        with pytest.raises(IllegalTransition):
            next_state(state, event)


def test_a_message_cannot_be_delivered_before_it_is_checked() -> None:
    with pytest.raises(IllegalTransition, match="delivered is not allowed in state RECEIVED"):
        next_state(State.RECEIVED, Event.DELIVERED)


def test_a_late_receipt_still_closes_a_failed_message() -> None:
    assert next_state(State.FAILED, Event.RECEIPT_ACCEPTED) is State.ACKNOWLEDGED
    assert next_state(State.FAILED, Event.RECEIPT_REJECTED) is State.DECLINED


def test_capture_is_the_first_transition_of_the_table_and_the_only_way_in() -> None:
    assert next_state(NEW, Event.CAPTURED) is State.RECEIVED
    assert [event for event, move in TABLE.items() if NEW in move.sources] == [Event.CAPTURED]
    with pytest.raises(IllegalTransition, match="captured is not allowed in state RECEIVED"):
        next_state(State.RECEIVED, Event.CAPTURED)
    with pytest.raises(IllegalTransition, match="check_passed is not allowed before capture"):
        next_state(NEW, Event.CHECK_PASSED)


def test_the_table_answers_which_states_an_event_may_leave_from() -> None:
    assert sources(Event.RESEND_REQUESTED) == {S.DELIVERED, S.WAITING_FOR_RETRY, S.FAILED}
    assert sources(Event.DELIVERED) == {S.ROUTED, S.WAITING_FOR_RETRY}
    assert sources(Event.CAPTURED) == frozenset()  # only NEW, which is no state of a message
    for event, move in TABLE.items():
        for state in State:
            assert (state in sources(event)) == lifecycle.allows(state, event)
            if state in sources(event):
                assert next_state(state, event) is move.target


def test_a_delivery_is_recorded_with_its_transition_and_nothing_else_is() -> None:
    at = T0 + timedelta(minutes=3)
    assert apply(S.ROUTED, Event.DELIVERED, at) == Change(S.ROUTED, Event.DELIVERED, S.DELIVERED, at, 1, at)
    assert apply(S.WAITING_FOR_RETRY, Event.DELIVERED, at).deliveries == 1
    assert apply(NEW, Event.CAPTURED, at) == Change(NEW, Event.CAPTURED, S.RECEIVED, at)
    for event, move in TABLE.items():
        for state in move.sources:
            change = apply(state, event, at)
            assert (change.deliveries, change.delivered_at) == ((1, at) if event is Event.DELIVERED else (0, None))
    with pytest.raises(IllegalTransition):
        apply(S.DELIVERED, Event.DELIVERED, at)  # delivered again only after WAITING_FOR_RETRY


# Each named set is derived from the table; these are the sets the gateway acted on when they were copied by
# hand, so a change to the table that moves one shows here first.
DERIVED = {
    "FINAL_STATES": {S.REJECTED, S.ACKNOWLEDGED, S.DECLINED, S.SUPERSEDED, S.FORWARDED, S.WITHDRAWN},
    "DELIVERY_OWED": {S.ROUTED, S.WAITING_FOR_RETRY},
    "SCHEDULED": {S.DELIVERED},
    "AWAITING_RECEIPT": {S.DELIVERED, S.WAITING_FOR_RETRY},
    "RECEIPT_CLOSES": {S.DELIVERED, S.WAITING_FOR_RETRY, S.FAILED},
    "RESENDABLE": {S.DELIVERED, S.WAITING_FOR_RETRY, S.FAILED},
    "SUPERSEDABLE": {S.ROUTED, S.DELIVERED, S.WAITING_FOR_RETRY, S.FAILED},
    "PASSED_CHECKS": set(State) - {S.RECEIVED, S.REJECTED},
    "AFTER_DELIVERY": {S.DELIVERED, S.WAITING_FOR_RETRY, S.ACKNOWLEDGED, S.DECLINED, S.FAILED, S.SUPERSEDED,
                       S.WITHDRAWN},
    "PASSED_ON": {S.ROUTED, S.DELIVERED, S.WAITING_FOR_RETRY, S.ACKNOWLEDGED, S.DECLINED, S.FAILED, S.SUPERSEDED,
                  S.WITHDRAWN},
    "WITHDRAWABLE": {S.ROUTED, S.DELIVERED, S.WAITING_FOR_RETRY, S.FAILED},
    "ANSWERED": {S.ACKNOWLEDGED, S.DECLINED},
    "CALLED_OFF": {S.SUPERSEDED, S.WITHDRAWN},
    "IN_FLIGHT": {S.RECEIVED, S.ROUTED, S.DELIVERED, S.WAITING_FOR_RETRY},
}


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_each_named_set_of_states_is_what_the_table_says(name: str) -> None:
    assert getattr(lifecycle, name) == DERIVED[name]


def test_the_named_sets_mean_what_their_names_say() -> None:
    every = set(State)
    assert lifecycle.FINAL_STATES == {s for s in every if not lifecycle.events_from(s)}
    assert lifecycle.DELIVERY_OWED == {s for s in every if lifecycle.allows(s, Event.DELIVERED)}
    assert lifecycle.RESENDABLE == {s for s in every if lifecycle.allows(s, Event.RESEND_REQUESTED)}
    assert lifecycle.SUPERSEDABLE == {s for s in every if lifecycle.allows(s, Event.SUPERSEDED)}
    # a receipt that rejects is welcome exactly where one that accepts is
    assert lifecycle.RECEIPT_CLOSES == sources(Event.RECEIPT_REJECTED)
    # the schedule watches what a receipt closes and it may still give up on
    assert lifecycle.SCHEDULED <= lifecycle.AWAITING_RECEIPT < lifecycle.RECEIPT_CLOSES
    assert lifecycle.RECEIPT_CLOSES - lifecycle.AWAITING_RECEIPT == {lifecycle.target(Event.RETRIES_EXHAUSTED)}
    # nothing final is owed anything; nothing passed on was refused
    for owed in (lifecycle.DELIVERY_OWED, lifecycle.AWAITING_RECEIPT, lifecycle.RECEIPT_CLOSES, lifecycle.IN_FLIGHT):
        assert not owed & lifecycle.FINAL_STATES
    assert lifecycle.QUARANTINED in lifecycle.FINAL_STATES - lifecycle.PASSED_CHECKS
    assert lifecycle.PASSED_ON <= lifecycle.PASSED_CHECKS


def test_a_withdrawal_stops_what_no_receipt_answered_and_nothing_else() -> None:
    # 撤销 is allowed exactly where a receipt would still close the message, or before its first delivery
    assert lifecycle.WITHDRAWABLE == lifecycle.RECEIPT_CLOSES | {S.ROUTED}
    assert not lifecycle.WITHDRAWABLE & lifecycle.ANSWERED
    for state in lifecycle.ANSWERED | {S.SUPERSEDED, S.REJECTED, S.RECEIVED, S.FORWARDED}:
        with pytest.raises(IllegalTransition, match="withdrawn is not allowed"):
            next_state(state, Event.WITHDRAWN)
    assert next_state(S.FAILED, Event.WITHDRAWN) is S.WITHDRAWN
    assert not lifecycle.events_from(S.WITHDRAWN)  # final: never resent, a late receipt closes nothing


def test_the_diagram_draws_every_row_of_the_table_from_capture_on() -> None:
    drawn = lifecycle.mermaid().splitlines()
    assert drawn[1] == "    [*] --> RECEIVED: captured"
    rows = sum(len(move.sources) for move in TABLE.values())
    assert len([line for line in drawn if " --> " in line and not line.endswith("[*]")]) == rows
    assert "    ROUTED --> DELIVERED: delivered (deliveries + 1)" in drawn


def test_resends_follow_the_schedule_then_give_up() -> None:
    policy = RetryPolicy()  # 10 min, 30 min, 1 h, 2 h, 4 h
    delivered_at = T0
    deliveries = 1
    decisions = []
    for wait in (timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2), timedelta(hours=4)):
        assert on_receipt_timeout(policy, deliveries, delivered_at, delivered_at + wait - timedelta(seconds=1)) is None
        decision = on_receipt_timeout(policy, deliveries, delivered_at, delivered_at + wait)
        decisions.append(decision)
        if decision is Event.RECEIPT_OVERDUE:
            deliveries += 1
            delivered_at += wait
    assert decisions == [Event.RECEIPT_OVERDUE] * 4 + [Event.RETRIES_EXHAUSTED]
    assert deliveries == 5


def test_a_custom_schedule_is_honoured_and_validated() -> None:
    policy = RetryPolicy(schedule=(timedelta(seconds=2),))
    assert on_receipt_timeout(policy, 1, T0, T0 + timedelta(seconds=1)) is None
    assert on_receipt_timeout(policy, 1, T0, T0 + timedelta(seconds=2)) is Event.RETRIES_EXHAUSTED
    with pytest.raises(ValueError):
        RetryPolicy(schedule=())
    with pytest.raises(ValueError):
        RetryPolicy(schedule=(timedelta(0),))


ROOT = Path(__file__).resolve().parents[2]
_NAMES = "|".join(State.__members__)
HAND_COPIED = (
    re.compile(r"State\.[A-Z_]+\s*,\s*State\.[A-Z_]+"),  # (State.X, State.Y) / {State.X, State.Y}
    re.compile(rf"""["']({_NAMES})["']\s*,\s*["']({_NAMES})["']"""),  # ("X", "Y"), SQL IN ('X','Y')
    re.compile(rf"""state\s*(=|<>|!=|IN)\s*\(?\s*'({_NAMES})'""", re.IGNORECASE),  # SQL: state='X'
    re.compile(r"\|\s*\{State\.[A-Z_]+\}"),  # A_SET | {State.X}
    re.compile(r"\bin\s+[A-Z_]+\s+or\s+[\w.]+\s+is\s+State\."),  # x in A_SET or x is State.X
)


def test_no_module_copies_a_set_of_states_by_hand() -> None:
    """Sets of states are asked of the lifecycle table (its named sets, sources(), allows()), not written out."""
    copies = []
    for folder in ("gateway", "adapters", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "gateway" / "domain" / "lifecycle.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if any(pattern.search(line) for pattern in HAND_COPIED):
                    copies.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert copies == [], "derive these from gateway/domain/lifecycle.py:\n" + "\n".join(copies)
