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
                         reason="x" * 900, do=lambda: audit.resent("370200"))
    assert done == audit.resent("370200")
    newest, failed = ledger.audit()
    assert failed.outcome_text() == "failed: LookupError: no such message" and failed.subject == "X"
    assert failed.outcome_text("zh-CN") == "失败：LookupError：no such message"
    assert newest.outcome_text() == "resent to 370200" and len(newest.reason) == audit.MAX_REASON
    assert newest.outcome_text("zh-CN") == "已重发至 370200"


def test_an_outcome_is_kept_as_code_and_values_and_an_older_row_shows_as_it_was() -> None:
    """Issue 14: the record keeps no frozen English sentence; a row from before outcomes were notes still shows."""
    import json

    from gateway.service.ports.ledger import AuditRecord

    entry = audit.record(FakeLedger(), T0, user="otto", role="operator", action="download", subject="Y", reason="r",
                         outcome=audit.downloaded(1234))
    assert json.loads(entry.outcome) == {"code": "audit.downloaded", "template": "{size} bytes",
                                         "params": {"size": "1234"}}
    assert entry.outcome_text("zh-CN") == "1234 字节" and entry.outcome_text("en") == "1234 bytes"
    assert entry.as_dict()["outcome_code"] == "audit.downloaded" and entry.as_dict()["outcome"] == "1234 bytes"
    old = AuditRecord(T0, "otto", "operator", "resend", "Y", "r", "resent to 370200")
    assert old.said is None and old.outcome_text("zh-CN") == "resent to 370200"
    assert "outcome_code" not in old.as_dict() and old.as_dict()["outcome"] == "resent to 370200"
    # values masked, our words not: an error quoting an ID number
    failed = AuditRecord(T0, "otto", "operator", "resend", "Y", "r",
                         audit.kept(audit.failed(ValueError("bad 370302195003041234"))))
    from gateway.observability.masking import mask_text

    assert "370302195003041234" not in failed.outcome_text("zh-CN", mask_text)
    assert failed.outcome_text("zh-CN", mask_text).startswith("失败：ValueError：bad 3703")
