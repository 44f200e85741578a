"""Retention: which stored originals may be forgotten, so personal data is not kept longer than needed.

The ledger keeps everything it knows about a message (its row, digest, transitions, findings) for ever; only the
bytes in the spool go. Bytes go when every holder of them is done with them and has been for the configured
age:

- inbox bytes (a city's file) are shared by every message and capture with the same SHA-256 (the spool is
  content-addressed), so they go only when every message with that digest is closed, none is still being
  checked (an unprocessed capture) and no write of them is owed;
- "closed" is the lifecycle's final states (today ACKNOWLEDGED, DECLINED, SUPERSEDED, FORWARDED, WITHDRAWN; REJECTED
  after the quarantine age), taken from its table. FAILED is not closed: an operator may still resend it by
  hand (`ltcgw resend`), and a late receipt still closes it; nor are RECEIVED, ROUTED, DELIVERED,
  WAITING_FOR_RETRY, whose bytes are still owed;
- outbox bytes (a reply the gateway signed) go when every write of them is done or cancelled.

The age counts from the message's last transition (the moment it closed) or from the reply's last write, never
from its arrival: a claim acknowledged after three weeks keeps its full retention. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.domain.lifecycle import FINAL_STATES, QUARANTINED, State

CLOSED = FINAL_STATES - {QUARANTINED}  # the quarantine is final too, but kept by its own age
PURGE_EVERY = timedelta(hours=1)  # cheap: one reading of the ledger when nothing is due


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Days to keep originals once done with; None keeps them for ever (the default: purging is opted into)."""

    spool_days: int | None = None  # inbox bytes of closed messages
    quarantine_days: int | None = None  # inbox bytes of REJECTED messages (the quarantine)
    outbox_days: int | None = None  # replies (ACK/NACK) the gateway signed, once written
    every: timedelta = PURGE_EVERY  # how often the running daemon purges
    register_days: int | None = None  # the register of entitlements: ended entitlements, claims of old months

    @property
    def enabled(self) -> bool:
        return any(days is not None for days in (self.spool_days, self.quarantine_days, self.outbox_days,
                                                 self.register_days))


@dataclass(frozen=True, slots=True)
class Holder:
    """Something that refers to stored bytes: a message, a capture being checked, or a file owed or written."""

    area: str  # "inbox" | "outbox"
    sha256: str
    done_at: datetime | None  # when it was done with the bytes; None: still needs them
    age: int | None  # the retention (days) that applies to it; None: kept for ever
    kind: str = "message"  # "message" | "quarantine" | "capture" | "write"
    message_id: str | None = None
    message_key: int | None = None
    city: str | None = None


@dataclass(frozen=True, slots=True)
class Purge:
    """Bytes that may go now, and the ledger's messages that referred to them (for the `purged` event)."""

    area: str
    sha256: str
    reason: str  # "spool" | "quarantine" | "outbox"
    city: str | None
    message_ids: tuple[str, ...] = ()
    message_keys: tuple[int, ...] = ()
    cutoff: datetime | None = None  # bytes stored again after this moment are fresh: kept (see the service)


def message_holder(state: State, updated_at: datetime, sha256: str, policy: RetentionPolicy, *,
                   message_id: str | None = None, message_key: int | None = None, city: str | None = None) -> Holder:
    """A message's claim on its inbox bytes: done when closed (quarantine: when rejected)."""
    if state is QUARANTINED:
        return Holder("inbox", sha256, updated_at, policy.quarantine_days, "quarantine", message_id, message_key, city)
    done = updated_at if state in CLOSED else None
    return Holder("inbox", sha256, done, policy.spool_days, "message", message_id, message_key, city)


def write_holder(area: str, sha256: str, written_at: datetime | None, cancelled: bool, created_at: datetime,
                 policy: RetentionPolicy, city: str | None = None, *, message_open: bool = False) -> Holder:
    """A file owed to a city: holds its bytes until written (or cancelled). Outbox bytes then age by
    `outbox_days`, but not while the message they answer is open (its sender may drop it again and is then
    answered with the same reply); a delivery's inbox bytes are the message's, whose own holder decides."""
    if (written_at is None and not cancelled) or (area == "outbox" and message_open):
        return Holder(area, sha256, None, None, "write", city=city)
    done = written_at or created_at
    return Holder(area, sha256, done, policy.outbox_days if area == "outbox" else 0, "write", city=city)


def capture_holder(sha256: str) -> Holder:
    """A captured file not checked yet: its bytes are about to be read."""
    return Holder("inbox", sha256, None, None, "capture")


def decide(holders: Iterable[Holder], now: datetime) -> list[Purge]:
    """The bytes every holder has been done with for at least its retention, the longest-closed first."""
    grouped: dict[tuple[str, str], list[Holder]] = {}
    for holder in holders:
        grouped.setdefault((holder.area, holder.sha256), []).append(holder)
    purges: list[tuple[datetime, Purge]] = []
    for (area, sha), group in grouped.items():
        if any(h.done_at is None or h.age is None or now - h.done_at < timedelta(days=h.age) for h in group):
            continue
        owners = [h for h in group if h.kind in ("message", "quarantine")]
        if area == "inbox" and not owners:
            continue  # bytes no message refers to: nothing has decided they are done with
        if area == "outbox":
            reason = "outbox"
        else:
            reason = "quarantine" if all(h.kind == "quarantine" for h in owners) else "spool"
        ages = [h.age for h in group if h.kind != "write" or area == "outbox"]
        purges.append((max(h.done_at for h in group), Purge(  # type: ignore[type-var]
            area, sha, reason, next((h.city for h in owners or group if h.city), None),
            tuple(h.message_id for h in owners if h.message_id),
            tuple(h.message_key for h in owners if h.message_key is not None),
            now - timedelta(days=min(ages)),  # type: ignore[type-var]
        )))
    return [purge for _, purge in sorted(purges, key=lambda item: item[0])]
