"""The ledger's contract (adapters/ledger.py), the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from adapters.migrations import migrations
from gateway.domain.envelope import Header, MessageType
from gateway.domain.lifecycle import Event, IllegalTransition, State

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
JINAN, ZIBO = "370100", "370300"
HEADER = Header("37030020261102090000AAAA0001", MessageType.A3, ZIBO, JINAN, "2026-10", "ZB-1", 1, T0)


def add_message(ledger, header: Header | None = HEADER, sha: str = "ab" * 32):
    with ledger.unit_of_work() as tx:
        key = tx.add_capture(ZIBO, "a.xml", sha, 10, 1.5, T0)
        capture = next(c for c in tx.pending_captures() if c.key == key)
        return tx.add_message(capture, header, T0)


def test_migrations_are_applied_once_each_and_recorded(open_ledger, backend: str) -> None:
    first = open_ledger()
    newest = migrations(backend)[-1].version  # numbers may skip (each branch takes its own)
    assert first.schema_version() == newest >= 2
    first.close()
    again = open_ledger()
    rows = again._db().execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
    assert rows == len(migrations(backend)) and again.schema_version() == newest


def test_each_transition_is_logged_and_the_state_survives_a_reopen(open_ledger) -> None:
    ledger = open_ledger()
    message = add_message(ledger)
    with ledger.unit_of_work() as tx:
        tx.transition(message.key, Event.CHECK_PASSED, T0, "checks passed")
        tx.transition(message.key, Event.DELIVERED, T0, "written")  # counts and times the delivery itself
    ledger.close()
    [(record, transitions)] = open_ledger().trace(HEADER.message_id)
    assert record.state is State.DELIVERED and record.deliveries == 1 and record.last_delivered_at == T0
    assert record.received_at == T0 and record.revision == 1 and record.sender == ZIBO
    assert [(t.source, t.target, t.event) for t in transitions] == [
        (None, State.RECEIVED, "captured"),
        (State.RECEIVED, State.ROUTED, "check_passed"),
        (State.ROUTED, State.DELIVERED, "delivered"),
    ]


def test_a_delivery_is_counted_and_timed_by_its_transition_and_nothing_else_moves_the_count(ledger) -> None:
    message = add_message(ledger)
    later, last = T0 + timedelta(minutes=10), T0 + timedelta(minutes=11)
    with ledger.unit_of_work() as tx:
        tx.transition(message.key, Event.CHECK_PASSED, T0, "checks passed")
        first = tx.transition(message.key, Event.DELIVERED, T0, "written")
        overdue = tx.transition(message.key, Event.RECEIPT_OVERDUE, later, "no receipt")
        again = tx.transition(message.key, Event.DELIVERED, last, "written again")
        closed = tx.transition(message.key, Event.RECEIPT_ACCEPTED, last + timedelta(minutes=1), "receipt")
    assert (first.deliveries, first.last_delivered_at) == (1, T0)
    assert (overdue.state, overdue.deliveries, overdue.last_delivered_at) == (State.WAITING_FOR_RETRY, 1, T0)
    assert (again.deliveries, again.last_delivered_at, again.updated_at) == (2, last, last)
    assert (closed.state, closed.deliveries, closed.last_delivered_at) == (State.ACKNOWLEDGED, 2, last)


def test_an_illegal_delivery_writes_neither_the_state_nor_the_count(ledger) -> None:
    message = add_message(ledger)
    with ledger.unit_of_work() as tx:
        with pytest.raises(IllegalTransition, match="delivered is not allowed in state RECEIVED"):
            tx.transition(message.key, Event.DELIVERED, T0, "written before the check")
        record = tx.get_message(message.key)
    assert (record.state, record.deliveries, record.last_delivered_at) == (State.RECEIVED, 0, None)
    assert len(ledger.trace(HEADER.message_id)[0][1]) == 1


def test_a_unit_of_work_is_all_or_nothing(ledger) -> None:
    message = add_message(ledger)
    with pytest.raises(IllegalTransition):
        with ledger.unit_of_work() as tx:
            tx.transition(message.key, Event.CHECK_PASSED, T0, "checks passed")
            tx.add_outgoing(JINAN, "x.xml", "inbox", message.sha256, "delivery", message.key, T0)
            tx.transition(message.key, Event.RECEIPT_ACCEPTED, T0, "impossible from ROUTED")
    assert ledger.messages()[0].state is State.RECEIVED
    assert ledger.outgoing() == []
    assert len(ledger.trace(HEADER.message_id)[0][1]) == 1


def test_outgoing_files_are_owed_until_marked_once_and_can_be_cancelled(ledger) -> None:
    message = add_message(ledger)
    with ledger.unit_of_work() as tx:
        first = tx.add_outgoing(JINAN, "a.xml", "inbox", message.sha256, "delivery", message.key, T0)
        tx.add_outgoing(ZIBO, "ACK_1.xml", "outbox", "cd" * 32, "ack", message.key, T0)
    with ledger.unit_of_work() as tx:
        assert [o.name for o in tx.pending_outgoing(JINAN)] == ["a.xml"]
        assert tx.mark_written(first, T0) is True
        assert tx.mark_written(first, T0) is False  # a second writer learns it was marked already
        assert tx.pending_outgoing(JINAN) == []
        assert tx.reply_name_taken(ZIBO, "ACK_1.xml") and not tx.reply_name_taken(JINAN, "ACK_1.xml")
        tx.add_outgoing(JINAN, "a.xml", "inbox", message.sha256, "delivery", message.key, T0)
        assert tx.cancel_outgoing(message.key, "delivery") == 1
        assert tx.pending_outgoing(JINAN) == []
    assert [(o.kind, o.written_at is not None, o.cancelled) for o in ledger.outgoing(JINAN)] == [
        ("delivery", True, False), ("delivery", False, True)]


def test_captures_are_pending_until_processed_and_a_crashed_removal_is_found(ledger) -> None:
    with ledger.unit_of_work() as tx:
        key = tx.add_capture(ZIBO, "a.xml", "ab" * 32, 10, 1.25, T0)
        assert tx.capture_pending(key)
        assert tx.unremoved_capture(ZIBO, "a.xml", "ab" * 32, 1.25).key == key
        assert tx.unremoved_capture(ZIBO, "a.xml", "ab" * 32, 1.5) is None  # another mtime: another file
        tx.mark_capture_removed(key)
        assert tx.unremoved_capture(ZIBO, "a.xml", "ab" * 32, 1.25) is None
        tx.mark_capture_processed(key, None)
        assert not tx.capture_pending(key) and tx.pending_captures() == []


def test_views_for_the_operators(ledger) -> None:
    message = add_message(ledger)
    add_message(ledger, None, "ef" * 32)  # an unreadable file: no header
    with ledger.unit_of_work() as tx:
        tx.set_findings(message.key, [{"code": "sum.total", "message": "总额不符"}])
        tx.transition(message.key, Event.CHECK_FAILED, T0, "refused: sum.total")
        tx.record_event(T0, "alert", ZIBO, {"kind": "refused_file", "name": "x.tmp"})
        tx.record_event(T0, "duplicate", ZIBO, {"id": "x"})
        assert [m.key for m in tx.messages_in([State.REJECTED])] == [message.key]
        assert [m.key for m in tx.messages_by_document(HEADER.document_key)] == [message.key]
        assert tx.message_by_sha("ab" * 32, ZIBO).key == message.key and tx.message_by_sha("ab" * 32, JINAN) is None
    assert [m.findings for m in ledger.messages(state="rejected")] == [({"code": "sum.total", "message": "总额不符"},)]
    assert len(ledger.messages(city=ZIBO)) == 2 and ledger.messages(period="2026-09") == []
    assert [(kind, city, detail) for _, kind, city, detail in ledger.events("alert")] == [
        ("alert", ZIBO, {"kind": "refused_file", "name": "x.tmp"})]
    [counts] = ledger.city_counts()
    assert (counts.city, counts.received, counts.rejected, counts.delivered) == (ZIBO, 2, 1, 0)
    assert counts.oldest_unacknowledged == T0


def test_one_instance_alone_holds_every_city_and_claims_every_capture(ledger) -> None:
    add_message(ledger)
    with ledger.unit_of_work() as tx:
        tx.add_capture(ZIBO, "b.xml", "cd" * 32, 10, 1.0, T0)
    assert ledger.heartbeat("gw-a", [JINAN, ZIBO], 30) == {JINAN, ZIBO}
    assert [c.name for c in ledger.claim_captures("gw-a", 10, 30)] == ["a.xml", "b.xml"]
    [me] = ledger.instances()
    assert (me.instance, me.alive, me.cities) == ("gw-a", True, (JINAN, ZIBO))
    ledger.leave("gw-a")
    assert ledger.instances() == []


def test_the_audit_log_keeps_each_action_newest_first(open_ledger) -> None:
    from datetime import timedelta

    from gateway.service import audit
    from gateway.service.ports.ledger import AuditRecord

    ledger = open_ledger()
    assert ledger.audit() == []
    audit.record(ledger, T0, user="otto", role="operator", action="login", subject="console", reason="",
                 outcome=audit.SIGNED_IN)
    audit.record(ledger, T0 + timedelta(minutes=1), user="otto", role="operator", action="resend",
                 subject="A3-370300-370200", reason="青岛\n lost it", outcome=audit.resent("370200"))
    audit.record(ledger, T0 + timedelta(minutes=2), user="vera", role="viewer", action="login", subject="console",
                 reason="", outcome=audit.SIGNED_IN)
    ledger.close()
    again = open_ledger()
    assert [a.action for a in again.audit()] == ["login", "resend", "login"]
    assert again.audit(1, user="otto") == [AuditRecord(T0 + timedelta(minutes=1), "otto", "operator", "resend",
                                                       "A3-370300-370200", "青岛 lost it",
                                                       audit.kept(audit.resent("370200")))]
    assert again.audit(1, user="otto")[0].outcome_text("zh-CN") == "已重发至 370200"


def test_failed_logins_are_counted_together_by_every_console_on_the_ledger(open_ledger) -> None:
    """Two consoles on one ledger (migration 0007): three failures on one and two on the other lock the
    account out for both; the count outlives a restart; concurrent failures are each counted once."""
    from concurrent.futures import ThreadPoolExecutor

    from gateway.web.throttle import LoginGuard, LoginLimits, account_scope, address_scope

    limits = LoginLimits(failures=5, address_failures=1000)
    first, second = LoginGuard(open_ledger(), limits), LoginGuard(open_ledger(), limits)
    for n in range(3):
        assert first.failed("otto", "10.0.0.1", T0 + timedelta(seconds=n)) == []
    assert second.failed("otto", "10.0.0.2", T0 + timedelta(seconds=3)) == []
    [locked] = second.failed("otto", "10.0.0.2", T0 + timedelta(seconds=4))
    assert locked.scope == account_scope("otto") and locked.locked_until == T0 + timedelta(seconds=4, minutes=15)
    restarted = LoginGuard(open_ledger(), limits)
    assert restarted.locked("otto", "10.0.0.9", T0 + timedelta(minutes=5)) == locked.locked_until
    assert first.locked("vera", "10.0.0.9", T0 + timedelta(minutes=5)) is None
    with ThreadPoolExecutor(4) as pool:  # one account's failures from four places at once
        list(pool.map(lambda n: (first if n % 2 else second).failed("vera", f"10.1.0.{n}", T0), range(4)))
    [vera] = first.ledger.login_throttles([account_scope("vera")])
    assert vera.failures == 4 and first.ledger.login_throttles([address_scope("10.1.0.1")])[0].failures == 1
    second.succeeded("vera")
    assert first.ledger.login_throttles([account_scope("vera")]) == []
    with first.ledger.unit_of_work() as tx:  # a day later nothing is left to count
        assert tx.forget_login_throttles(T0 + timedelta(days=2)) >= 5
    assert first.ledger.login_throttles([account_scope("otto"), address_scope("10.0.0.1")]) == []


def test_two_migrations_with_one_number_are_refused(tmp_path) -> None:
    from adapters.migrations import _choose

    for name in ("0001_a.sqlite.sql", "0001_a.postgres.sql", "0002_audit.sqlite.sql", "0002_other.sqlite.sql"):
        (tmp_path / name).write_text("CREATE TABLE t (k INTEGER);\n")
    with pytest.raises(ValueError, match="0002_audit.sqlite.sql and 0002_other.sqlite.sql share the number 0002"):
        _choose(sorted(tmp_path.glob("*.sql")), "sqlite")
    (tmp_path / "0002_other.sqlite.sql").unlink()
    assert [m.name for m in _choose(sorted(tmp_path.glob("*.sql")), "sqlite")] == ["0001_a.sqlite.sql", "0002_audit.sqlite.sql"]
