"""Alerts raised inside a transaction are recorded after it, never inside it (no nested unit of work)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from adapters.sqlite_ledger import SqliteLedger
from gateway.observability.alerts import AlertSink, recent_alerts
from gateway.observability.events import TransferLog


def test_an_alert_raised_inside_a_unit_of_work_is_recorded_once_it_commits(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    sink = AlertSink(ledger)
    events = TransferLog()
    events.subscribe(sink)
    try:
        with ledger.unit_of_work() as tx:
            tx.record_event(datetime.now(timezone.utc), "marker", "370100", {"step": "inside"})
            events.alert("file_quarantined", city="370100", codes=["sig.digest"], cause="NACK")
        assert sink.flush(timeout=10), "the alert was not recorded: the recorder is stuck behind the transaction"
    finally:
        events.unsubscribe(sink)
        sink.close()
    alerts = recent_alerts(ledger, 5)
    assert [(a["kind"], a["city"], a["codes"]) for a in alerts] == [("file_quarantined", "370100", ["sig.digest"])]
    assert sink.dropped == 0
