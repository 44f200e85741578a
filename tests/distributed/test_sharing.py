"""Two gateways on one PostgreSQL ledger, in one process, racing on purpose: every capture is decided once, the
checks are shared, and a due resend is scheduled once."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.local import LocalTransport
from gateway.bootstrap import build_gateway
from gateway.config import load_config
from gateway.workspace.city_system import CitySystem
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.workspace.layout import write_workspace
from gateway.service.capture import capture_city
from gateway.service.outgoing import flush_city
from gateway.service.process import process_pending
from gateway.service.resend import resend_due
from tests.support.exactly_once import Sent, assert_exactly_once
from tests.support.postgres import postgres_server  # noqa: F401

JINAN, ZIBO = "370100", "370300"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sharing-keys")
    write_workspace(root, [JINAN, ZIBO])
    return root / "keys"


@pytest.fixture
def pair(tmp_path: Path, keys: Path, postgres_server):  # noqa: F811
    shutil.copytree(keys, tmp_path / "keys")
    path = write_workspace(tmp_path, [JINAN, ZIBO], retry=["10m", "30m"])
    url = postgres_server.new_database()
    path.write_text(path.read_text(encoding="utf-8").replace(
        '[ledger]\npath = "ledger.sqlite3"', f'[ledger]\nurl = "{url}"'), encoding="utf-8")
    config, clock = load_config(path), Clock()
    gateways = [
        build_gateway(config, clock=clock, transports={
            code: LocalTransport(code, tmp_path / "drops" / code, settle_seconds=0) for code in (JINAN, ZIBO)})
        for _ in range(2)
    ]
    gateways[0].instance, gateways[1].instance = "gw-a", "gw-b"
    cities = {code: CitySystem(code, tmp_path / "keys", tmp_path / "drops" / code) for code in (JINAN, ZIBO)}
    yield gateways, cities, clock
    for gw in gateways:
        gw.ledger.close()
        gw.checker.close()


def _together(*calls) -> list:
    results: list = [None] * len(calls)
    threads = [threading.Thread(target=lambda i=i, c=c: results.__setitem__(i, c())) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_captures_are_checked_by_both_and_each_decided_once(pair) -> None:
    (a, b), cities, _ = pair
    sent = [Sent(*cities[ZIBO].send(MessageType.A3, JINAN, "2026-10", seed=i, persons=1)) for i in range(24)]
    for transport in a.transports.values():
        capture_city(a, transport)
        capture_city(a, transport)  # the second look: the files were stable
    first, second = _together(lambda: process_pending(a, batch=4), lambda: process_pending(b, batch=4))
    assert first.routed + second.routed == 24 and first.routed and second.routed  # shared, none twice
    assert {m.state for m in a.ledger.messages()} == {State.ROUTED}
    owed = a.ledger.outgoing()
    assert Counter(o.kind for o in owed) == {"delivery": 24, "ack": 24}
    # Both write what is owed at once (as after a lease changed hands): each write is marked once.
    _together(*[lambda gw=gw: [flush_city(gw, t) for t in gw.transports.values()] for gw in (a, b)])
    assert_exactly_once(sent, cities, a.ledger)


def test_a_due_resend_is_scheduled_once_whichever_instance_asks(pair) -> None:
    (a, b), cities, clock = pair
    header, _ = cities[ZIBO].send(MessageType.A3, JINAN, "2026-10", seed=1, persons=1)
    for transport in a.transports.values():
        capture_city(a, transport)
        capture_city(a, transport)
    process_pending(a)
    for transport in b.transports.values():
        flush_city(b, transport)
    clock.now += timedelta(minutes=11)
    reports = _together(lambda: resend_due(a), lambda: resend_due(b))
    assert sorted(len(r.resent) for r in reports) == [0, 1]
    [(record, transitions)] = a.ledger.trace(header.message_id)
    assert record.state is State.WAITING_FOR_RETRY
    assert [t.event for t in transitions].count("receipt_overdue") == 1
    assert [o.kind for o in a.ledger.outgoing(JINAN) if o.written_at is None] == ["delivery"]
