"""The ledger's observability views (message_counts, recent_events, writable_problem) on SQLite and on a real
PostgreSQL: the SQL is shared, so both backends must answer the same."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gateway.service.ports.ledger import Capture
from adapters.sqlite_ledger import SqliteLedger
from gateway.domain.lifecycle import Event
from tests.support.postgres import postgres_server  # noqa: F401  (the session's server, shared)


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request, tmp_path):
    if request.param == "postgres":
        from adapters.postgres_ledger import PostgresLedger

        opened = PostgresLedger(request.getfixturevalue("postgres_server").new_database())
    else:
        opened = SqliteLedger(tmp_path / "ledger.sqlite3")
    yield opened
    opened.close()


def test_counts_recent_alerts_and_the_write_probe(ledger) -> None:
    now = datetime.now(timezone.utc)
    with ledger.unit_of_work() as tx:
        for n, city in enumerate(["370300", "370300", "370100"]):
            key = tx.add_capture(city, f"f{n}.xml", f"{n:064x}", 10, 1.0, now)
            capture = Capture(key, city, f"f{n}.xml", f"{n:064x}", 10, 1.0, now, True, False)
            message = tx.add_message(capture, None, now)
            if n == 0:
                tx.transition(message.key, Event.CHECK_FAILED, now, "refused")
        for n in range(5):
            tx.record_event(now + timedelta(seconds=n), "alert", "370600", {"kind": "city_unreachable", "count": n})
        tx.record_event(now, "refused", "370300", {"name": "x"})
    assert ledger.message_counts() == [(None, "RECEIVED", "370100", 1), (None, "RECEIVED", "370300", 1),
                                       (None, "REJECTED", "370300", 1)]
    newest = ledger.recent_events("alert", 3)
    assert [detail["count"] for _, kind, _, detail in newest] == [4, 3, 2] and {k for _, k, _, _ in newest} == {"alert"}
    assert len(ledger.recent_events(None, 50)) == 6
    assert ledger.writable_problem() is None
    assert [kind for _, kind, _, _ in ledger.recent_events(None, 50)].count("health_probe") == 0  # rolled back
