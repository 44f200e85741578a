"""In-memory ledger, spool and city drop for the fast tier of service tests (tests/service/).

Each implements the real port member for member (adapters/ledger.py Ledger and LedgerTx, adapters/spool.py
Spool, adapters/transport.py Transport), with the same answers as the real one on the same calls: a contract
test (tests/service/test_ledger_contract.py) runs one set of ledger scenarios against this fake and SQLite, so
the fake cannot drift. The checks and the signed replies stay real: they are pure and fast on small samples.

`ThreadPoolChecker` is the process pool's flow (workers > 1) with threads running the real check, and gates
that hold a chosen message's check: the flow's scheduling is then tested in milliseconds.

The ledger's unit of work is copy-on-write: it works on a copy of the tables and swaps it in on commit, so an
exception anywhere in the block leaves the committed state exactly as it was (what a rolled-back transaction
does). Readers see the last committed state only. A new table is one field of `Tables` (and one line in
`Tables.copy`); faults are injected by member name (`FakeLedger.fail`, `MemoryDrop.fail`).
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO

from gateway.service.ports.ledger import (
    EVERYTHING, AuditRecord, Capture, CityCounts, InstanceRecord, MessageRecord, Outgoing, Scope, TransitionRecord,
)
from gateway.service.ports.ledger import LoginThrottle
from adapters.spool import TooLarge
from gateway.service.ports.transport import ConnectionReport, DropFile, Refusal, Scan, TransportError, is_temporary_name
from gateway.domain.envelope import Header
from gateway.domain import lifecycle
from gateway.domain.lifecycle import AWAITING_RECEIPT, FINAL_STATES, Event, State
from gateway.domain.register import ArrangementRow, BillingRow, ClaimRecord
from gateway.service.ports.checks import CheckOutcome, Checked
from gateway.service import scopes
from gateway.service.process import ack_owed

ATTACHMENT_TYPES = frozenset({"A1", "A2", "A3", "A4", "A5"})


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _as_stored(value: Any) -> Any:
    """What a JSON column gives back (tuples become lists, other objects their str): as SQLite/PostgreSQL do."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


# -- the ledger ------------------------------------------------------------------------------------------------


@dataclass
class Tables:
    """The ledger's tables. Records are frozen dataclasses, so a copy of the containers is a snapshot."""

    captures: dict[int, Capture] = field(default_factory=dict)
    capture_messages: dict[int, int | None] = field(default_factory=dict)  # capture key -> message key
    messages: dict[int, MessageRecord] = field(default_factory=dict)
    transitions: list[TransitionRecord] = field(default_factory=list)
    outgoing: dict[int, Outgoing] = field(default_factory=dict)
    events: list[tuple[datetime, str, str | None, dict[str, Any]]] = field(default_factory=list)
    instances: dict[str, InstanceRecord] = field(default_factory=dict)
    audit: list[AuditRecord] = field(default_factory=list)
    next_key: dict[str, int] = field(default_factory=dict)  # table -> last key given (keys never reused)
    # the register of entitlements (issue 12), each list in insertion order (the SQL tables' key order)
    arrangements: list[ArrangementRow] = field(default_factory=list)
    claims: list[ClaimRecord] = field(default_factory=list)
    billings: list[BillingRow] = field(default_factory=list)
    throttles: dict[str, LoginThrottle] = field(default_factory=dict)  # the console's failed logins, by scope
    register_versions: dict[str, int] = field(default_factory=dict)  # by insured city
    staged: dict[str, list[BillingRow]] = field(default_factory=dict)  # batches written before their decision

    def copy(self) -> Tables:
        return Tables(
            dict(self.captures), dict(self.capture_messages), dict(self.messages), list(self.transitions),
            dict(self.outgoing), list(self.events), dict(self.instances), list(self.audit), dict(self.next_key),
            list(self.arrangements), list(self.claims), list(self.billings), dict(self.throttles),
            dict(self.register_versions), dict(self.staged),
        )

    def key(self, table: str) -> int:
        self.next_key[table] = self.next_key.get(table, 0) + 1
        return self.next_key[table]


class FakeTx:
    """adapters/ledger.py LedgerTx on a private copy of the tables (committed whole by FakeLedger)."""

    def __init__(self, tables: Tables, faults: dict[str, BaseException], scope: Scope = EVERYTHING) -> None:
        self._t = tables
        self._faults = faults
        self._used: set[str] = set()  # the members this unit of work called (a commit fault may wait for one)
        self._scope = scope

    def _within(self, needed: Scope, what: str) -> None:
        """A unit of work changes only what its scope holds: on PostgreSQL another instance may decide about
        anything else at the same moment (gateway/service/scopes.py); the fast tier catches a use case that
        forgets it."""
        if not self._scope.covers(needed):
            raise AssertionError(f"{what} outside the unit of work's scope: needs {needed}, holds {self._scope}")

    def __getattribute__(self, name: str) -> Any:
        # A fault injected for a member is raised when the service reaches for it (once), inside the unit of work.
        if not name.startswith("_"):
            object.__getattribute__(self, "_used").add(name)
            faults = object.__getattribute__(self, "_faults")
            if name in faults:
                raise faults.pop(name)
        return object.__getattribute__(self, name)

    # captures -----------------------------------------------------------------------------------------
    def add_capture(self, city: str, name: str, sha256: str, size: int, mtime: float, at: datetime) -> int:
        self._within(scopes.of_file(city, sha256), "a capture")
        key = self._t.key("captures")
        self._t.captures[key] = Capture(key, city, name, sha256, size, mtime, at, False, False)
        return key

    def unremoved_capture(self, city: str, name: str, sha256: str, mtime: float) -> Capture | None:
        return next((c for c in self._sorted(self._t.captures)
                     if (c.city, c.name, c.sha256, c.mtime) == (city, name, sha256, mtime) and not c.removed), None)

    def mark_capture_removed(self, key: int) -> None:
        if key in self._t.captures:
            self._t.captures[key] = replace(self._t.captures[key], removed=True)

    def pending_captures(self, limit: int = 100) -> list[Capture]:
        return [c for c in self._sorted(self._t.captures) if not c.processed][:limit]

    def capture_pending(self, key: int) -> bool:
        return not self._t.captures[key].processed

    def mark_capture_processed(self, key: int, message_key: int | None) -> None:
        if key in self._t.captures:
            self._t.captures[key] = replace(self._t.captures[key], processed=True)
            self._t.capture_messages[key] = message_key

    # messages -----------------------------------------------------------------------------------------
    def add_message(self, capture: Capture, header: Header | None, at: datetime) -> MessageRecord:
        self._within(scopes.of_decision(capture, header), "deciding a message")
        key = self._t.key("messages")
        h = header
        self._t.messages[key] = MessageRecord(
            key=key, sha256=capture.sha256, size=capture.size, drop_city=capture.city, state=State.RECEIVED,
            received_at=at, updated_at=at,
            message_id=h and h.message_id, type=h and h.type.value, sender=h and h.sender, receiver=h and h.receiver,
            period=h and h.period, serial=h and h.serial, revision=h and h.revision, reply_to=h and h.reply_to,
            reply_to_sha256=h and h.reply_to_sha256,
        )
        self._log(key, at, None, State.RECEIVED, "captured", f"taken from {capture.city}'s drop as {capture.name}")
        return self._t.messages[key]

    def get_message(self, key: int) -> MessageRecord:
        return self._t.messages[key]

    def messages_by_id(self, message_id: str) -> list[MessageRecord]:
        return [m for m in self._sorted(self._t.messages) if m.message_id == message_id]

    def message_by_sha(self, sha256: str, drop_city: str) -> MessageRecord | None:
        return next((m for m in self._sorted(self._t.messages) if m.sha256 == sha256 and m.drop_city == drop_city), None)

    def messages_by_document(self, document_key: Sequence[str]) -> list[MessageRecord]:
        wanted = tuple(document_key)
        # SQL's `=` never matches NULL: a record missing a part of the key is nobody's same document.
        return [m for m in self._sorted(self._t.messages)
                if None not in m.document_key and None not in wanted and m.document_key == wanted]

    def messages_in(self, states: Sequence[State]) -> list[MessageRecord]:
        return [m for m in self._sorted(self._t.messages) if m.state in states]

    def set_findings(self, key: int, findings: Sequence[dict[str, Any]]) -> None:
        self._update(key, findings=tuple(_as_stored(list(findings))))

    def set_delivery_name(self, key: int, name: str) -> None:
        self._update(key, delivery_name=name)

    def transition(self, key: int, event: Event, at: datetime, cause: str) -> MessageRecord:
        current = self._t.messages[key]
        self._within(Scope(scopes.pair_cities(current.type, current.sender, current.receiver)), "a transition")
        change = lifecycle.apply(current.state, event, at)  # the lifecycle's guard, as both real ledgers ask it
        self._update(key, state=change.target, updated_at=at, deliveries=current.deliveries + change.deliveries,
                     last_delivered_at=change.delivered_at or current.last_delivered_at)
        self._log(key, at, current.state, change.target, event.value, cause)
        return self._t.messages[key]

    # files owed to cities ------------------------------------------------------------------------------
    def add_outgoing(
        self, city: str, name: str, area: str, sha256: str, kind: str, message_key: int | None, at: datetime
    ) -> int:
        key = self._t.key("outgoing")
        self._t.outgoing[key] = Outgoing(key, city, name, area, sha256, kind, message_key, at)
        return key

    def pending_outgoing(self, city: str) -> list[Outgoing]:
        return [o for o in self._sorted(self._t.outgoing) if o.city == city and o.written_at is None and not o.cancelled]

    def outgoing_of(self, message_key: int) -> list[Outgoing]:
        return [o for o in self._sorted(self._t.outgoing) if o.message_key == message_key]

    def reply_name_taken(self, city: str, name: str) -> bool:
        return any(o.city == city and o.name == name for o in self._t.outgoing.values())

    def mark_written(self, key: int, at: datetime) -> bool:
        current = self._t.outgoing.get(key)
        if current is None or current.written_at is not None:
            return False
        self._t.outgoing[key] = replace(current, written_at=at)
        return True

    def cancel_outgoing(self, message_key: int, kind: str) -> int:
        cancelled = 0
        for o in self._sorted(self._t.outgoing):
            if o.message_key == message_key and o.kind == kind and o.written_at is None and not o.cancelled:
                self._t.outgoing[o.key] = replace(o, cancelled=True)
                cancelled += 1
        return cancelled

    # the transfer log beyond transitions ----------------------------------------------------------------
    def record_event(self, at: datetime, kind: str, city: str | None, detail: dict[str, Any]) -> None:
        self._t.events.append((at, kind, city, _as_stored(detail)))

    def record_audit(self, entry: AuditRecord) -> None:
        self._t.audit.append(entry)

    # the console's failed logins ------------------------------------------------------------------------------
    def login_throttle(self, scope: str) -> LoginThrottle:
        return self._t.throttles.get(scope, LoginThrottle(scope))

    def keep_login_throttle(self, row: LoginThrottle) -> None:
        if row == LoginThrottle(row.scope):
            self._t.throttles.pop(row.scope, None)
        else:
            self._t.throttles[row.scope] = row

    def forget_login_throttles(self, before: datetime) -> int:
        stale = [scope for scope, row in self._t.throttles.items()
                 if (row.window_started is None or row.window_started < before)
                 and (row.lockout_ended is None or row.lockout_ended < before)]
        for scope in stale:
            del self._t.throttles[scope]
        return len(stale)

    # the register of entitlements (issue 12) --------------------------------------------------------------
    def keep_arrangement(self, row: ArrangementRow) -> bool:
        self._within(Scope(frozenset({row.insured})), "the register")
        same = lambda r: (r.filing, r.insured, r.residence, r.serial) == (row.filing, row.insured, row.residence, row.serial)  # noqa: E731
        if any(same(r) and r.revision > row.revision for r in self._t.arrangements):
            return False
        self._t.arrangements = [r for r in self._t.arrangements if not same(r)] + [row]
        self._bump_register(row.insured)
        return True

    def register_version(self, insured: str) -> int:
        return self._t.register_versions.get(insured, 0)

    def _bump_register(self, insured: str) -> None:
        self._t.register_versions[insured] = self._t.register_versions.get(insured, 0) + 1

    def keep_claim(self, claim: ClaimRecord, billings: Sequence[BillingRow], staged: str | None = None) -> None:
        self._within(Scope(frozenset({claim.insured})), "the register")
        key = (claim.insured, claim.residence, claim.period, claim.serial)
        if staged is not None:
            self._t.staged.pop(staged, None)  # as SQL clears the mark: the same rows, kept
        self._t.claims = [c for c in self._t.claims if (c.insured, c.residence, c.period, c.serial) != key] + [claim]
        self._t.billings = [b for b in self._t.billings if b.claim != key] + list(billings)
        self._bump_register(claim.insured)

    def arrangements_of(self, persons: Sequence[str]) -> list[ArrangementRow]:
        return [r for r in self._t.arrangements if r.person in set(persons)]

    def billings_of(self, persons: Sequence[str], months: Sequence[str] | None = None) -> list[BillingRow]:
        return [b for b in self._t.billings if b.person in set(persons) and (months is None or b.month in months)]

    def claim_record(self, insured: str, residence: str, period: str, serial: str) -> ClaimRecord | None:
        return next((c for c in self._t.claims if (c.insured, c.residence, c.period, c.serial)
                     == (insured, residence, period, serial)), None)

    def claim_billings(self, insured: str, residence: str, period: str, serial: str) -> list[BillingRow]:
        return [b for b in self._t.billings if b.claim == (insured, residence, period, serial)]

    def rehash_person(self, old: str, new: str, key_id: str) -> int:
        changed = sum(r.person == old for r in self._t.arrangements) + sum(b.person == old for b in self._t.billings)
        self._t.arrangements = [replace(r, person=new, key_id=key_id) if r.person == old else r for r in self._t.arrangements]
        self._t.billings = [replace(b, person=new, key_id=key_id) if b.person == old else b for b in self._t.billings]
        return changed

    # ----------------------------------------------------------------------------------------------------
    def _update(self, key: int, **changes: Any) -> MessageRecord:
        self._t.messages[key] = replace(self._t.messages[key], **changes)
        return self._t.messages[key]

    def _log(self, key: int, at: datetime, source: State | None, target: State, event: str, cause: str) -> None:
        self._t.transitions.append(TransitionRecord(key, at, source, target, event, cause))

    @staticmethod
    def _sorted(table: dict[int, Any]) -> list[Any]:
        return [table[k] for k in sorted(table)]


class FakeLedger:
    """adapters/ledger.py Ledger in memory: one writer at a time (as SQLite's BEGIN IMMEDIATE), readers on the
    last commit. `fail(member, exc)` makes the next use of that LedgerTx member raise `exc`; `fail_commit(exc,
    after=member)` fails the commit itself (after the block ran: a disk full at COMMIT) of the next unit of work
    that used `member` (any unit of work without `after`)."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock  # heartbeats and instance records (a real ledger uses its database's clock)
        self._tables = Tables()
        self._writer = threading.Lock()
        self._in_unit = threading.local()
        self._faults: dict[str, BaseException] = {}
        self._commit_faults: list[tuple[str | None, BaseException]] = []
        self.commits = 0
        self.rollbacks = 0
        self.scopes: list[Scope] = []  # of every unit of work begun, in order (one writer at a time, whatever the scope)
        self.unwritable: str | None = None  # what writable_problem() answers (None: writable)
        self.closed = False

    def fail(self, member: str, exc: BaseException) -> None:
        self._faults[member] = exc

    def fail_commit(self, exc: BaseException, *, after: str | None = None) -> None:
        self._commit_faults.append((after, exc))

    @contextmanager
    def unit_of_work(self, scope: Scope = EVERYTHING) -> Iterator[FakeTx]:
        if getattr(self._in_unit, "active", False):
            # SQLite refuses BEGIN inside a transaction; a use case that nests units of work is a defect.
            raise RuntimeError("a unit of work inside another on the same thread")
        with self._writer:
            self._in_unit.active = True
            try:
                work = self._tables.copy()
                self.scopes.append(scope)
                tx = FakeTx(work, self._faults, scope)
                try:
                    yield tx
                except BaseException:
                    self.rollbacks += 1
                    raise
                for fault in self._commit_faults:
                    if fault[0] is None or fault[0] in tx._used:
                        self._commit_faults.remove(fault)
                        self.rollbacks += 1
                        raise fault[1]
                self._tables = work
                self.commits += 1
            finally:
                self._in_unit.active = False

    @property
    def tables(self) -> Tables:
        """The last committed state (for assertions; never write to it)."""
        return self._tables

    # read-only views ----------------------------------------------------------------------------------
    def messages(self, *, state: str | None = None, city: str | None = None, period: str | None = None) -> list[MessageRecord]:
        found = FakeTx._sorted(self._tables.messages)
        if state:
            found = [m for m in found if m.state.value == state.upper()]
        if city:
            found = [m for m in found if city in (m.sender, m.receiver, m.drop_city)]
        if period:
            found = [m for m in found if m.period == period]
        return found

    def trace(self, message_id: str) -> list[tuple[MessageRecord, list[TransitionRecord]]]:
        tables = self._tables
        return [(m, [t for t in tables.transitions if t.message_key == m.key])
                for m in FakeTx._sorted(tables.messages) if message_id in (m.message_id, m.sha256)]

    def city_counts(self) -> list[CityCounts]:
        counts: dict[str, dict[str, Any]] = {}
        for m in self._tables.messages.values():
            if m.type is not None and m.type not in ATTACHMENT_TYPES:
                continue
            c = counts.setdefault(m.drop_city, {"received": 0, "delivered": 0, "waiting": 0, "failed": 0,
                                                "rejected": 0, "oldest": None})
            c["received"] += 1
            c["delivered"] += m.state not in (State.RECEIVED, State.REJECTED, State.ROUTED)
            c["waiting"] += m.state in AWAITING_RECEIPT
            c["failed"] += m.state is State.FAILED
            c["rejected"] += m.state is State.REJECTED
            if m.state not in FINAL_STATES and (c["oldest"] is None or m.received_at < c["oldest"]):
                c["oldest"] = m.received_at
        return [CityCounts(city, c["received"], c["delivered"], c["waiting"], c["failed"], c["rejected"], c["oldest"])
                for city, c in sorted(counts.items())]

    def events(self, kind: str | None = None) -> Iterator[tuple[datetime, str, str | None, dict[str, Any]]]:
        yield from [e for e in self._tables.events if kind is None or e[1] == kind]

    def outgoing(self, city: str | None = None) -> list[Outgoing]:
        return [o for o in FakeTx._sorted(self._tables.outgoing) if city is None or o.city == city]

    def message_counts(self) -> list[tuple[str | None, str, str, int]]:
        counted: dict[tuple[str | None, str, str], int] = {}
        for m in self._tables.messages.values():
            group = (m.type, m.state.value, m.drop_city)
            counted[group] = counted.get(group, 0) + 1
        # ORDER BY type, state, drop_city: NULL (an unreadable type) first, as SQLite sorts it
        return [(*group, n) for group, n in sorted(counted.items(), key=lambda i: (i[0][0] is not None, i[0][0] or "", i[0][1:]))]

    def recent_events(self, kind: str | None = None, limit: int = 50) -> list[tuple[datetime, str, str | None, dict[str, Any]]]:
        return list(reversed([e for e in self._tables.events if kind is None or e[1] == kind]))[:limit]

    def audit(self, limit: int = 200, user: str | None = None) -> list[AuditRecord]:
        return list(reversed([a for a in self._tables.audit if user is None or a.user == user]))[:limit]

    def login_throttles(self, scopes: Sequence[str]) -> list[LoginThrottle]:
        return [self._tables.throttles[s] for s in scopes if s in self._tables.throttles]

    def writable_problem(self) -> str | None:
        return self.unwritable

    # the register of entitlements (issue 12) --------------------------------------------------------------
    def register_notices(self) -> list[ArrangementRow]:
        return [r for r in self._tables.arrangements if not r.filing]

    def purge_register(self, ended_before: str, months_before: str) -> int:
        with self.unit_of_work(EVERYTHING) as tx:
            t = tx._t
            ended = {(r.insured, r.residence, r.serial) for r in t.arrangements
                     if not r.filing and r.until is not None and r.until.isoformat() < ended_before}
            kept = [r for r in t.arrangements if (r.insured, r.residence, r.entitlement_serial) not in ended]
            billings = [b for b in t.billings if b.claim_period >= months_before]
            claims = [c for c in t.claims if c.period >= months_before]
            gone = len(t.arrangements) - len(kept) + len(t.billings) - len(billings) + len(t.claims) - len(claims)
            t.arrangements, t.billings, t.claims = kept, billings, claims
            if gone:
                t.register_versions = {insured: version + 1 for insured, version in t.register_versions.items()}
        return gone

    def register_claims(self, period: str) -> list[ClaimRecord]:
        return [c for c in self._tables.claims if c.period == period]

    def stage_billings(self, billings: Sequence[BillingRow]) -> str:
        with self.unit_of_work() as tx:
            batch = f"batch-{len(tx._t.staged) + 1}-{id(billings)}"
            tx._t.staged[batch] = list(billings)
        return batch

    def drop_staged(self, batch: str) -> None:
        with self.unit_of_work() as tx:
            tx._t.staged.pop(batch, None)

    def register_known(self, insured: str, persons: Sequence[str],
                       months: Sequence[str]) -> tuple[int, list[ArrangementRow], list[BillingRow]]:
        view = FakeTx(self._tables, {})  # the committed tables, read only (a unit of work swaps in a new copy)
        return view.register_version(insured), view.arrangements_of(persons), view.billings_of(persons, months)

    def register_keys(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in [*self._tables.arrangements, *self._tables.billings]:
            counts[row.key_id] = counts.get(row.key_id, 0) + 1
        return dict(sorted(counts.items()))

    def close(self) -> None:
        self.closed = True

    # several instances: the fake behaves as SQLite's ledger, one instance holding every city ----------------
    def heartbeat(self, instance: str, cities: Sequence[str], lease_seconds: float) -> frozenset[str]:
        now = self.clock()
        with self.unit_of_work(Scope()) as tx:
            earlier = tx._t.instances.get(instance)
            tx._t.instances = {instance: InstanceRecord(  # one instance: the others are gone, as SQLite's lock says
                instance, instance.split(":")[0], 0, earlier.started_at if earlier else now, now, True,
                tuple(sorted(cities)))}
        return frozenset(cities)

    def claim_captures(self, instance: str, limit: int, lease_seconds: float) -> list[Capture]:
        with self.unit_of_work(Scope()) as tx:
            return tx.pending_captures(limit)

    def leave(self, instance: str) -> None:
        with self.unit_of_work(Scope()) as tx:
            tx._t.instances.pop(instance, None)

    def instances(self) -> list[InstanceRecord]:
        return [self._tables.instances[k] for k in sorted(self._tables.instances)]

    def lost_instances(self, instance: str) -> list[InstanceRecord]:
        return []  # one instance, as SQLite's ledger

    def refs_starting(self, prefix: str, limit: int = 50) -> list[tuple[str | None, str]]:
        return [(m.message_id, m.sha256) for m in sorted(self._tables.messages.values(), key=lambda m: m.key)
                if (m.message_id or "").startswith(prefix) or m.sha256.startswith(prefix.lower())][:limit]

    notifies_owed = False  # one instance, as SQLite's ledger

    def announce_owed(self, cities: Sequence[str]) -> None:
        pass

    def wait_owed(self, timeout: float) -> set[str]:
        return set()


# -- the spool --------------------------------------------------------------------------------------------------


class MemorySpool:
    """The spool port (gateway/service/ports/spool.py) in memory: bytes by (area, SHA-256), each with the time it was last stored."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        self.files: dict[tuple[str, str], tuple[bytes, datetime]] = {}
        self.full: str | None = None  # set: every write fails as a full disk does (OSError ENOSPC)

    def receive(self, fill: Callable[[BinaryIO], object], max_bytes: int | None = None) -> tuple[str, int]:
        sink = io.BytesIO()
        fill(sink)
        data = sink.getvalue()
        if max_bytes is not None and len(data) > max_bytes:
            raise TooLarge(len(data))
        return self._keep("inbox", data), len(data)

    def store(self, area: str, data: bytes) -> str:
        return self._keep(area, data)

    def read(self, area: str, sha256: str) -> bytes:
        try:
            return self.files[(_area(area), _digest(sha256))][0]
        except KeyError:
            raise FileNotFoundError(f"{area}/{sha256} is not in the spool") from None

    def open(self, area: str, sha256: str) -> BinaryIO:
        """A real (anonymous) file, as the folder spool gives: callers ask its size through fileno()."""
        import tempfile

        f = tempfile.TemporaryFile(prefix="ltcgw-fake-")
        f.write(self.read(area, sha256))
        f.seek(0)
        return f  # type: ignore[return-value]

    def exists(self, area: str, sha256: str) -> bool:
        return (_area(area), _digest(sha256)) in self.files

    def purge(self, area: str, sha256: str, stored_before: datetime) -> bool:
        entry = self.files.get((_area(area), _digest(sha256)))
        if entry is None or entry[1] >= stored_before:
            return False
        del self.files[(area, sha256)]
        return True

    def clean_temporaries(self) -> int:
        return 0  # nothing half-written is ever kept in memory

    def age(self, delta: timedelta) -> None:
        """As if everything had been stored `delta` earlier (the folder spool's tests move mtimes back)."""
        self.files = {key: (data, at - delta) for key, (data, at) in self.files.items()}

    def _keep(self, area: str, data: bytes) -> str:
        if self.full:
            raise OSError(28, f"No space left on device ({self.full})")
        sha = hashlib.sha256(data).hexdigest()
        self.files[(_area(area), sha)] = (data, self.clock())  # stored again: retention counts from now
        return sha


def _area(area: str) -> str:
    if area not in ("inbox", "outbox"):
        raise ValueError(f"unknown spool area {area!r}")
    return area


def _digest(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 hex digest")
    return sha256


# -- a city's drop ------------------------------------------------------------------------------------------------


@dataclass
class _Waiting:
    data: bytes
    mtime: float


class MemoryDrop:
    """adapters/transport.py Transport for one city, in memory: `outbox` (what the city's system left for the
    gateway) and `inbox` (what the gateway wrote for it). Files put in the outbox are complete at once (the
    real transports' settling is theirs to test). `written` lists every write, in order, replaced or not.

    `down`: every call fails with TransportError (an unreachable server); `fail(member, exc)`: the next call
    of that member raises `exc`; `refuse(name, reason)`: an entry that is never taken (a link, a folder)."""

    def __init__(self, city: str) -> None:
        self.city = city
        self.outbox: dict[str, _Waiting] = {}
        self.inbox: dict[str, bytes] = {}
        self.refused: dict[str, str] = {}
        self.written: list[str] = []
        self.removed: list[str] = []
        self.down: str | None = None
        self.closes = 0
        self._faults: dict[str, BaseException] = {}
        self._ticks = 0.0

    # the city's side ----------------------------------------------------------------------------------
    def put(self, name: str, data: bytes) -> None:
        """The city's system leaves a file in its outbox (a new mtime even for the same name and bytes)."""
        self._ticks += 1
        self.outbox[name] = _Waiting(data, 1_700_000_000.0 + self._ticks)

    def refuse(self, name: str, reason: str) -> None:
        self.refused[name] = reason

    def fail(self, member: str, exc: BaseException) -> None:
        self._faults[member] = exc

    def fail_commit(self, exc: BaseException, *, after: str | None = None) -> None:
        self._commit_faults.append((after, exc))

    def files(self, prefix: str = "") -> list[str]:
        """Names in the inbox starting with `prefix` (ACK_, NACK_, RECEIPT_, A3_...), sorted."""
        return sorted(name for name in self.inbox if name.startswith(prefix))

    # Transport -----------------------------------------------------------------------------------------
    def scan(self) -> Scan:
        self._reach("scan")
        ready = [DropFile(name, len(w.data), w.mtime) for name, w in sorted(self.outbox.items())
                 if not is_temporary_name(name) and name not in self.refused]
        return Scan(ready=ready, refused=[Refusal(n, r) for n, r in sorted(self.refused.items())])

    def download(self, item: DropFile, dest: BinaryIO) -> int:
        self._reach("download")
        waiting = self.outbox.get(item.name)
        if waiting is None or waiting.mtime != item.mtime:
            raise FileNotFoundError(f"{self.city}: {item.name} is gone from the outbox")
        dest.write(waiting.data)
        return len(waiting.data)

    def remove(self, item: DropFile) -> None:
        self._reach("remove")
        if item.name in self.outbox and self.outbox[item.name].mtime == item.mtime:
            del self.outbox[item.name]
            self.removed.append(item.name)

    def deliver(self, name: str, src: BinaryIO) -> None:
        self._reach("deliver")
        self.inbox[name] = src.read()
        self.written.append(name)

    def close(self) -> None:
        self.closes += 1

    poll_interval = None  # the daemon's rescan

    def clean_temporaries(self) -> int:
        return 0  # deliveries are whole at once here: nothing half-written is ever left

    def watch(self, wake: Callable[[], None]) -> bool:
        return False

    def check_connection(self) -> ConnectionReport:
        try:
            self._reach("scan")
        except TransportError as exc:
            return ConnectionReport(self.city, False, [str(exc)])
        return ConnectionReport(self.city, True, details=[f"memory drop: {len(self.outbox)} files in the outbox"])

    def _reach(self, member: str) -> None:
        if member in self._faults:
            raise self._faults.pop(member)
        if self.down:
            raise TransportError(f"{self.city}: {self.down}")


# -- a pooled checker -----------------------------------------------------------------------------------------------


class ThreadPoolChecker:
    """The checks port (gateway/service/ports/checks.py) with a pool, on threads: the real check, the ACK signed beside it (as the pool
    worker does), and `hold(message_id)`: that message's check waits until `release()` (or `gate_seconds`, after
    which `timed_out` says so: a flow that waits for it has deadlocked)."""

    def __init__(self, check: Callable[[bytes, datetime], CheckOutcome], sign_ack: Callable[..., bytes],
                 workers: int = 2, gate_seconds: float = 10) -> None:
        self.workers = workers
        self._check, self._sign_ack = check, sign_ack
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="fake-pool")
        self._gate = threading.Event()
        self._gate_seconds = gate_seconds
        self.held: set[str] = set()
        self.started: list[str] = []  # held messages whose check began, in order
        self.timed_out: list[str] = []

    def hold(self, message_id: str) -> None:
        self.held.add(message_id)

    def release(self) -> None:
        self._gate.set()

    def submit(self, data: bytes, now: datetime) -> Future[Checked]:
        return self._pool.submit(self._run, data, now)

    def _run(self, data: bytes, now: datetime) -> Checked:
        for ident in self.held:
            if f"<MessageId>{ident}</MessageId>".encode() in data:
                self.started.append(ident)
                if not self._gate.wait(self._gate_seconds):
                    self.timed_out.append(ident)
        outcome = self._check(data, now)
        ack = self._sign_ack(outcome.header, outcome.sha256, now) if ack_owed(outcome) else None
        return Checked(outcome, ack)

    def close(self) -> None:
        self._gate.set()
        self._pool.shutdown(wait=True)
