"""The register of entitlements' rows (issue 12) on both ledgers: the contract's scenario, on SQLite and on a real
PostgreSQL (migration 0003 in each dialect, the shared SQL, purging by age)."""

from __future__ import annotations

from tests.service.test_ledger_contract import register_rows


def test_the_register_keeps_looks_up_rehashes_and_purges(ledger) -> None:
    register_rows(ledger)
    assert ledger.schema_version() >= 3
