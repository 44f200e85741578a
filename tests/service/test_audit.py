"""gateway/service/audit.py on the in-memory ledger: an action is recorded done or failed, never lost."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from gateway.service import audit
from tests.support.fakes import FakeLedger

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def test_a_failed_action_is_recorded_with_why_it_failed_and_raised_again() -> None:
    ledger = FakeLedger()
    with pytest.raises(LookupError):
        audit.audited(ledger, lambda: T0, user="otto", role="operator", action="resend", subject="X",
                      reason="lost", do=lambda: (_ for _ in ()).throw(LookupError("no such message")))
    done = audit.audited(ledger, lambda: T0, user="otto", role="operator", action="resend", subject="Y",
                         reason="x" * 900, do=lambda: "resent to 370200")
    assert done == "resent to 370200"
    newest, failed = ledger.audit()
    assert failed.outcome == "failed: LookupError: no such message" and failed.subject == "X"
    assert newest.outcome == "resent to 370200" and len(newest.reason) == audit.MAX_REASON
