"""The ledger port: what the service asks of the gateway's memory, whatever database holds it.

The ledger is the single source of truth: every file captured, every message and its state, every transition
with its time and cause (the transfer log), and every file the gateway owes a city (deliveries and replies,
with a mark once written). A unit of work is one transaction: what the service does inside one `with
ledger.unit_of_work(scope) as tx:` block is committed whole or not at all; its Scope says what it decides
about. SQLite implements it (adapters/sqlite_ledger.py) for one instance; PostgreSQL (adapters/postgres_ledger.py)
for several sharing the work through leases (heartbeat, claim_captures) and deciding under per-scope locks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from gateway.domain.envelope import Header
from gateway.domain.lifecycle import Event, State
from gateway.domain.notes import Note
from gateway.domain.register import ArrangementRow, BillingRow, ClaimRecord


@dataclass(frozen=True, slots=True)
class Capture:
    """A file taken from a city's drop: its bytes are in the spool under `sha256`."""

    key: int
    city: str
    name: str
    sha256: str
    size: int
    mtime: float
    captured_at: datetime
    removed: bool
    processed: bool


@dataclass(frozen=True, slots=True)
class MessageRecord:
    key: int
    sha256: str
    size: int
    drop_city: str
    state: State
    received_at: datetime
    updated_at: datetime
    message_id: str | None = None  # None when the header could not be read
    type: str | None = None
    sender: str | None = None
    receiver: str | None = None
    period: str | None = None
    serial: str | None = None
    revision: int | None = None
    reply_to: str | None = None
    reply_to_sha256: str | None = None
    delivery_name: str | None = None  # the canonical file name in the receiver's inbox
    deliveries: int = 0
    last_delivered_at: datetime | None = None
    findings: tuple[dict[str, Any], ...] = ()

    @property
    def document_key(self) -> tuple[str | None, ...]:
        return (self.type, self.sender, self.receiver, self.period, self.serial)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "type": self.type,
            "sender": self.sender,
            "receiver": self.receiver,
            "period": self.period,
            "serial": self.serial,
            "revision": self.revision,
            "state": self.state.value,
            "drop_city": self.drop_city,
            "sha256": self.sha256,
            "size": self.size,
            "received_at": self.received_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "deliveries": self.deliveries,
            "last_delivered_at": self.last_delivered_at.isoformat() if self.last_delivered_at else None,
            "reply_to": self.reply_to,
            "file_name": self.delivery_name,
            "findings": list(self.findings),
        }


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A file the gateway owes a city's inbox: bytes in the spool (`area`/`sha256`), written under `name`."""

    key: int
    city: str
    name: str
    area: str  # "inbox" (a city's message, forwarded byte for byte) or "outbox" (a reply the gateway signed)
    sha256: str
    kind: str  # "delivery" | "ack" | "nack" | "receipt"
    message_key: int | None
    created_at: datetime
    written_at: datetime | None = None
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    message_key: int
    at: datetime
    source: State | None
    target: State
    event: str
    cause: str


@dataclass(frozen=True, slots=True)
class CityCounts:
    city: str
    received: int = 0
    delivered: int = 0
    waiting_for_receipt: int = 0
    failed: int = 0
    rejected: int = 0
    oldest_unacknowledged: datetime | None = None
    extra: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """A gateway process on this ledger (`host:pid` unless configured) and the work it holds now."""

    instance: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    alive: bool
    cities: tuple[str, ...] = ()  # drops it polls and writes (its city leases)
    captures: int = 0  # captured files it is checking (capture leases)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One operator's action in the console (a resend, a download of an original, a login): who, when, what
    (`action` on `subject`, a message id or digest), why (the reason they gave) and how it ended."""

    at: datetime
    user: str
    role: str
    action: str
    subject: str
    reason: str
    outcome: str  # a note as code and values (gateway/service/audit.py `kept`); a row from before: English text

    @property
    def said(self) -> Note | None:
        """The outcome as a note (None: a row recorded before outcomes were notes, its text kept as it was)."""
        return outcome_note(self.outcome)

    def outcome_text(self, lang: str | None = None, mask: Callable[[str], str] | None = None) -> str:
        """How it ended, in `lang` (English without one); `mask` masks the values (an old row: all of it)."""
        said = self.said
        if said is None:
            return mask(self.outcome) if mask else self.outcome
        said = said.masked(mask) if mask else said
        return said.text(lang) if lang else said.message

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        said = self.said
        return {"at": self.at.isoformat(), "user": self.user, "role": self.role, "action": self.action,
                "subject": self.subject, "reason": self.reason, "outcome": self.outcome_text(lang),
                **({"outcome_code": said.code, "outcome_params": said.as_dict()["params"]} if said else {})}


def outcome_note(stored: str) -> Note | None:
    """An audit outcome as `audit.kept` stored it (JSON: code, template, values); None for a plain text."""
    if not stored.startswith('{"code"'):
        return None
    try:
        data = json.loads(stored)
        return Note.from_dict(data) if isinstance(data, dict) else None
    except (ValueError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    """The console's failed logins of one `scope` ("account NAME" or "address IP"): how many since
    `window_started`, locked out until `locked_until`, after `lockouts` lock-outs in a row (the last one ending
    `lockout_ended`), so that each next one lasts longer (gateway/web/throttle.py decides)."""

    scope: str
    failures: int = 0
    window_started: datetime | None = None
    locked_until: datetime | None = None
    lockouts: int = 0
    lockout_ended: datetime | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """What a unit of work decides about, given to `Ledger.unit_of_work` so that a ledger shared by several
    instances (PostgreSQL) lets decisions about different things run at once and serialises only those that
    could race; a ledger of one instance (SQLite) serialises every unit of work anyway and ignores it.

    - `cities`: the insured cities (参保地) whose messages or register the unit reads to decide or changes: a
      message is covered by its pair's insured city (both cities where its type has no direction), so every
      decision about one pair, and every check across documents of one insured city (double billing across
      claims and across residence cities), takes the same city.
    - `messages`: message ids it looks up or takes (an id may be used by one file only, whatever the pair).
    - `files`: (drop city, SHA-256) of the bytes it decides (the same file dropped twice is decided once).
    - `everything`: the unit reads or changes what any decision may (retention, a resend by hand): it runs
      alone. `Scope()` (nothing) is for units that only add rows nobody decides on (an event, an audit entry)
      or read a snapshot to decide later, under a scope of their own.
    """

    cities: frozenset[str] = frozenset()
    messages: frozenset[str] = frozenset()
    files: frozenset[tuple[str, str]] = frozenset()
    everything: bool = False

    def __or__(self, other: "Scope") -> "Scope":
        return Scope(self.cities | other.cities, self.messages | other.messages, self.files | other.files,
                     self.everything or other.everything)

    def covers(self, other: "Scope") -> bool:
        """Whether holding this scope holds `other` too."""
        return self.everything or (not other.everything and other.cities <= self.cities
                                   and other.messages <= self.messages and other.files <= self.files)


EVERYTHING = Scope(everything=True)  # the default: a unit of work that names no scope is serialised with all


class AnotherInstance(RuntimeError):
    """A second gateway process on a ledger that allows one (SQLite): refused before it touches anything."""


class LedgerTx(Protocol):
    """The operations available inside one unit of work."""

    # captures
    def add_capture(self, city: str, name: str, sha256: str, size: int, mtime: float, at: datetime) -> int: ...
    def unremoved_capture(self, city: str, name: str, sha256: str, mtime: float) -> Capture | None:
        """The capture of this very file (same name, bytes and mtime) whose removal from the drop is not
        recorded: a crash came between the two, so it is only removed now, not taken twice."""
    def mark_capture_removed(self, key: int) -> None: ...
    def pending_captures(self, limit: int = 100) -> list[Capture]: ...
    def capture_pending(self, key: int) -> bool:
        """Not processed yet: asked under the decision's own lock, so one instance decides a capture once."""
    def mark_capture_processed(self, key: int, message_key: int | None) -> None: ...

    # messages
    def add_message(self, capture: Capture, header: Header | None, at: datetime) -> MessageRecord: ...
    def get_message(self, key: int) -> MessageRecord: ...
    def messages_by_id(self, message_id: str) -> list[MessageRecord]: ...
    def message_by_sha(self, sha256: str, drop_city: str) -> MessageRecord | None: ...
    def messages_by_document(self, document_key: Sequence[str]) -> list[MessageRecord]: ...
    def messages_in(self, states: Sequence[State]) -> list[MessageRecord]: ...
    def set_findings(self, key: int, findings: Sequence[dict[str, Any]]) -> None: ...
    def set_delivery_name(self, key: int, name: str) -> None: ...
    def transition(self, key: int, event: Event, at: datetime, cause: str) -> MessageRecord:
        """Write gateway/domain/lifecycle.py apply()'s answer (a delivery with its count and time), or raise
        IllegalTransition: the guard is the lifecycle's, not the database's."""

    # files owed to cities
    def add_outgoing(
        self, city: str, name: str, area: str, sha256: str, kind: str, message_key: int | None, at: datetime
    ) -> int: ...
    def pending_outgoing(self, city: str) -> list[Outgoing]: ...
    def outgoing_of(self, message_key: int) -> list[Outgoing]: ...
    def reply_name_taken(self, city: str, name: str) -> bool: ...
    def mark_written(self, key: int, at: datetime) -> bool:
        """True when this call marked it; False when it was marked already (by another instance)."""
    def cancel_outgoing(self, message_key: int, kind: str) -> int: ...

    # the transfer log beyond transitions (refusals, alerts)
    def record_event(self, at: datetime, kind: str, city: str | None, detail: dict[str, Any]) -> None: ...
    # the console's audit log (issue 14)
    def record_audit(self, entry: AuditRecord) -> None: ...
    # the console's failed logins (issue 14): shared by every console on the ledger
    def login_throttle(self, scope: str) -> LoginThrottle:
        """The scope's count, held (row-locked on PostgreSQL) until the unit of work ends; empty if none."""
    def keep_login_throttle(self, row: LoginThrottle) -> None:
        """Write the scope's count (a count back to nothing is forgotten)."""
    def forget_login_throttles(self, before: datetime) -> int:
        """Forget the counts whose window and lock-out both ended before `before` (nothing left to count)."""

    # the register of entitlements (gateway/domain/register.py): persons are HMAC hashes, never ID numbers
    def keep_arrangement(self, row: ArrangementRow) -> bool:
        """Keep a notice's (or a filing's) revision unless a higher one of the same serial is kept already."""
    def keep_claim(self, claim: ClaimRecord, billings: Sequence[BillingRow], staged: str | None = None) -> None:
        """Keep a claim passed on and its statements, replacing what an earlier revision of it left; `staged`:
        the batch `Ledger.stage_billings` wrote these statements as (kept by clearing its mark)."""
    def arrangements_of(self, persons: Sequence[str]) -> list[ArrangementRow]: ...
    def billings_of(self, persons: Sequence[str], months: Sequence[str] | None = None) -> list[BillingRow]:
        """The statements of these persons (of these service months only, when given)."""
    def claim_record(self, insured: str, residence: str, period: str, serial: str) -> ClaimRecord | None: ...
    def claim_billings(self, insured: str, residence: str, period: str, serial: str) -> list[BillingRow]: ...
    def rehash_person(self, old: str, new: str, key_id: str) -> int:
        """A key rotation: the rows of `old` now under `new` (hashed under the current key `key_id`)."""
    def register_version(self, insured: str) -> int:
        """The register's version for claims to `insured` (0 before any): every write that can change what such
        a claim is checked against (a notice, a filing, a claim kept; a purge) makes it higher."""


class Ledger(Protocol):
    def unit_of_work(self, scope: Scope = EVERYTHING) -> AbstractContextManager[LedgerTx]:
        """A transaction: committed when the block ends normally, rolled back on an exception. Units of work
        whose scopes share nothing may run at the same time (several instances on PostgreSQL)."""

    # read-only views for the operators' commands
    def messages(
        self, *, state: str | None = None, city: str | None = None, period: str | None = None
    ) -> list[MessageRecord]: ...
    def trace(self, message_id: str) -> list[tuple[MessageRecord, list[TransitionRecord]]]: ...
    def refs_starting(self, prefix: str, limit: int = 50) -> list[tuple[str | None, str]]:
        """(message id, SHA-256) of the first `limit` messages whose id starts with `prefix` (exact case) or
        whose SHA-256 does (any case): what a short id given to `ltcgw trace` may mean."""
    def city_counts(self) -> list[CityCounts]: ...
    def events(self, kind: str | None = None) -> Iterator[tuple[datetime, str, str | None, dict[str, Any]]]: ...
    def outgoing(self, city: str | None = None) -> list[Outgoing]: ...
    # observability (issue 5): metrics, health, alerts in `ltcgw status` and the console
    def message_counts(self) -> list[tuple[str | None, str, str, int]]:
        """(type, state, drop city, count) for every combination present (type None: unreadable)."""
    def recent_events(self, kind: str | None = None, limit: int = 50) -> list[tuple[datetime, str, str | None, dict[str, Any]]]:
        """The newest `limit` events (of `kind`), newest first."""
    def audit(self, limit: int = 200, user: str | None = None) -> list[AuditRecord]:
        """The newest `limit` audit entries (of `user`), newest first."""
    def login_throttles(self, scopes: Sequence[str]) -> list[LoginThrottle]:
        """The counts kept of these scopes (read only: whether a login may be tried at all)."""
    def writable_problem(self) -> str | None:
        """None when a write can be committed now; else why not (for /healthz). Writes nothing."""
    # the register of entitlements (issue 12): what deadlines expect, what retention purges, what status counts
    def register_notices(self) -> list[ArrangementRow]:
        """Every entitlement notice the register keeps (newest revision each; no filings)."""
    def purge_register(self, ended_before: str, months_before: str) -> int:
        """Forget entitlements (and their filings) that ended before the day `ended_before` and claims (and their
        statements) of months before `months_before` (YYYY-MM); returns the rows deleted."""
    def register_keys(self) -> dict[str, int]:
        """Rows per key id: a key may be retired once no row is under it."""
    def register_claims(self, period: str) -> list[ClaimRecord]:
        """The claims of `period` the register keeps (a nil one, 零申报, owes no settlement)."""
    def stage_billings(self, billings: Sequence[BillingRow]) -> str:
        """Write a large claim's statements before its decision, in short transactions, marked as a batch (its
        name returned) that no read sees until a unit of work keeps it (`LedgerTx.keep_claim(..., staged=)`)."""
    def drop_staged(self, batch: str) -> None:
        """Forget a batch its decision did not keep (a refused claim; a crash's are dropped after a day)."""
    def register_known(self, insured: str, persons: Sequence[str],
                       months: Sequence[str]) -> tuple[int, list[ArrangementRow], list[BillingRow]]:
        """(register_version(insured), arrangements_of(persons), billings_of(persons, months)) read in one
        consistent snapshot outside any unit of work, holding no lock a decision waits on."""
    def close(self) -> None: ...

    # several instances: leases that expire on the ledger's clock, so the work of a dead instance is taken over
    def heartbeat(self, instance: str, cities: Sequence[str], lease_seconds: float) -> frozenset[str]:
        """Say `instance` is alive; keep and take city leases (a fair share of `cities` among the live
        instances); return the cities whose drops it may poll and write until the next heartbeat.
        SQLite: the first call takes the one-instance lock (AnotherInstance if held) and returns all cities."""
    def claim_captures(self, instance: str, limit: int, lease_seconds: float) -> list[Capture]:
        """Unprocessed captures leased to `instance` (free ones, expired ones, and its own), oldest first."""
    def leave(self, instance: str) -> None:
        """A clean stop: give up the leases at once instead of letting them expire."""
    def instances(self) -> list[InstanceRecord]: ...
    def lost_instances(self, instance: str) -> list[InstanceRecord]:
        """Instances other than `instance` whose lease expired and that nobody reported yet, each marked
        reported as it is returned: a loss is returned once, to one caller, however many instances ask
        (the `instance_lost` alert). An instance that renews again may be lost (and reported) again."""

    # Waking the instance that holds a drop when another decided files owed to it (PostgreSQL's NOTIFY).
    notifies_owed: bool
    """Whether announce_owed reaches other instances (False: one instance only, nothing to tell)."""

    def announce_owed(self, cities: Sequence[str]) -> None:
        """Tell every instance that files are owed to `cities`, so the holder of each writes them now."""

    def wait_owed(self, timeout: float) -> set[str]:
        """Cities announced by any instance within `timeout` seconds (empty, after the wait, without notices)."""
