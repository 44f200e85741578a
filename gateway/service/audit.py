"""The console's audit log: each action an operator takes (resend, download of an original, login) is
recorded in the ledger with who, when, what, why and how it ended, in its own unit of work, so that the
record stays even when the action fails. `ltcgw audit` and the console's audit page read it back.

How it ended is a note (gateway.domain.notes): kept as its code and values (`kept`, JSON in the outcome column),
said in the reader's language when shown (`AuditRecord.outcome_text`). A row recorded before (plain English)
is shown as it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from gateway.domain.notes import Note
from gateway.service.ports.ledger import AuditRecord, Ledger, Scope

MAX_REASON = 500  # a reason is a sentence, not a document (and never holds personal data by design)
MAX_ERROR = 250

SIGNED_IN = Note("audit.signed_in", "signed in")
LOGIN_REFUSED = Note("audit.login_refused", "refused: wrong name or password")


def locked_out(until: datetime, count: int) -> Note:
    return Note("audit.locked_out", "locked out until {until} (lock-out {count})",
                until=until.isoformat(timespec="seconds"), count=count)


def resent(city: str) -> Note:
    return Note("audit.resent", "resent to {city}", city=city)


def downloaded(size: int) -> Note:
    return Note("audit.downloaded", "{size} bytes", size=size)


def failed(exc: Exception) -> Note:
    return Note("audit.failed", "failed: {kind}: {error}", kind=type(exc).__name__, error=str(exc)[:MAX_ERROR])


def kept(outcome: Note) -> str:
    """The outcome as the ledger keeps it: code, template and values, so that it can be said again."""
    data = outcome.as_dict()
    return json.dumps({"code": data["code"], "template": data["template"], "params": data["params"]},
                      ensure_ascii=False, sort_keys=False)


def record(ledger: Ledger, at: datetime, *, user: str, role: str, action: str, subject: str, reason: str,
           outcome: Note) -> AuditRecord:
    entry = AuditRecord(at, user, role, action, subject, " ".join(reason.split())[:MAX_REASON], kept(outcome))
    with ledger.unit_of_work(Scope()) as tx:  # an entry only: nothing anybody decides on
        tx.record_audit(entry)
    return entry


def audited(ledger: Ledger, clock: Callable[[], datetime], *, user: str, role: str, action: str, subject: str,
            reason: str, do: Callable[[], Note]) -> Note:
    """Run `do` (which returns what was done, e.g. `resent(city)`) and record it; an exception is recorded as
    the outcome `failed(exc)` and raised again."""
    try:
        outcome = do()
    except Exception as exc:
        record(ledger, clock(), user=user, role=role, action=action, subject=subject, reason=reason,
               outcome=failed(exc))
        raise
    record(ledger, clock(), user=user, role=role, action=action, subject=subject, reason=reason, outcome=outcome)
    return outcome
