"""/healthz's spool probe checks the folder spool, and leaves a database spool to the ledger's own check."""

from __future__ import annotations

from pathlib import Path

from adapters.sqlite_ledger import SqliteLedger
from gateway.observability.health import health_report


def test_a_missing_spool_folder_is_unhealthy_but_a_database_spool_has_no_folder_to_probe(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    try:
        missing = tmp_path / "no-such-spool"
        report = health_report(ledger=ledger, spool_dir=missing, contacts={}, cities=[])
        assert not report.ok and any("spool" in reason for reason in report.reasons)
        report = health_report(ledger=ledger, spool_dir=None, contacts={}, cities=[])
        assert report.ok, report.reasons
    finally:
        ledger.close()
