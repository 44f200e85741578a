"""The console's audit log: each action an operator takes (resend, download of an original, login) is
recorded in the ledger with who, when, what, why and how it ended, in its own unit of work, so that the
record stays even when the action fails. `ltcgw audit` and the console's audit page read it back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from gateway.service.ports.ledger import AuditRecord, Ledger, Scope

MAX_REASON = 500  # a reason is a sentence, not a document (and never holds personal data by design)


def record(ledger: Ledger, at: datetime, *, user: str, role: str, action: str, subject: str, reason: str,
           outcome: str) -> AuditRecord:
    entry = AuditRecord(at, user, role, action, subject, " ".join(reason.split())[:MAX_REASON], outcome)
    with ledger.unit_of_work(Scope()) as tx:  # an entry only: nothing anybody decides on
        tx.record_audit(entry)
    return entry


def audited(ledger: Ledger, clock: Callable[[], datetime], *, user: str, role: str, action: str, subject: str,
            reason: str, do: Callable[[], str]) -> str:
    """Run `do` (which returns what was done, e.g. the receiving city) and record it; an exception is recorded
    as the outcome `failed: <kind>: <message>` and raised again."""
    try:
        outcome = do()
    except Exception as exc:
        record(ledger, clock(), user=user, role=role, action=action, subject=subject, reason=reason,
               outcome=f"failed: {type(exc).__name__}: {exc}"[:300])
        raise
    record(ledger, clock(), user=user, role=role, action=action, subject=subject, reason=reason, outcome=outcome)
    return outcome
