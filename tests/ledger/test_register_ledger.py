"""The register of entitlements' rows (issue 12) on both ledgers: the contract's scenario, on SQLite and on a real
PostgreSQL (migration 0003 in each dialect, the shared SQL, purging by age)."""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal

from gateway.domain.register import BillingRow, ClaimRecord
from tests.service.test_ledger_contract import register_rows, register_versions, staged_billings


def test_the_register_keeps_looks_up_rehashes_and_purges(ledger) -> None:
    register_rows(ledger)
    assert ledger.schema_version() >= 3


def test_the_register_versions_each_insured_city(ledger) -> None:
    register_versions(ledger)
    assert ledger.schema_version() >= 10


def test_a_snapshot_of_the_register_waits_for_no_unit_of_work(ledger) -> None:
    """A large claim is checked on a snapshot while other decisions commit (issue 16): the snapshot takes no
    lock they wait on, and waits on none of theirs; it sees what was committed, not what is being written."""
    billing = BillingRow("370100", "370300", "2026-02", "A3-1", "S-1", "h1", "k1", "L1", "01", "2026-02",
                         date(2026, 2, 1), date(2026, 2, 28), 28, False)
    with ledger.unit_of_work() as tx:
        tx.keep_claim(ClaimRecord("370100", "370300", "2026-02", "A3-1", 1, Decimal("1.00")), [billing])
    writing, release = threading.Event(), threading.Event()

    def decide_another() -> None:
        with ledger.unit_of_work() as tx:
            tx.keep_claim(ClaimRecord("370100", "370300", "2026-02", "A3-2", 1, Decimal("1.00")),
                          [BillingRow(*[getattr(billing, f) for f in billing.__slots__][:3], "A3-2",
                                      *[getattr(billing, f) for f in billing.__slots__][4:])])
            writing.set()
            release.wait(20)

    other = threading.Thread(target=decide_another)
    other.start()
    try:
        assert writing.wait(20)
        started = time.monotonic()
        version, _, billings = ledger.register_known("370100", ["h1"], ["2026-02"])
        assert time.monotonic() - started < 5  # a lock would hold it until the other commits (20 s)
        assert version == 1 and [b.claim_serial for b in billings] == ["A3-1"]
    finally:
        release.set()
        other.join()
    version, _, billings = ledger.register_known("370100", ["h1"], ["2026-02"])
    assert version == 2 and sorted(b.claim_serial for b in billings) == ["A3-1", "A3-2"]


def test_a_large_claims_statements_are_staged_unseen_until_kept(ledger) -> None:
    staged_billings(ledger)
