"""The retention purge on fakes: originals go when every holder is done with them for long enough; the ledger
keeps every record and says what was purged."""

from __future__ import annotations

from datetime import timedelta

from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.domain.retention import RetentionPolicy
from gateway.service.retention import PURGED, original_purged_at, purge

from .conftest import JINAN, ZIBO

POLICY = RetentionPolicy(spool_days=30, quarantine_days=10, outbox_days=30)


def _exchange(exchange):
    """A claim acknowledged (closed), one still waiting for its receipt (open), a broken file (rejected)."""
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    closed = zibo.send(MessageType.A3, JINAN, seed=1)
    exchange.step()
    jinan.answer()
    exchange.step()
    open_ = zibo.send(MessageType.A3, JINAN, seed=2)
    rejected = zibo.broken(MessageType.A3, JINAN, seed=3)
    exchange.step()
    states = {m.message_id: m.state for m in exchange.ledger.messages()}
    assert [states[s.header.message_id] for s in (closed, open_, rejected)] == [
        State.ACKNOWLEDGED, State.DELIVERED, State.REJECTED]
    return closed, open_, rejected


def _later(exchange, days: int) -> None:
    exchange.clock.advance(days=days)
    exchange.spool.age(timedelta(days=days))


def _reply(exchange, message_id: str, kind: str) -> str:
    [out] = [o for o in exchange.ledger.outgoing() if o.kind == kind and o.name == f"{kind.upper()}_{message_id}.xml"]
    return out.sha256


def test_the_quarantine_goes_first_then_closed_messages_and_their_replies_open_ones_stay(exchange) -> None:
    closed, open_, rejected = _exchange(exchange)
    spool, ledger = exchange.spool, exchange.ledger
    before = [(m.key, m.state, m.sha256) for m in ledger.messages()]

    _later(exchange, 11)
    report = purge(ledger, spool, POLICY, exchange.clock())
    assert [(p.reason, p.sha256) for p in report.purged] == [("quarantine", rejected.sha256)]
    assert not spool.exists("inbox", rejected.sha256)
    assert spool.exists("outbox", _reply(exchange, rejected.header.message_id, "nack"))  # outbox_days: 30

    _later(exchange, 20)
    report = purge(ledger, spool, POLICY, exchange.clock())
    gone = {(p.area, p.sha256) for p in report.purged}
    assert ("inbox", closed.sha256) in gone and ("outbox", _reply(exchange, closed.header.message_id, "ack")) in gone
    assert spool.exists("inbox", open_.sha256)  # DELIVERED: still owed a receipt, maybe a resend
    assert spool.exists("outbox", _reply(exchange, open_.header.message_id, "ack"))  # its sender may drop it again
    assert original_purged_at(ledger, spool, closed.sha256) == exchange.clock()
    assert original_purged_at(ledger, spool, open_.sha256) is None

    # The ledger forgot nothing: every row, state and digest as before; each purge is one `purged` event.
    assert [(m.key, m.state, m.sha256) for m in ledger.messages()] == before
    purged = [d for d in exchange.events(PURGED)]
    assert {(d["area"], d["sha256"]) for d in purged} == gone | {("inbox", rejected.sha256)}
    assert [d["ids"] for d in purged if d["sha256"] == closed.sha256] == [[closed.header.message_id]]
    assert purge(ledger, spool, POLICY, exchange.clock()).purged == []  # once only


def test_a_dry_run_deletes_nothing_and_records_nothing(exchange) -> None:
    _, _, rejected = _exchange(exchange)
    _later(exchange, 11)
    report = purge(exchange.ledger, exchange.spool, POLICY, exchange.clock(), dry_run=True)
    assert [p.sha256 for p in report.purged] == [rejected.sha256] and report.dry_run
    assert exchange.spool.exists("inbox", rejected.sha256) and exchange.events(PURGED) == []


def test_bytes_stored_again_since_are_kept(exchange) -> None:
    """The same bytes came again while the purge decided: they are a live message's now."""
    _, _, rejected = _exchange(exchange)
    exchange.clock.advance(days=11)  # the ledger says done long ago, but the spool stored them just now
    report = purge(exchange.ledger, exchange.spool, POLICY, exchange.clock())
    assert report.purged == [] and report.kept == 1
    assert exchange.spool.exists("inbox", rejected.sha256)


def test_nothing_is_purged_without_a_policy(exchange) -> None:
    _exchange(exchange)
    _later(exchange, 3650)
    assert purge(exchange.ledger, exchange.spool, RetentionPolicy(), exchange.clock()).purged == []
