"""Capture on fakes: bytes in the spool and the capture committed before the file leaves the city's drop."""

from __future__ import annotations

import pytest

from gateway.service.ports.transport import TransportError
from gateway.domain.envelope import MessageType
from gateway.service.capture import capture_city
from tests.support.exactly_once import assert_exactly_once

from .conftest import JINAN, ZIBO


def test_a_file_is_spooled_and_recorded_then_removed_from_the_drop(exchange) -> None:
    zibo = exchange.cities[ZIBO]
    claim = zibo.send(MessageType.A3, JINAN, seed=1)
    report = capture_city(exchange.gw, zibo.drop)
    assert report.captured == 1 and zibo.drop.outbox == {}
    [capture] = exchange.ledger.tables.captures.values()
    assert (capture.city, capture.sha256, capture.size) == (ZIBO, claim.sha256, len(claim.data))
    assert capture.removed and not capture.processed
    assert exchange.spool.read("inbox", claim.sha256) == claim.data
    assert exchange.ledger.messages() == []  # captured, not decided: that is processing's job


def test_a_capture_that_cannot_be_committed_leaves_the_file_in_the_drop(exchange) -> None:
    zibo = exchange.cities[ZIBO]
    claim = zibo.send(MessageType.A3, JINAN, seed=2)
    exchange.ledger.fail("add_capture", OSError("database is locked"))
    with pytest.raises(OSError):
        capture_city(exchange.gw, zibo.drop)
    assert list(zibo.drop.outbox) and exchange.ledger.tables.captures == {}
    exchange.step()  # taken on the next pass, once
    assert_exactly_once([claim], exchange.drops, exchange.ledger)


def test_a_crash_before_the_removal_takes_the_file_once_on_the_next_pass(exchange) -> None:
    """Committed, then the process died before the drop's file was removed: the same file is found again."""
    zibo = exchange.cities[ZIBO]
    claim = zibo.send(MessageType.A3, JINAN, seed=3)
    zibo.drop.fail("remove", TransportError("connection lost"))
    with pytest.raises(TransportError):
        capture_city(exchange.gw, zibo.drop)
    assert list(zibo.drop.outbox) and len(exchange.ledger.tables.captures) == 1
    assert capture_city(exchange.gw, zibo.drop).captured == 1
    [capture] = exchange.ledger.tables.captures.values()  # known by name, bytes and time: only removed now
    assert capture.removed and zibo.drop.outbox == {}
    exchange.step()
    assert_exactly_once([claim], exchange.drops, exchange.ledger)


def test_a_file_gone_before_its_download_is_skipped_and_nothing_recorded(exchange) -> None:
    zibo = exchange.cities[ZIBO]
    zibo.send(MessageType.A3, JINAN, seed=4)
    zibo.drop.fail("download", FileNotFoundError("taken back by the city's system"))
    assert capture_city(exchange.gw, zibo.drop).captured == 0
    assert exchange.ledger.tables.captures == {} and exchange.spool.files == {}
    assert len(zibo.drop.outbox) == 1


def test_an_unreachable_drop_raises_and_records_nothing(exchange) -> None:
    zibo = exchange.cities[ZIBO]
    zibo.send(MessageType.A3, JINAN, seed=5)
    zibo.drop.down = "connection refused"
    with pytest.raises(TransportError, match="connection refused"):
        capture_city(exchange.gw, zibo.drop)
    assert exchange.ledger.tables.captures == {} and len(zibo.drop.outbox) == 1


def test_refused_entries_are_recorded_once_while_they_stay(exchange) -> None:
    zibo = exchange.cities[ZIBO]
    zibo.drop.put("link.xml", b"")
    zibo.drop.refuse("link.xml", "a symbolic link: never followed")
    for _ in range(3):
        capture_city(exchange.gw, zibo.drop)
    assert [(d["name"], d["reason"]) for d in exchange.events("refused")] == [("link.xml", "a symbolic link: never followed")]
    assert "link.xml" in zibo.drop.outbox  # left for the operator
    del zibo.drop.refused["link.xml"], zibo.drop.outbox["link.xml"]
    capture_city(exchange.gw, zibo.drop)  # gone: forgotten, so a new refusal of that name is news again
    zibo.drop.put("link.xml", b"")
    zibo.drop.refuse("link.xml", "a symbolic link: never followed")
    capture_city(exchange.gw, zibo.drop)
    assert len(exchange.events("refused")) == 2


def test_an_oversize_file_keeps_only_its_head_and_is_refused(exchange) -> None:
    zibo = exchange.cities[ZIBO]
    exchange.gw.max_message_bytes = 1000
    claim = zibo.send(MessageType.A3, JINAN, seed=6)
    assert len(claim.data) > 1000
    checker = exchange.gw.checker
    limit, checker.settings.max_bytes = checker.settings.max_bytes, 1000
    try:
        exchange.step()
    finally:
        checker.settings.max_bytes = limit  # the session's checker: put back for the other tests
    [record] = exchange.ledger.messages()
    assert record.size == 1001 and [f["code"] for f in record.findings] == ["xml.too_large"]
    assert zibo.drop.outbox == {} and exchange.cities[JINAN].deliveries() == []
    assert zibo.drop.files("NACK_") == [f"NACK_{record.sha256[:16]}.xml"]
