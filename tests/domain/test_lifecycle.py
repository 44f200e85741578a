"""The lifecycle table and the resend schedule, as pure decisions."""

from datetime import datetime, timedelta, timezone

import pytest

from gateway.domain.lifecycle import (
    Event,
    IllegalTransition,
    RetryPolicy,
    State,
    next_state,
    on_receipt_timeout,
)

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
