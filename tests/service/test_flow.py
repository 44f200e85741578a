"""Checks flowing through a pool (workers > 1), on a pool of threads with gates: each file decided as its
check ends, and a large file never takes the last worker, so a long check holds back no small claim."""

from __future__ import annotations

import pytest

import gateway.service.process
from gateway.documents.envelope import file_name
from gateway.domain.envelope import MessageType
from gateway.service.process import process_pending
from tests.support.exactly_once import assert_exactly_once
from tests.support.fakes import ThreadPoolChecker

from .conftest import JINAN, ZIBO


@pytest.fixture
def pooled(exchange, real_checks):
    checker, replies = real_checks
    pool = ThreadPoolChecker(checker.settings.check, replies.ack, workers=2, gate_seconds=5)
    exchange.gw.checker = pool
    yield exchange, pool
    pool.close()


def test_small_claims_are_decided_while_a_large_check_is_held(pooled, monkeypatch) -> None:
    exchange, pool = pooled
    zibo, jinan = exchange.cities[ZIBO], exchange.cities[JINAN]
    large = [zibo.pack(MessageType.A3, JINAN, seed=70 + i, persons=40, message_id=f"SLOW-{i}") for i in (1, 2)]
    for sent in large:
        zibo.drop.put(f"{sent.header.message_id}.xml", sent.data)
        pool.hold(sent.header.message_id)
    exchange.capture()  # the large ones first: they are claimed first
    small = [zibo.send(MessageType.A3, JINAN, seed=80 + i) for i in range(3)]
    exchange.capture()
    threshold = max(len(s.data) for s in small)
    assert threshold < min(len(s.data) for s in large)
    monkeypatch.setattr(gateway.service.process, "LARGE_BYTES", threshold)

    decided: list[set[str]] = []
    seen_when_small_done: list[list[str]] = []

    def on_owed(cities: set[str]) -> None:
        decided.append(cities)
        if len(decided) == len(small):  # every small claim decided while SLOW-1 is still held
            seen_when_small_done.append(list(pool.started))
            pool.release()

    report = process_pending(exchange.gw, on_owed=on_owed)
    assert report.routed == 5 and pool.timed_out == []
    # SLOW-2 never took the last worker: it waited for SLOW-1, so the small claims always had one.
    assert seen_when_small_done == [["SLOW-1"]] and pool.started == ["SLOW-1", "SLOW-2"]
    order = [m.message_id for m in exchange.ledger.messages()]
    assert order == [s.header.message_id for s in small] + ["SLOW-1", "SLOW-2"]  # decided as their checks ended
    exchange.flush()
    assert jinan.deliveries() == sorted(file_name(s.header) for s in small + large)
    assert_exactly_once(small + large, exchange.drops, exchange.ledger)


def test_small_claims_are_decided_while_a_large_claim_is_checked_across_documents(pooled, monkeypatch) -> None:
    """A large claim's decision (its checks across documents take seconds for 100,000 persons, issue 16) is made
    on a thread of its own: small claims whose checks end meanwhile are decided before it, not after."""
    import threading

    from gateway.domain import register as reg
    from gateway.service import register

    exchange, pool = pooled
    exchange.gw.register = reg.RegisterSettings(reg.parse_keys("k1 " + "ab" * 32))
    zibo = exchange.cities[ZIBO]
    large = zibo.pack(MessageType.A3, JINAN, seed=90, persons=40, message_id="LARGE-1")
    zibo.drop.put("LARGE-1.xml", large.data)
    exchange.capture()  # claimed first
    small = [zibo.pack(MessageType.A3, JINAN, seed=91 + i, message_id=f"SMALL-{i}") for i in range(3)]
    for sent in small:
        zibo.drop.put(f"{sent.header.message_id}.xml", sent.data)
        pool.hold(sent.header.message_id)  # their checks end only once the large claim's decision began
    exchange.capture()
    monkeypatch.setattr(gateway.service.process, "LARGE_BYTES", max(len(s.data) for s in small))
    smalls_decided, waited = threading.Event(), []

    def prepare(gw, header, summary, real=register.prepare):
        if header is not None and header.message_id == "LARGE-1":
            pool.release()
            waited.append(smalls_decided.wait(5))  # False: the small claims waited behind this decision
        return real(gw, header, summary)

    monkeypatch.setattr(register, "prepare", prepare)
    decided: list[set[str]] = []

    def on_owed(cities: set[str]) -> None:
        decided.append(cities)
        if len(decided) == len(small):
            smalls_decided.set()

    report = process_pending(exchange.gw, on_owed=on_owed)
    assert report.routed == 4 and pool.timed_out == [] and waited == [True]
    order = [m.message_id for m in exchange.ledger.messages()]
    assert sorted(order[:3]) == [s.header.message_id for s in small] and order[3] == "LARGE-1"  # small ones: any order
    assert len(exchange.ledger.tables.claims) == 4  # each kept in the register
    exchange.flush()
    assert_exactly_once(small + [large], exchange.drops, exchange.ledger)
