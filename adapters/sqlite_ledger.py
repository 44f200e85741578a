"""The ledger on SQLite: WAL, synchronous=FULL, one IMMEDIATE transaction per unit of work.

WAL lets the operators' commands read while the daemon writes; FULL makes each commit durable before it
returns (the gateway removes a city's file only after that). IMMEDIATE takes the write lock at BEGIN, so two
threads deciding on the same message serialise instead of failing at COMMIT. Each thread has its own
connection (sqlite3 connections are not shared across threads).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway.service.ports.ledger import (
    EVERYTHING, AnotherInstance, AuditRecord, Capture, CityCounts, InstanceRecord, MessageRecord, Outgoing, Scope,
    TransitionRecord,
)
from gateway.service.ports.ledger import LoginThrottle
from adapters.migrations import apply as apply_migrations, migrations
from gateway.domain import lifecycle
from gateway.domain.envelope import Header
from gateway.domain.lifecycle import AFTER_DELIVERY, AWAITING_RECEIPT, FINAL_STATES, Event, State
from gateway.domain.register import ArrangementRow, BillingRow, ClaimRecord

MIGRATIONS = migrations("sqlite")  # adapters/migrations/*.sql: numbered, applied once each


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _utc(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _message(row: sqlite3.Row) -> MessageRecord:
    return MessageRecord(
        key=row["key"],
        sha256=row["sha256"],
        size=row["size"],
        drop_city=row["drop_city"],
        state=State(row["state"]),
        received_at=_dt(row["received_at"]),
        updated_at=_dt(row["updated_at"]),
        message_id=row["message_id"],
        type=row["type"],
        sender=row["sender"],
        receiver=row["receiver"],
        period=row["period"],
        serial=row["serial"],
        revision=row["revision"],
        reply_to=row["reply_to"],
        reply_to_sha256=row["reply_to_sha256"],
        delivery_name=row["delivery_name"],
        deliveries=row["deliveries"],
        last_delivered_at=_dt(row["last_delivered_at"]),
        findings=tuple(json.loads(row["findings"])),
    )


def _capture(row: sqlite3.Row) -> Capture:
    return Capture(
        row["key"], row["city"], row["name"], row["sha256"], row["size"], row["mtime"],
        _dt(row["captured_at"]), bool(row["removed"]), bool(row["processed"]),
    )


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _arrangement(row: Any) -> ArrangementRow:
    return ArrangementRow(
        row["insured"], row["residence"], row["serial"], row["revision"], row["person"], row["key_id"],
        date.fromisoformat(row["since_day"]), date.fromisoformat(row["until_day"]) if row["until_day"] else None,
        bool(row["ended"]), tuple(t for t in row["service_types"].split(",") if t), row["care_facility"],
        row["device_facility"], date.fromisoformat(row["as_of"]), row["entitlement_serial"], bool(row["filing"]))


def _billing(row: Any) -> BillingRow:
    return BillingRow(
        row["insured"], row["residence"], row["claim_period"], row["claim_serial"], row["statement_serial"],
        row["person"], row["key_id"], row["facility"], row["service_type"], row["month"],
        date.fromisoformat(row["start_day"]), date.fromisoformat(row["end_day"]), row["days"], bool(row["late"]))


_INSERT_BILLING = """INSERT INTO register_billings(insured, residence, claim_period, claim_serial, statement_serial,
    person, key_id, facility, service_type, month, start_day, end_day, days, late) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"""
STAGE_ROWS = 5000  # statements staged per transaction: each holds the lock about a tenth of a second
STAGE_PAUSE = 0.02  # between two: a large claim's staging never starves the small decisions waiting on the lock


def _billing_params(b: BillingRow) -> tuple[Any, ...]:
    return (b.insured, b.residence, b.claim_period, b.claim_serial, b.statement_serial, b.person, b.key_id,
            b.facility, b.service_type, b.month, b.start.isoformat(), b.end.isoformat(), b.days, int(b.late))


def _outgoing(row: sqlite3.Row) -> Outgoing:
    return Outgoing(
        row["key"], row["city"], row["name"], row["area"], row["sha256"], row["kind"], row["message_key"],
        _dt(row["created_at"]), _dt(row["written_at"]), bool(row["cancelled"]),
    )


def _throttle(row: Any) -> LoginThrottle:
    return LoginThrottle(row["scope"], int(row["failures"]), _dt(row["window_started"]), _dt(row["locked_until"]),
                         int(row["lockouts"]), _dt(row["lockout_ended"]))


class SqliteTx:
    """One transaction's operations (adapters/ledger.py LedgerTx)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    # captures -----------------------------------------------------------------------------------------
    def add_capture(self, city: str, name: str, sha256: str, size: int, mtime: float, at: datetime) -> int:
        cur = self.db.execute(
            "INSERT INTO captures(city, name, sha256, size, mtime, captured_at) VALUES (?,?,?,?,?,?)",
            (city, name, sha256, size, mtime, _t(at)),
        )
        return int(cur.lastrowid)

    def unremoved_capture(self, city: str, name: str, sha256: str, mtime: float) -> Capture | None:
        row = self.db.execute(
            "SELECT * FROM captures WHERE city=? AND name=? AND sha256=? AND mtime=? AND removed=0 ORDER BY key LIMIT 1",
            (city, name, sha256, mtime),
        ).fetchone()
        return None if row is None else _capture(row)

    def mark_capture_removed(self, key: int) -> None:
        self.db.execute("UPDATE captures SET removed=1 WHERE key=?", (key,))

    def pending_captures(self, limit: int = 100) -> list[Capture]:
        rows = self.db.execute("SELECT * FROM captures WHERE processed=0 ORDER BY key LIMIT ?", (limit,))
        return [_capture(r) for r in rows]

    def capture_pending(self, key: int) -> bool:
        return self.db.execute("SELECT processed FROM captures WHERE key=?", (key,)).fetchone()[0] == 0

    def mark_capture_processed(self, key: int, message_key: int | None) -> None:
        self.db.execute("UPDATE captures SET processed=1, message_key=? WHERE key=?", (message_key, key))

    # messages -----------------------------------------------------------------------------------------
    def add_message(self, capture: Capture, header: Header | None, at: datetime) -> MessageRecord:
        h, change = header, lifecycle.apply(lifecycle.NEW, Event.CAPTURED, at)
        cur = self.db.execute(
            """INSERT INTO messages(message_id, type, sender, receiver, period, serial, revision, reply_to,
               reply_to_sha256, sha256, size, drop_city, state, received_at, updated_at)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (
                h and h.message_id, h and h.type.value, h and h.sender, h and h.receiver, h and h.period,
                h and h.serial, h and h.revision, h and h.reply_to, h and h.reply_to_sha256,
                capture.sha256, capture.size, capture.city, change.target.value, _t(at), _t(at),
            ),
        )
        key = int(cur.lastrowid)
        self._log(key, change, f"taken from {capture.city}'s drop as {capture.name}")
        return self.get_message(key)

    def get_message(self, key: int) -> MessageRecord:
        return _message(self.db.execute("SELECT * FROM messages WHERE key=?", (key,)).fetchone())

    def messages_by_id(self, message_id: str) -> list[MessageRecord]:
        rows = self.db.execute("SELECT * FROM messages WHERE message_id=? ORDER BY key", (message_id,))
        return [_message(r) for r in rows]

    def message_by_sha(self, sha256: str, drop_city: str) -> MessageRecord | None:
        row = self.db.execute(
            "SELECT * FROM messages WHERE sha256=? AND drop_city=? ORDER BY key LIMIT 1", (sha256, drop_city)
        ).fetchone()
        return None if row is None else _message(row)

    def messages_by_document(self, document_key: Sequence[str]) -> list[MessageRecord]:
        rows = self.db.execute(
            "SELECT * FROM messages WHERE type=? AND sender=? AND receiver=? AND period=? AND serial=? ORDER BY key",
            tuple(document_key),
        )
        return [_message(r) for r in rows]

    def messages_in(self, states: Sequence[State]) -> list[MessageRecord]:
        marks = ",".join("?" * len(states))
        rows = self.db.execute(f"SELECT * FROM messages WHERE state IN ({marks}) ORDER BY key", [s.value for s in states])
        return [_message(r) for r in rows]

    def set_findings(self, key: int, findings: Sequence[dict[str, Any]]) -> None:
        self.db.execute("UPDATE messages SET findings=? WHERE key=?", (json.dumps(list(findings), ensure_ascii=False), key))

    def set_delivery_name(self, key: int, name: str) -> None:
        self.db.execute("UPDATE messages SET delivery_name=? WHERE key=?", (name, key))

    def transition(self, key: int, event: Event, at: datetime, cause: str) -> MessageRecord:
        """Write what the lifecycle's guard answers (gateway/domain/lifecycle.py apply): the new state and,
        for a delivery, its count and time, in one statement; an illegal one raises before anything is written."""
        change = lifecycle.apply(self.get_message(key).state, event, at)
        self.db.execute(
            "UPDATE messages SET state=?, updated_at=?, deliveries=deliveries+?, "
            "last_delivered_at=COALESCE(?, last_delivered_at) WHERE key=?",
            (change.target.value, _t(at), change.deliveries, _t(change.delivered_at), key),
        )
        self._log(key, change, cause)
        return self.get_message(key)

    def _log(self, key: int, change: lifecycle.Change, cause: str) -> None:
        self.db.execute(
            "INSERT INTO transitions(message_key, at, source, target, event, cause) VALUES (?,?,?,?,?,?)",
            (key, _t(change.at), change.source and change.source.value, change.target.value, change.event.value, cause),
        )

    # outgoing -----------------------------------------------------------------------------------------
    def add_outgoing(
        self, city: str, name: str, area: str, sha256: str, kind: str, message_key: int | None, at: datetime
    ) -> int:
        cur = self.db.execute(
            "INSERT INTO outgoing(city, name, area, sha256, kind, message_key, created_at) VALUES (?,?,?,?,?,?,?)",
            (city, name, area, sha256, kind, message_key, _t(at)),
        )
        return int(cur.lastrowid)

    def pending_outgoing(self, city: str) -> list[Outgoing]:
        rows = self.db.execute(
            "SELECT * FROM outgoing WHERE city=? AND written_at IS NULL AND cancelled=0 ORDER BY key", (city,)
        )
        return [_outgoing(r) for r in rows]

    def outgoing_of(self, message_key: int) -> list[Outgoing]:
        rows = self.db.execute("SELECT * FROM outgoing WHERE message_key=? ORDER BY key", (message_key,))
        return [_outgoing(r) for r in rows]

    def reply_name_taken(self, city: str, name: str) -> bool:
        return self.db.execute("SELECT 1 FROM outgoing WHERE city=? AND name=? LIMIT 1", (city, name)).fetchone() is not None

    def mark_written(self, key: int, at: datetime) -> bool:
        cur = self.db.execute("UPDATE outgoing SET written_at=? WHERE key=? AND written_at IS NULL", (_t(at), key))
        return cur.rowcount == 1  # False: another instance marked it first (its lease on the city ran out)

    def cancel_outgoing(self, message_key: int, kind: str) -> int:
        cur = self.db.execute(
            "UPDATE outgoing SET cancelled=1 WHERE message_key=? AND kind=? AND written_at IS NULL AND cancelled=0",
            (message_key, kind),
        )
        return cur.rowcount

    # events -------------------------------------------------------------------------------------------
    def record_event(self, at: datetime, kind: str, city: str | None, detail: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO events(at, kind, city, detail) VALUES (?,?,?,?)",
            (_t(at), kind, city, json.dumps(detail, ensure_ascii=False, default=str)),
        )

    def record_audit(self, entry: AuditRecord) -> None:
        self.db.execute(
            "INSERT INTO audit(at, user_name, role, action, subject, reason, outcome) VALUES (?,?,?,?,?,?,?)",
            (_t(entry.at), entry.user, entry.role, entry.action, entry.subject, entry.reason, entry.outcome),
        )

    # the console's failed logins (issue 14) ---------------------------------------------------------------
    _FOR_UPDATE = ""  # PostgreSQL: the row is held until the transaction ends (consoles counting together)

    def login_throttle(self, scope: str) -> LoginThrottle:
        self.db.execute("INSERT INTO login_throttle(scope) VALUES (?) ON CONFLICT(scope) DO NOTHING", (scope,))
        row = self.db.execute("SELECT * FROM login_throttle WHERE scope=?" + self._FOR_UPDATE, (scope,)).fetchone()
        return _throttle(row)

    def keep_login_throttle(self, row: LoginThrottle) -> None:
        if row == LoginThrottle(row.scope):
            self.db.execute("DELETE FROM login_throttle WHERE scope=?", (row.scope,))
            return
        self.db.execute(
            "INSERT INTO login_throttle(scope, failures, window_started, locked_until, lockouts, lockout_ended) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT(scope) DO UPDATE SET failures=excluded.failures, "
            "window_started=excluded.window_started, locked_until=excluded.locked_until, "
            "lockouts=excluded.lockouts, lockout_ended=excluded.lockout_ended",
            (row.scope, row.failures, _utc(row.window_started), _utc(row.locked_until), row.lockouts,
             _utc(row.lockout_ended)),
        )

    def forget_login_throttles(self, before: datetime) -> int:
        # kept in UTC (_utc), so the ISO times compare as text
        cur = self.db.execute(
            "DELETE FROM login_throttle WHERE (window_started IS NULL OR window_started < ?) "
            "AND (lockout_ended IS NULL OR lockout_ended < ?)", (_utc(before), _utc(before)))
        return cur.rowcount

    # the register of entitlements (issue 12) --------------------------------------------------------------
    def keep_arrangement(self, row: ArrangementRow) -> bool:
        where = (int(row.filing), row.insured, row.residence, row.serial)
        found = self.db.execute("SELECT revision FROM register_arrangements WHERE filing=? AND insured=? AND "
                                "residence=? AND serial=?", where).fetchone()
        if found is not None and found[0] > row.revision:
            return False
        self.db.execute("DELETE FROM register_arrangements WHERE filing=? AND insured=? AND residence=? AND serial=?",
                        where)
        self.db.execute(
            """INSERT INTO register_arrangements(filing, insured, residence, serial, revision, person, key_id,
               since_day, until_day, ended, service_types, care_facility, device_facility, as_of, entitlement_serial)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (*where[:4], row.revision, row.person, row.key_id, row.since.isoformat(), _day(row.until), int(row.ended),
             ",".join(row.service_types), row.care_facility, row.device_facility, row.as_of.isoformat(),
             row.entitlement_serial))
        self._bump_register(row.insured)
        return True

    def keep_claim(self, claim: ClaimRecord, billings: Sequence[BillingRow], staged: str | None = None) -> None:
        where = (claim.insured, claim.residence, claim.period, claim.serial)
        self.db.execute("DELETE FROM register_claims WHERE insured=? AND residence=? AND period=? AND serial=?", where)
        self.db.execute("DELETE FROM register_billings WHERE insured=? AND residence=? AND claim_period=? AND "
                        "claim_serial=? AND pending IS NULL", where)
        self.db.execute("INSERT INTO register_claims(insured, residence, period, serial, revision, claimed, nil) "
                        "VALUES (?,?,?,?,?,?,?)", (*where, claim.revision, str(claim.claimed), int(claim.nil)))
        if staged is not None and billings:
            if self.db.execute("UPDATE register_billings SET pending=NULL WHERE pending=?",
                               (staged,)).rowcount == len(billings):
                billings = []  # the staged rows are these statements, now kept
            else:  # some were dropped meanwhile (a stale batch cleared): the staged ones go, these are written
                self.db.execute("DELETE FROM register_billings WHERE insured=? AND residence=? AND claim_period=? AND "
                                "claim_serial=?", where)
        if billings:
            self.db.executemany(_INSERT_BILLING, [_billing_params(b) for b in billings])
        self._bump_register(claim.insured)

    def register_version(self, insured: str) -> int:
        row = self.db.execute("SELECT version FROM register_versions WHERE insured=?", (insured,)).fetchone()
        return 0 if row is None else int(row[0])

    def _bump_register(self, insured: str) -> None:
        self.db.execute("INSERT INTO register_versions(insured, version) VALUES (?, 1) ON CONFLICT(insured) "
                        "DO UPDATE SET version = register_versions.version + 1", (insured,))

    def arrangements_of(self, persons: Sequence[str]) -> list[ArrangementRow]:
        return [_arrangement(r) for r in self._by_person("register_arrangements", persons)]

    def billings_of(self, persons: Sequence[str], months: Sequence[str] | None = None) -> list[BillingRow]:
        return [_billing(r) for r in self._by_person("register_billings", persons, months)]

    def _by_person(self, table: str, persons: Sequence[str], months: Sequence[str] | None = None) -> list[Any]:
        rows: list[Any] = []
        wanted = sorted(set(persons))
        within = sorted(set(months)) if months is not None else []
        if months is not None and not within:
            return []  # no month: nothing matches (PostgreSQL refuses an empty IN list)
        only = f" AND month IN ({','.join('?' * len(within))})" if months is not None else ""
        kept = " AND pending IS NULL" if table == "register_billings" else ""  # staged rows: not kept yet
        for i in range(0, len(wanted), 500):  # within every backend's limit of parameters per statement
            chunk = wanted[i:i + 500]
            rows += self.db.execute(f"SELECT * FROM {table} WHERE person IN ({','.join('?' * len(chunk))}){only}{kept} "
                                    "ORDER BY key", [*chunk, *within]).fetchall()
        return sorted(rows, key=lambda r: r["key"])

    def claim_record(self, insured: str, residence: str, period: str, serial: str) -> ClaimRecord | None:
        row = self.db.execute("SELECT * FROM register_claims WHERE insured=? AND residence=? AND period=? AND serial=?",
                              (insured, residence, period, serial)).fetchone()
        return None if row is None else ClaimRecord(row["insured"], row["residence"], row["period"], row["serial"],
                                                    row["revision"], Decimal(row["claimed"]), bool(row["nil"]))

    def claim_billings(self, insured: str, residence: str, period: str, serial: str) -> list[BillingRow]:
        rows = self.db.execute("SELECT * FROM register_billings WHERE insured=? AND residence=? AND claim_period=? AND "
                               "claim_serial=? AND pending IS NULL ORDER BY key", (insured, residence, period, serial)).fetchall()
        return [_billing(r) for r in rows]

    def rehash_person(self, old: str, new: str, key_id: str) -> int:
        changed = 0
        for table in ("register_arrangements", "register_billings"):
            changed += self.db.execute(f"UPDATE {table} SET person=?, key_id=? WHERE person=?", (new, key_id, old)).rowcount
        return changed


def _take_instance_lock(path: Path) -> int:
    """An exclusive flock beside the ledger file, held while the process lives (the kernel drops it on SIGKILL)."""
    lock_path = path.with_name(path.name + ".instance.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AnotherInstance(
            f"another ltcgw instance runs on the SQLite ledger {path} (lock {lock_path}); SQLite allows one "
            "instance: stop it first, or move the ledger to PostgreSQL ([ledger] url) to run several"
        ) from None
    return fd


class SqliteLedger:
    """adapters/ledger.py Ledger on one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writer = threading.RLock()  # this process's write transactions, one at a time, in turn
        self._instance_lock: int | None = None
        self._migrate()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=60, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=60000")
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def _migrate(self) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            apply_migrations(db, "sqlite")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        return int(self._db().execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0)

    @contextmanager
    def unit_of_work(self, scope: Scope = EVERYTHING) -> Iterator[SqliteTx]:
        """BEGIN IMMEDIATE: one writer at a time, whatever `scope` (one instance; its threads take turns)."""
        with self._write() as db:
            yield SqliteTx(db)

    @contextmanager
    def _snapshot(self) -> Iterator[SqliteTx]:
        """A read-only transaction: one consistent view (WAL), taking no lock that a unit of work waits on."""
        db = self._db()
        db.execute("BEGIN")  # deferred: the snapshot begins with the first read, and writes nothing
        try:
            yield SqliteTx(db)
        finally:
            db.execute("COMMIT")

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """One write transaction. This process's threads queue for it on a lock of ours, each handed it the
        moment it is free: waiting in SQLite's busy handler instead, they poll up to 100 ms apart, and while a
        large claim is written a small decision could lose every turn for seconds. (Re-entrant: a unit of work
        inside another on one thread is refused by SQLite, as before, not deadlocked.)"""
        db = self._db()
        with self._writer:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _short_write(self) -> Any:
        """A write outside any decision: not the decisions' lock on PostgreSQL; a short one on SQLite."""
        return self._write()

    def stage_billings(self, billings: Sequence[BillingRow]) -> str:
        now = datetime.now(timezone.utc)
        batch = f"{now:%Y-%m-%dT%H:%M:%S}/{os.urandom(8).hex()}"
        params = [(*_billing_params(b), batch) for b in billings]
        stale = f"{now - timedelta(days=1):%Y-%m-%dT%H:%M:%S}"
        with self._short_write() as db:  # what a crash left staged a day ago is nobody's any more
            db.execute("DELETE FROM register_billings WHERE pending IS NOT NULL AND pending < ?", (stale,))
        for i in range(0, len(params), STAGE_ROWS):
            time.sleep(STAGE_PAUSE)  # SQLite's waiters poll (up to 100 ms apart): each gets its turn between batches
            with self._short_write() as db:
                db.executemany(_INSERT_BILLING.replace("late)", "late, pending)").replace("?)", "?,?)"),
                               params[i:i + STAGE_ROWS])
        return batch

    def drop_staged(self, batch: str) -> None:
        while True:
            with self._short_write() as db:
                gone = db.execute("DELETE FROM register_billings WHERE key IN (SELECT key FROM register_billings "
                                  "WHERE pending=? LIMIT ?)", (batch, STAGE_ROWS)).rowcount
            if not gone:
                return

    def register_known(self, insured: str, persons: Sequence[str],
                       months: Sequence[str]) -> tuple[int, list[ArrangementRow], list[BillingRow]]:
        with self._snapshot() as tx:
            return tx.register_version(insured), tx.arrangements_of(persons), tx.billings_of(persons, months)

    # read-only views ----------------------------------------------------------------------------------
    def messages(self, *, state: str | None = None, city: str | None = None, period: str | None = None) -> list[MessageRecord]:
        sql, args = "SELECT * FROM messages WHERE 1=1", []
        if state:
            sql += " AND state=?"
            args.append(state.upper())
        if city:
            sql += " AND (sender=? OR receiver=? OR drop_city=?)"
            args += [city, city, city]
        if period:
            sql += " AND period=?"
            args.append(period)
        return [_message(r) for r in self._db().execute(sql + " ORDER BY key", args)]

    def trace(self, message_id: str) -> list[tuple[MessageRecord, list[TransitionRecord]]]:
        out = []
        db = self._db()
        rows = db.execute("SELECT * FROM messages WHERE message_id=? OR sha256=? ORDER BY key", (message_id, message_id))
        for row in rows.fetchall():
            record = _message(row)
            transitions = [
                TransitionRecord(
                    t["message_key"], _dt(t["at"]), t["source"] and State(t["source"]), State(t["target"]),
                    t["event"], t["cause"],
                )
                for t in db.execute("SELECT * FROM transitions WHERE message_key=? ORDER BY key", (record.key,))
            ]
            out.append((record, transitions))
        return out

    def refs_starting(self, prefix: str, limit: int = 50) -> list[tuple[str | None, str]]:
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._db().execute(
            "SELECT message_id, sha256 FROM messages WHERE message_id LIKE ? ESCAPE '\\' OR sha256 LIKE ? "
            "ESCAPE '\\' ORDER BY key LIMIT ?", (pattern, pattern.lower(), limit))
        # SQLite's LIKE ignores letter case (PostgreSQL's does not): message ids are compared exactly here.
        return [(row["message_id"], row["sha256"]) for row in rows.fetchall()
                if (row["message_id"] or "").startswith(prefix) or row["sha256"].startswith(prefix.lower())]

    def city_counts(self) -> list[CityCounts]:
        """Per city, as sender: received, delivered, waiting for receipt, failed, rejected, oldest open."""
        db = self._db()
        counts: dict[str, dict[str, Any]] = {}
        attachments = "type IN ('A1','A2','A3','A4','A5')"
        for row in db.execute(f"SELECT drop_city, state, COUNT(*) n, MIN(received_at) oldest FROM messages "
                              f"WHERE {attachments} OR type IS NULL GROUP BY drop_city, state"):
            c = counts.setdefault(row["drop_city"], {"received": 0, "delivered": 0, "waiting": 0, "failed": 0,
                                                    "rejected": 0, "oldest": None})
            state = State(row["state"])
            c["received"] += row["n"]
            if state in AFTER_DELIVERY:
                c["delivered"] += row["n"]
            if state in AWAITING_RECEIPT:
                c["waiting"] += row["n"]
            if state is State.FAILED:
                c["failed"] += row["n"]
            if state is State.REJECTED:
                c["rejected"] += row["n"]
            if state not in FINAL_STATES and (c["oldest"] is None or row["oldest"] < c["oldest"]):
                c["oldest"] = row["oldest"]
        return [
            CityCounts(city, c["received"], c["delivered"], c["waiting"], c["failed"], c["rejected"], _dt(c["oldest"]))
            for city, c in sorted(counts.items())
        ]

    def events(self, kind: str | None = None) -> Iterator[tuple[datetime, str, str | None, dict[str, Any]]]:
        sql, args = "SELECT * FROM events", []
        if kind:
            sql += " WHERE kind=?"
            args.append(kind)
        for row in self._db().execute(sql + " ORDER BY key", args).fetchall():
            yield _dt(row["at"]), row["kind"], row["city"], json.loads(row["detail"])

    def outgoing(self, city: str | None = None) -> list[Outgoing]:
        sql, args = "SELECT * FROM outgoing", []
        if city:
            sql += " WHERE city=?"
            args.append(city)
        return [_outgoing(r) for r in self._db().execute(sql + " ORDER BY key", args)]

    # observability (issue 5): portable SQL, so the PostgreSQL ledger inherits these -------------------------
    def message_counts(self) -> list[tuple[str | None, str, str, int]]:
        rows = self._db().execute(
            "SELECT type, state, drop_city, COUNT(*) AS n FROM messages GROUP BY type, state, drop_city "
            "ORDER BY type, state, drop_city"
        ).fetchall()
        return [(r["type"], r["state"], r["drop_city"], int(r["n"])) for r in rows]

    def recent_events(self, kind: str | None = None, limit: int = 50) -> list[tuple[datetime, str, str | None, dict[str, Any]]]:
        sql, args = "SELECT * FROM events", []
        if kind:
            sql += " WHERE kind=?"
            args.append(kind)
        rows = self._db().execute(sql + " ORDER BY key DESC LIMIT ?", [*args, int(limit)]).fetchall()
        return [(_dt(row["at"]), row["kind"], row["city"], json.loads(row["detail"])) for row in rows]

    def audit(self, limit: int = 200, user: str | None = None) -> list[AuditRecord]:
        sql, args = "SELECT * FROM audit", []
        if user:
            sql += " WHERE user_name=?"
            args.append(user)
        rows = self._db().execute(sql + " ORDER BY key DESC LIMIT ?", [*args, int(limit)]).fetchall()
        return [AuditRecord(_dt(r["at"]), r["user_name"], r["role"], r["action"], r["subject"], r["reason"],
                            r["outcome"]) for r in rows]

    def login_throttles(self, scopes: Sequence[str]) -> list[LoginThrottle]:
        if not scopes:
            return []
        rows = self._db().execute(f"SELECT * FROM login_throttle WHERE scope IN ({','.join('?' * len(scopes))})",
                                  list(scopes)).fetchall()
        return [_throttle(r) for r in rows]

    # the register of entitlements (issue 12): portable SQL, so the PostgreSQL ledger inherits these ---------
    def register_notices(self) -> list[ArrangementRow]:
        rows = self._db().execute("SELECT * FROM register_arrangements WHERE filing=0 ORDER BY key").fetchall()
        return [_arrangement(r) for r in rows]

    def purge_register(self, ended_before: str, months_before: str) -> int:
        with self.unit_of_work(EVERYTHING) as tx:  # forgets what decisions read: alone
            db = tx.db
            gone = db.execute("DELETE FROM register_arrangements WHERE filing=1 AND EXISTS (SELECT 1 FROM "
                              "register_arrangements n WHERE n.filing=0 AND n.insured=register_arrangements.insured "
                              "AND n.residence=register_arrangements.residence AND n.serial="
                              "register_arrangements.entitlement_serial AND n.until_day < ?)", (ended_before,)).rowcount
            gone += db.execute("DELETE FROM register_arrangements WHERE filing=0 AND until_day < ?", (ended_before,)).rowcount
            gone += db.execute("DELETE FROM register_billings WHERE claim_period < ?", (months_before,)).rowcount
            gone += db.execute("DELETE FROM register_claims WHERE period < ?", (months_before,)).rowcount
            if gone:  # claims prepared before: checked again
                db.execute("UPDATE register_versions SET version = version + 1")
        return gone

    def register_claims(self, period: str) -> list[ClaimRecord]:
        rows = self._db().execute("SELECT * FROM register_claims WHERE period=? ORDER BY key", (period,)).fetchall()
        return [ClaimRecord(r["insured"], r["residence"], r["period"], r["serial"], r["revision"], Decimal(r["claimed"]),
                            bool(r["nil"])) for r in rows]

    def register_keys(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for table in ("register_arrangements", "register_billings"):
            kept = " WHERE pending IS NULL" if table == "register_billings" else ""
            for row in self._db().execute(f"SELECT key_id, COUNT(*) AS n FROM {table}{kept} GROUP BY key_id").fetchall():
                counts[row["key_id"]] = counts.get(row["key_id"], 0) + int(row["n"])
        return dict(sorted(counts.items()))

    def writable_problem(self) -> str | None:
        path = getattr(self, "path", None)
        if isinstance(path, Path) and path.exists():
            for target in (path, path.parent):
                if not os.access(target, os.W_OK):
                    return f"ledger {target} is not writable"

        class _Probe(Exception):
            pass

        try:
            with self.unit_of_work(Scope()) as tx:  # a real write, rolled back: proves the lock and the permission
                tx.record_event(datetime.now(timezone.utc), "health_probe", None, {})
                raise _Probe
        except _Probe:
            return None
        except Exception as exc:
            return f"ledger not writable: {exc}"

    # one instance ---------------------------------------------------------------------------------------
    def heartbeat(self, instance: str, cities: Sequence[str], lease_seconds: float) -> frozenset[str]:
        """The first call takes the one-instance lock: a second `ltcgw run` on this file is refused."""
        if self._instance_lock is None:
            self._instance_lock = _take_instance_lock(self.path)
        now = datetime.now(timezone.utc)
        until = _t(now + timedelta(seconds=lease_seconds))
        with self.unit_of_work() as tx:
            tx.db.execute("DELETE FROM instances WHERE instance<>?", (instance,))  # earlier ones are gone: we hold the lock
            tx.db.execute(
                """INSERT INTO instances(instance, host, pid, started_at, heartbeat_at, expires_at) VALUES (?,?,?,?,?,?)
                   ON CONFLICT(instance) DO UPDATE SET heartbeat_at=excluded.heartbeat_at, expires_at=excluded.expires_at""",
                (instance, socket.gethostname(), os.getpid(), _t(now), _t(now), until),
            )
            tx.db.execute("DELETE FROM city_leases")
            tx.db.executemany(
                "INSERT INTO city_leases(city, holder, acquired_at, expires_at) VALUES (?,?,?,?)",
                [(city, instance, _t(now), until) for city in cities],
            )
        return frozenset(cities)

    def claim_captures(self, instance: str, limit: int, lease_seconds: float) -> list[Capture]:
        with self.unit_of_work() as tx:
            return tx.pending_captures(limit)

    def leave(self, instance: str) -> None:
        with self.unit_of_work() as tx:
            tx.db.execute("DELETE FROM instances WHERE instance=?", (instance,))
            tx.db.execute("DELETE FROM city_leases WHERE holder=?", (instance,))
        if self._instance_lock is not None:
            os.close(self._instance_lock)  # closing the descriptor releases the lock
            self._instance_lock = None

    def lost_instances(self, instance: str) -> list[InstanceRecord]:
        return []  # one instance at a time (the lock): no other one can be lost while this one runs

    notifies_owed = False  # one instance: its own workers are woken directly

    def announce_owed(self, cities: Sequence[str]) -> None:
        pass

    def wait_owed(self, timeout: float) -> set[str]:
        time.sleep(timeout)
        return set()

    def instances(self) -> list[InstanceRecord]:
        db = self._db()
        now = _t(datetime.now(timezone.utc))
        return [
            InstanceRecord(
                row["instance"], row["host"], row["pid"], _dt(row["started_at"]), _dt(row["heartbeat_at"]),
                row["expires_at"] > now,
                tuple(r[0] for r in db.execute("SELECT city FROM city_leases WHERE holder=? ORDER BY city", (row["instance"],))),
            )
            for row in db.execute("SELECT * FROM instances ORDER BY instance").fetchall()
        ]

    def close(self) -> None:
        if self._instance_lock is not None:
            os.close(self._instance_lock)
            self._instance_lock = None
        with self._lock:
            for db in self._connections:
                try:
                    db.close()
                except sqlite3.ProgrammingError:
                    pass
            self._connections.clear()
        self._local = threading.local()
