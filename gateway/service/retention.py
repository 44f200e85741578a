"""Purge: delete the originals the retention policy lets go, and say so in the ledger (`purged` events).

Decided on one reading of the ledger (gateway/domain/retention.py says which bytes every holder is done with),
then each file is deleted only if it was not stored again since its cutoff (the same bytes captured anew while
deciding belong to a live message). The ledger's rows, digests, transitions and findings stay: `ltcgw trace`
and the console still answer, and say when the original was purged. Run hourly by the daemon and by
`ltcgw purge`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from gateway.service.ports.ledger import Ledger, Scope
from gateway.domain.retention import Purge, RetentionPolicy, capture_holder, decide, message_holder, write_holder
from gateway.service.ports.events import EventLog
from gateway.service.ports.spool import Spool

PURGED = "purged"  # the event kind in the ledger
# Bytes stored this recently (wall clock) are never purged: a file captured while the purge was deciding has its
# bytes in the spool a moment before its capture is in the ledger.
FRESH = timedelta(hours=1)


@dataclass
class PurgeReport:
    purged: list[Purge] = field(default_factory=list)  # deleted (dry run: would be deleted)
    kept: int = 0  # due, but stored again since (or already gone)
    dry_run: bool = False
    register_rows: int = 0  # rows of the register of entitlements forgotten (issue 12)

    def as_dict(self) -> dict[str, object]:
        return {"dry_run": self.dry_run, "kept": self.kept, "register_rows": self.register_rows, "purged": [
            {"area": p.area, "sha256": p.sha256, "reason": p.reason, "city": p.city, "ids": list(p.message_ids)}
            for p in self.purged]}


def due(ledger: Ledger, policy: RetentionPolicy, now: datetime) -> list[Purge]:
    """What the policy lets go now, read from the ledger (nothing deleted)."""
    if not policy.enabled:
        return []
    holders = [message_holder(m.state, m.updated_at, m.sha256, policy, message_id=m.message_id,
                              message_key=m.key, city=m.drop_city) for m in ledger.messages()]
    still_open = {h.message_key for h in holders if h.done_at is None}
    holders += [write_holder(o.area, o.sha256, o.written_at, o.cancelled, o.created_at, policy, o.city,
                             message_open=o.message_key in still_open) for o in ledger.outgoing()]
    with ledger.unit_of_work(Scope()) as tx:  # a snapshot: what arrives later is newer than any cutoff
        pending = tx.pending_captures(limit=1_000_000_000)
    holders += [capture_holder(c.sha256) for c in pending]
    return decide(holders, now)


def purge(ledger: Ledger, spool: Spool, policy: RetentionPolicy, now: datetime, *, dry_run: bool = False) -> PurgeReport:
    """Delete what is due (`dry_run`: only say what) and record one `purged` event per file deleted."""
    report = PurgeReport(dry_run=dry_run)
    if policy.register_days is not None and not dry_run:
        # The register (issue 12): entitlements ended, and claims of months, more than register_days ago.
        cutoff = (now - timedelta(days=policy.register_days)).date()
        report.register_rows = ledger.purge_register(cutoff.isoformat(), f"{cutoff:%Y-%m}")
    fresh = datetime.now(timezone.utc) - FRESH
    for item in due(ledger, policy, now):
        if not spool.exists(item.area, item.sha256):
            continue  # purged before (its event says when)
        if dry_run:
            report.purged.append(item)
            continue
        if not spool.purge(item.area, item.sha256, min(item.cutoff or now, fresh)):
            report.kept += 1
            continue
        with ledger.unit_of_work(Scope()) as tx:  # an event only
            tx.record_event(now, PURGED, item.city, {
                "area": item.area, "sha256": item.sha256, "reason": item.reason,
                "ids": list(item.message_ids), "keys": list(item.message_keys)})
        report.purged.append(item)
    return report


def purged_at(ledger: Ledger, sha256: str, area: str = "inbox") -> datetime | None:
    """When these bytes were purged (the latest time, should the same bytes have come and gone twice)."""
    return _latest(at for at, _, _, detail in ledger.events(PURGED)
                   if detail.get("sha256") == sha256 and detail.get("area", "inbox") == area)


def original_purged_at(ledger: Ledger, spool: Spool, sha256: str) -> datetime | None:
    """When a message's original was purged; None while its bytes are in the spool (kept, or come again)."""
    return None if spool.exists("inbox", sha256) else purged_at(ledger, sha256)


def _latest(times: Iterable[datetime]) -> datetime | None:
    return max(times, default=None)


class Scheduler:
    """The daemon's periodic purge: at start, then every `policy.every`; cheap when nothing is due."""

    def __init__(self, ledger: Ledger, spool: Spool, policy: RetentionPolicy, log: EventLog) -> None:
        self.ledger, self.spool, self.policy, self.log = ledger, spool, policy, log
        self.next_at: datetime | None = None

    def maybe_run(self, now: datetime) -> PurgeReport | None:
        if not self.policy.enabled or (self.next_at is not None and now < self.next_at):
            return None
        self.next_at = now + self.policy.every
        report = purge(self.ledger, self.spool, self.policy, now)
        if report.purged or report.kept or report.register_rows:
            self.log.emit(PURGED, files=len(report.purged), kept=report.kept, register_rows=report.register_rows)  # the transfer log says it ran
        return report
