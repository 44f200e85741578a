"""The pure retention decision: which bytes every holder is done with for long enough."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from gateway.domain.lifecycle import State
from gateway.domain.retention import RetentionPolicy, capture_holder, decide, message_holder, write_holder

NOW = datetime(2027, 3, 1, tzinfo=timezone.utc)
POLICY = RetentionPolicy(spool_days=30, quarantine_days=10, outbox_days=60)
A, B = "a" * 64, "b" * 64


def _message(state: State, days_ago: float, sha: str = A, key: int = 1):
    return message_holder(state, NOW - timedelta(days=days_ago), sha, POLICY, message_id=f"M{key}", message_key=key,
                          city="370300")


def test_a_closed_message_goes_after_its_age_counted_from_its_closing() -> None:
    assert decide([_message(State.ACKNOWLEDGED, 29)], NOW) == []
    [purge] = decide([_message(State.ACKNOWLEDGED, 31)], NOW)
    assert (purge.area, purge.sha256, purge.reason, purge.message_ids, purge.city) == ("inbox", A, "spool", ("M1",), "370300")
    assert purge.cutoff == NOW - timedelta(days=30)
    for state in (State.DECLINED, State.SUPERSEDED, State.FORWARDED):
        assert [p.sha256 for p in decide([_message(state, 31)], NOW)] == [A]


def test_open_and_failed_messages_keep_their_bytes_whatever_their_age() -> None:
    for state in (State.RECEIVED, State.ROUTED, State.DELIVERED, State.WAITING_FOR_RETRY, State.FAILED):
        assert decide([_message(state, 400)], NOW) == [], state


def test_the_quarantine_has_its_own_age() -> None:
    assert decide([_message(State.REJECTED, 9)], NOW) == []
    [purge] = decide([_message(State.REJECTED, 11)], NOW)
    assert purge.reason == "quarantine"
    assert decide([message_holder(State.REJECTED, NOW - timedelta(days=99), A, RetentionPolicy(spool_days=1))], NOW) == []


def test_shared_bytes_go_only_when_every_holder_is_done() -> None:
    done = _message(State.ACKNOWLEDGED, 90, key=1)
    assert decide([done, _message(State.DELIVERED, 90, key=2)], NOW) == []  # the same bytes, still open
    assert decide([done, _message(State.ACKNOWLEDGED, 5, key=2)], NOW) == []  # closed too recently
    assert decide([done, capture_holder(A)], NOW) == []  # captured again, not checked yet
    [purge] = decide([done, _message(State.REJECTED, 20, key=2)], NOW)
    assert purge.message_keys == (1, 2) and purge.reason == "spool"
    assert purge.cutoff == NOW - timedelta(days=10)  # the shortest age: fresher bytes than that are kept


def test_a_write_owed_keeps_the_bytes() -> None:
    owed = write_holder("inbox", A, None, False, NOW - timedelta(days=90), POLICY, "370100")
    assert decide([_message(State.ACKNOWLEDGED, 90), owed], NOW) == []
    written = write_holder("inbox", A, NOW - timedelta(days=89), False, NOW - timedelta(days=90), POLICY, "370100")
    assert [p.sha256 for p in decide([_message(State.ACKNOWLEDGED, 90), written], NOW)] == [A]
    assert decide([written], NOW) == []  # bytes no message refers to: nobody decided they are done


def test_replies_age_from_their_last_write() -> None:
    reply = write_holder("outbox", B, NOW - timedelta(days=61), False, NOW - timedelta(days=70), POLICY, "370300")
    replayed = write_holder("outbox", B, NOW - timedelta(days=2), False, NOW - timedelta(days=2), POLICY, "370300")
    [purge] = decide([reply], NOW)
    assert (purge.area, purge.reason, purge.city) == ("outbox", "outbox", "370300")
    assert decide([reply, replayed], NOW) == []
    assert decide([reply, write_holder("outbox", B, None, False, NOW, POLICY)], NOW) == []
    assert decide([write_holder("outbox", B, NOW - timedelta(days=61), False, NOW, POLICY, message_open=True)], NOW) == []
    cancelled = write_holder("outbox", B, None, True, NOW - timedelta(days=61), POLICY)
    assert [p.sha256 for p in decide([cancelled], NOW)] == [B]


def test_nothing_goes_when_retention_is_off() -> None:
    off = RetentionPolicy()
    assert not off.enabled
    holders = [message_holder(State.ACKNOWLEDGED, NOW - timedelta(days=9999), A, off, message_key=1),
               write_holder("outbox", B, NOW - timedelta(days=9999), False, NOW, off)]
    assert decide(holders, NOW) == []
