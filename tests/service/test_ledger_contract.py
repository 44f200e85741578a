"""The in-memory ledger cannot drift from the real one: the same scenarios run on the fake and on SQLite, each
asserting the port's behaviour, and their whole transcripts (every answer, in order) must be equal.

A new ledger member is a new scenario here (or a new step in one): the fast tier is only as true as this file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from adapters.sqlite_ledger import SqliteLedger
from gateway.domain.envelope import Header, MessageType
from gateway.domain.lifecycle import Event, IllegalTransition, State
from tests.support.fakes import FakeLedger

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
T1 = T0 + timedelta(minutes=5)
JINAN, ZIBO = "370100", "370300"
SHA_A, SHA_B = "ab" * 32, "cd" * 32


def header(ident: str = "37030020261102090000AAAA0001", revision: int = 1, kind: MessageType = MessageType.A3,
           reply_to: str | None = None) -> Header:
    return Header(ident, kind, ZIBO, JINAN, "2026-10", "ZB-1", revision, T0, reply_to, SHA_A if reply_to else None)


def _message(tx, sha: str = SHA_A, head: Header | None = None, name: str = "a.xml", city: str = ZIBO):
    key = tx.add_capture(city, name, sha, 10, 1.5, T0)
    capture = next(c for c in tx.pending_captures() if c.key == key)
    return tx.add_message(capture, head, T0)


# -- scenarios: each asserts the port's behaviour and returns what it saw, for the comparison ------------------


def captures(ledger) -> list[Any]:
    with ledger.unit_of_work() as tx:
        first = tx.add_capture(ZIBO, "a.xml", SHA_A, 10, 1.5, T0)
        second = tx.add_capture(ZIBO, "b.xml", SHA_B, 20, 2.5, T1)
        found = tx.unremoved_capture(ZIBO, "a.xml", SHA_A, 1.5)
        other_time = tx.unremoved_capture(ZIBO, "a.xml", SHA_A, 9.9)
    assert found is not None and found.key == first and other_time is None
    with ledger.unit_of_work() as tx:
        tx.mark_capture_removed(first)
        gone = tx.unremoved_capture(ZIBO, "a.xml", SHA_A, 1.5)
        tx.mark_capture_processed(second, None)
        pending = tx.pending_captures()
        states = (tx.capture_pending(first), tx.capture_pending(second))
    assert gone is None and [c.key for c in pending] == [first] and states == (True, False)
    claimed = ledger.claim_captures("gw", 10, 30)
    assert [(c.key, c.removed, c.processed) for c in claimed] == [(first, True, False)]
    with ledger.unit_of_work() as tx:
        limited = tx.pending_captures(limit=0)
    assert limited == []
    return [first, second, found, other_time, gone, pending, states, claimed, limited]


def messages_and_transitions(ledger) -> list[Any]:
    with ledger.unit_of_work() as tx:
        first = _message(tx, head=header())
        unreadable = _message(tx, SHA_B, None, "junk.xml")
        routed = tx.transition(first.key, Event.CHECK_PASSED, T1, "checks passed")
        tx.set_delivery_name(first.key, "A3_x.xml")
        delivered = tx.transition(first.key, Event.DELIVERED, T1, "written")
        rejected = tx.transition(unreadable.key, Event.CHECK_FAILED, T1, "refused: xml.syntax")
        tx.set_findings(unreadable.key, [{"code": "xml.syntax", "message": "不是XML", "line": 1, "path": None}])
        seen = [
            tx.get_message(first.key), tx.messages_by_id(first.message_id), tx.message_by_sha(SHA_B, ZIBO),
            tx.message_by_sha(SHA_B, JINAN), tx.messages_by_document(first.document_key),
            tx.messages_in([State.DELIVERED, State.REJECTED]), tx.messages_in([State.ROUTED]),
        ]
    assert first.state is State.RECEIVED and first.received_at == T0 and first.sender == ZIBO
    assert routed.state is State.ROUTED and delivered.state is State.DELIVERED
    assert delivered.deliveries == 1 and delivered.last_delivered_at == T1 and delivered.delivery_name == "A3_x.xml"
    assert rejected.state is State.REJECTED and unreadable.message_id is None and unreadable.type is None
    assert seen[2].findings == ({"code": "xml.syntax", "message": "不是XML", "line": 1, "path": None},)
    assert seen[3] is None and [m.key for m in seen[4]] == [first.key] and seen[6] == []
    trace = ledger.trace(first.message_id)
    assert [(t.source, t.target, t.event, t.cause) for t in trace[0][1]] == [
        (None, State.RECEIVED, "captured", "taken from 370300's drop as a.xml"),
        (State.RECEIVED, State.ROUTED, "check_passed", "checks passed"),
        (State.ROUTED, State.DELIVERED, "delivered", "written"),
    ]
    assert ledger.trace(SHA_B)[0][0].key == unreadable.key  # traced by digest when it has no id
    return [first, unreadable, routed, delivered, rejected, seen, trace, ledger.trace(SHA_B), ledger.trace("none")]


def documents_and_revisions(ledger) -> list[Any]:
    with ledger.unit_of_work() as tx:
        one = _message(tx, SHA_A, header("ID-1"))
        two = _message(tx, SHA_B, header("ID-2", revision=2), "b.xml")
        receipt = _message(tx, "ef" * 32, header("ID-3", kind=MessageType.RECEIPT, reply_to="ID-1"), "r.xml", JINAN)
        same = tx.messages_by_document(one.document_key)
        none = tx.messages_by_document(("A3", ZIBO, JINAN, "2026-09", "ZB-1"))
    assert [m.message_id for m in same] == ["ID-1", "ID-2"] and none == []
    assert receipt.reply_to == "ID-1" and receipt.reply_to_sha256 == SHA_A and receipt.drop_city == JINAN
    return [one, two, receipt, same, none]


def outgoing_files(ledger) -> list[Any]:
    with ledger.unit_of_work() as tx:
        message = _message(tx, head=header())
        delivery = tx.add_outgoing(JINAN, "A3_x.xml", "inbox", SHA_A, "delivery", message.key, T0)
        ack = tx.add_outgoing(ZIBO, "ACK_x.xml", "outbox", SHA_B, "ack", message.key, T0)
        loose = tx.add_outgoing(ZIBO, "NACK_y.xml", "outbox", SHA_B, "nack", None, T0)
        taken = (tx.reply_name_taken(ZIBO, "ACK_x.xml"), tx.reply_name_taken(JINAN, "ACK_x.xml"))
    with ledger.unit_of_work() as tx:
        marks = (tx.mark_written(ack, T1), tx.mark_written(ack, T1))
        pending = (tx.pending_outgoing(JINAN), tx.pending_outgoing(ZIBO))
        cancelled = (tx.cancel_outgoing(message.key, "delivery"), tx.cancel_outgoing(message.key, "delivery"),
                     tx.cancel_outgoing(message.key, "ack"))
        after = (tx.pending_outgoing(JINAN), tx.outgoing_of(message.key))
    assert taken == (True, False) and marks == (True, False) and cancelled == (1, 0, 0)
    assert [o.key for o in pending[0]] == [delivery] and [o.key for o in pending[1]] == [loose]
    assert after[0] == [] and [(o.kind, o.written_at, o.cancelled) for o in after[1]] == [
        ("delivery", None, True), ("ack", T1, False)]
    assert [o.key for o in ledger.outgoing(ZIBO)] == [ack, loose] and len(ledger.outgoing()) == 3
    return [delivery, ack, loose, taken, marks, pending, cancelled, after, ledger.outgoing(), ledger.outgoing(JINAN)]


def events_in_order(ledger) -> list[Any]:
    with ledger.unit_of_work() as tx:
        tx.record_event(T0, "refused", ZIBO, {"name": "link.xml", "reason": "symbolic link"})
        tx.record_event(T1, "alert", None, {"kind": "engine_error", "ids": ("a", "b"), "at": T1})
        tx.record_event(T1, "alert", JINAN, {"kind": "city_unreachable"})
    every, alerts = list(ledger.events()), list(ledger.events("alert"))
    recent = ledger.recent_events("alert", limit=1)
    assert [k for _, k, _, _ in every] == ["refused", "alert", "alert"] and len(alerts) == 2
    assert alerts[0][3] == {"kind": "engine_error", "ids": ["a", "b"], "at": str(T1)}  # as JSON stores it
    assert [(c, d["kind"]) for _, _, c, d in recent] == [(JINAN, "city_unreachable")]
    return [every, alerts, recent, ledger.recent_events(), list(ledger.events("none"))]


def rollback_is_whole(ledger) -> list[Any]:
    with ledger.unit_of_work() as tx:
        message = _message(tx, head=header())

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with ledger.unit_of_work() as tx:
            tx.transition(message.key, Event.CHECK_PASSED, T1, "checks passed")
            tx.add_outgoing(JINAN, "A3_x.xml", "inbox", SHA_A, "delivery", message.key, T1)
            tx.record_event(T1, "alert", None, {"kind": "x"})
            tx.add_capture(ZIBO, "c.xml", SHA_B, 1, 1.0, T1)
            raise Boom
    with pytest.raises(IllegalTransition):
        with ledger.unit_of_work() as tx:
            tx.transition(message.key, Event.CHECK_PASSED, T1, "checks passed")
            tx.transition(message.key, Event.RECEIPT_ACCEPTED, T1, "impossible from ROUTED")
    [record] = ledger.messages()
    assert record.state is State.RECEIVED and ledger.outgoing() == [] and list(ledger.events()) == []
    assert len(ledger.trace(record.message_id)[0][1]) == 1
    with ledger.unit_of_work() as tx:
        captures = tx.pending_captures()
    assert len(captures) == 1
    with ledger.unit_of_work() as tx:  # and the keys go on after a rollback as they would have
        later = tx.add_capture(ZIBO, "d.xml", SHA_B, 1, 1.0, T1)
    return [record, captures, later > captures[0].key]


def views_and_counts(ledger) -> list[Any]:
    with ledger.unit_of_work() as tx:
        a = _message(tx, SHA_A, header("ID-1"))
        _message(tx, SHA_B, header("ID-2"), "b.xml")
        junk = _message(tx, "ef" * 32, None, "junk.xml")
        receipt = _message(tx, "12" * 32, header("ID-3", kind=MessageType.RECEIPT, reply_to="ID-1"), "r.xml", JINAN)
        tx.transition(a.key, Event.CHECK_PASSED, T1, "passed")
        tx.transition(a.key, Event.DELIVERED, T1, "written")
        tx.transition(junk.key, Event.CHECK_FAILED, T1, "refused")
        tx.transition(receipt.key, Event.CHECK_PASSED, T1, "passed")
    views = [
        ledger.messages(), ledger.messages(state="delivered"), ledger.messages(city=JINAN),
        ledger.messages(period="2026-10"), ledger.messages(state="ROUTED", city=ZIBO),
    ]
    assert [len(v) for v in views] == [4, 1, 3, 3, 1]  # the receipt names 淄博 as well
    counts, by_type = ledger.city_counts(), ledger.message_counts()
    [zibo] = [c for c in counts if c.city == ZIBO]
    assert (zibo.received, zibo.delivered, zibo.waiting_for_receipt, zibo.rejected) == (3, 1, 1, 1)
    assert zibo.oldest_unacknowledged == T0 and [c.city for c in counts] == [ZIBO]  # receipts are not counted
    assert by_type[0] == (None, "REJECTED", ZIBO, 1)  # unreadable first, as SQL sorts NULL
    assert ("A3", "RECEIVED", ZIBO, 1) in by_type and ("RECEIPT", "ROUTED", JINAN, 1) in by_type
    return [views, counts, by_type]


def one_instance(ledger) -> list[Any]:
    held = ledger.heartbeat("host:1", [ZIBO, JINAN], 30)
    again = ledger.heartbeat("host:1", [ZIBO, JINAN], 30)
    assert held == again == frozenset({ZIBO, JINAN})
    names = [(i.instance, i.alive) for i in ledger.instances()]
    ledger.leave("host:1")
    assert names == [("host:1", True)] and ledger.instances() == []
    assert ledger.writable_problem() is None
    return [held, names, ledger.instances(), ledger.writable_problem()]


def register_rows(ledger) -> list[Any]:
    """The register of entitlements (issue 12): newest revision kept, claims replaced whole, lookups by hash,
    a rotation's re-hash, the views, and purging by age."""
    from datetime import date
    from decimal import Decimal

    from gateway.domain.register import ArrangementRow, BillingRow, ClaimRecord

    notice = ArrangementRow(JINAN, ZIBO, "EN-1", 2, "h1", "k1", date(2026, 1, 1), date(2026, 6, 30), True, ("01", "02"),
                            "L1", None, date(2026, 1, 1), "EN-1")
    filing = ArrangementRow(JINAN, ZIBO, "CF-1", 1, "h1", "k1", date(2026, 3, 1), None, False, ("01",), "L2", "D1",
                            date(2026, 3, 1), "EN-1", filing=True)
    other = replace(notice, serial="EN-2", entitlement_serial="EN-2", revision=1, person="h2", until=date(2027, 1, 1),
                    ended=False)
    billing = BillingRow(JINAN, ZIBO, "2026-02", "A3-1", "S-1", "h1", "k1", "L1", "01", "2026-02", date(2026, 2, 1),
                         date(2026, 2, 28), 28, False)
    with ledger.unit_of_work() as tx:
        kept = [tx.keep_arrangement(notice), tx.keep_arrangement(replace(notice, revision=1, ended=False)),
                tx.keep_arrangement(filing), tx.keep_arrangement(other)]
        tx.keep_claim(ClaimRecord(JINAN, ZIBO, "2026-02", "A3-1", 1, Decimal("10.50")), [billing, replace(billing, statement_serial="S-2")])
        tx.keep_claim(ClaimRecord(JINAN, ZIBO, "2026-02", "A3-1", 2, Decimal("9.50")), [billing])  # a revision replaces
        tx.keep_claim(ClaimRecord(JINAN, ZIBO, "2026-09", "A3-9", 1, Decimal("0.00"), nil=True), [])
        found = (tx.arrangements_of(["h1", "nobody"]), tx.billings_of(["h1"], ["2026-02", "2026-03"]), tx.claim_record(JINAN, ZIBO, "2026-02", "A3-1"),
                 tx.claim_record(JINAN, ZIBO, "2026-02", "A3-X"), tx.claim_billings(JINAN, ZIBO, "2026-02", "A3-1"))
        rehashed = tx.rehash_person("h1", "n1", "k2")
        after = (tx.arrangements_of(["h1"]), [r.key_id for r in tx.arrangements_of(["n1"])], tx.billings_of(["n1"]),
                 tx.billings_of(["n1"], ["2026-01"]))
    assert kept == [True, False, True, True] and found[0] == [notice, filing] and found[2].claimed == Decimal("9.50")
    assert found[3] is None and [b.statement_serial for b in found[4]] == ["S-1"] and rehashed == 3
    assert after[0] == [] and after[1] == ["k2", "k2"] and len(after[2]) == 1 and after[3] == []
    views = (ledger.register_notices(), ledger.register_claims("2026-09"), ledger.register_keys())
    assert [r.serial for r in views[0]] == ["EN-1", "EN-2"] and views[1][0].nil and views[2] == {"k1": 1, "k2": 3}
    purged = ledger.purge_register("2026-07-01", "2026-03")  # EN-1 ended in June (with its filing); February's claim
    assert purged == 4 and [r.serial for r in ledger.register_notices()] == ["EN-2"]
    return [kept, found, rehashed, after, views, purged, ledger.register_notices(), ledger.register_keys()]


def register_versions(ledger) -> list[Any]:
    """The register's version per insured city (issue 16): higher after each write that can change what a claim
    to that city is checked against; read with the rows in one snapshot, outside any unit of work."""
    from datetime import date
    from decimal import Decimal

    from gateway.domain.register import ArrangementRow, BillingRow, ClaimRecord

    billing = BillingRow(JINAN, ZIBO, "2026-02", "A3-1", "S-1", "h1", "k1", "L1", "01", "2026-02", date(2026, 2, 1),
                         date(2026, 2, 28), 28, False)
    notice = ArrangementRow(ZIBO, JINAN, "EN-1", 1, "h1", "k1", date(2026, 1, 1), None, False, ("01",), "L1", None,
                            date(2026, 1, 1), "EN-1")
    before = ledger.register_known(JINAN, ["h1"], ["2026-02"])
    with ledger.unit_of_work() as tx:
        tx.keep_claim(ClaimRecord(JINAN, ZIBO, "2026-02", "A3-1", 1, Decimal("1.00")), [billing])
        inside = (tx.register_version(JINAN), tx.register_version(ZIBO))
    after = ledger.register_known(JINAN, ["h1"], ["2026-02", "2026-03"])
    with ledger.unit_of_work() as tx:
        tx.keep_arrangement(notice)  # to 淄博 as insured city: 济南's claims are checked against the same
    versions = (ledger.register_known(ZIBO, ["h1"], [])[0], ledger.register_known(JINAN, [], [])[0])
    ledger.purge_register("2000-01-01", "2000-01")  # nothing so old: nothing to check again
    kept = (ledger.register_known(ZIBO, [], [])[0], ledger.register_known(JINAN, [], [])[0])
    ledger.purge_register("2000-01-01", "2026-03")  # February's claim forgotten: every city's claims checked again
    purged = (ledger.register_known(ZIBO, [], [])[0], ledger.register_known(JINAN, ["h1"], ["2026-02"]))
    assert before == (0, [], []) and inside == (1, 0) and after == (1, [], [billing])
    assert versions == (1, 1) and kept == (1, 1) and purged == (2, (2, [notice], []))
    return [before, inside, after, versions, kept, purged]


def staged_billings(ledger) -> list[Any]:
    """A large claim's statements written before its decision (issue 16): seen by no read until a unit of work
    keeps the batch; a batch not kept is dropped; a batch gone by the time of the decision is written again."""
    from datetime import date
    from decimal import Decimal

    from gateway.domain.register import BillingRow, ClaimRecord

    rows = [BillingRow(JINAN, ZIBO, "2026-02", "A3-1", f"S-{n}", f"h{n}", "k1", "L1", "01", "2026-02",
                       date(2026, 2, 1), date(2026, 2, 28), 28, False) for n in (1, 2, 3)]
    claim = ClaimRecord(JINAN, ZIBO, "2026-02", "A3-1", 1, Decimal("1.00"))
    where = (JINAN, ZIBO, "2026-02", "A3-1")
    with ledger.unit_of_work() as tx:
        tx.keep_claim(claim, rows[:1])  # revision 1: one statement
    batch = ledger.stage_billings(rows)
    hidden = (ledger.register_known(JINAN, ["h2"], ["2026-02"])[2], ledger.register_keys())
    with ledger.unit_of_work() as tx:
        hidden += (tx.billings_of(["h1", "h2"]), [b.statement_serial for b in tx.claim_billings(*where)])
        tx.keep_claim(replace(claim, revision=2), rows, staged=batch)  # revision 2 replaces the first
        kept = [b.statement_serial for b in tx.claim_billings(*where)]
    ledger.drop_staged(ledger.stage_billings([replace(rows[0], claim_serial="A3-2")]))  # refused: never seen
    lost = ledger.stage_billings(rows[1:])
    ledger.drop_staged(lost)  # gone before its decision (a day-old batch cleared): written again from the rows
    with ledger.unit_of_work() as tx:
        tx.keep_claim(replace(claim, serial="A3-3"), [replace(r, claim_serial="A3-3") for r in rows[1:]], staged=lost)
        again = [b.statement_serial for b in tx.claim_billings(JINAN, ZIBO, "2026-02", "A3-3")]
    after = (len(ledger.register_known(JINAN, ["h1", "h2", "h3"], ["2026-02"])[2]), ledger.register_keys())
    assert hidden == ([], {"k1": 1}, [rows[0]], ["S-1"]) and kept == ["S-1", "S-2", "S-3"]
    assert again == ["S-2", "S-3"] and after == (5, {"k1": 5})
    return [hidden, kept, again, after]


SCENARIOS: list[Callable[[Any], list[Any]]] = [
    captures, messages_and_transitions, documents_and_revisions, outgoing_files, events_in_order,
    rollback_is_whole, views_and_counts, one_instance, register_rows, register_versions, staged_billings,
]


@pytest.fixture
def make_ledger(tmp_path: Path):
    opened: list[Any] = []

    def make(kind: str):
        ledger = FakeLedger() if kind == "fake" else SqliteLedger(tmp_path / f"{len(opened)}.sqlite3")
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("kind", ["fake", "sqlite"])
def test_the_port_behaves_as_documented(make_ledger, kind: str, scenario) -> None:
    scenario(make_ledger(kind))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_the_fake_answers_exactly_as_sqlite(make_ledger, scenario) -> None:
    fake, real = scenario(make_ledger("fake")), scenario(make_ledger("sqlite"))
    for step, (said, expected) in enumerate(zip(fake, real)):
        assert said == expected, f"{scenario.__name__}, answer {step}: the fake said {said!r}, SQLite {expected!r}"
    assert len(fake) == len(real)


def test_a_unit_of_work_inside_another_is_refused_as_sqlite_refuses_it(make_ledger) -> None:
    for kind in ("fake", "sqlite"):
        ledger = make_ledger(kind)
        with pytest.raises(Exception) as refused:
            with ledger.unit_of_work():
                with ledger.unit_of_work():
                    pass
        assert "transaction" in str(refused.value) or "unit of work" in str(refused.value), kind
