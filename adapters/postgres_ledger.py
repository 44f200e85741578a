"""The ledger on PostgreSQL (psycopg 3), for several gateway instances on several machines sharing the work.

The SQL of the unit of work is the SQLite ledger's own (adapters/sqlite_ledger.py), run through a thin
connection adapter (placeholders, RETURNING for new keys, rows read by name or position): one set of queries,
so whatever the SQLite ledger learns, this one knows too. What differs is here:

- Each unit of work takes transaction-level advisory locks first, derived here from the Scope the service
  gives it (gateway/service/ports/ledger.py, gateway/service/scopes.py), so that "is this a duplicate?", "is
  this receipt the first?", "is this resend due?", "is this person billed twice?" are asked and answered by
  one instance at a time for one thing, while decisions about different insured cities run at once:
    * a unit with a scope takes DECISIONS shared, then one exclusive lock per insured city, message id and
      file (drop city, SHA-256) of its scope: `pg_advisory_xact_lock(key)`, the key the first 8 bytes of
      BLAKE2b over the kind and the name (two names on one key only wait on each other, never race);
    * a unit of everything (EVERYTHING: retention, a resend by hand, the settlement watch) takes DECISIONS
      exclusively: it waits for every unit in progress and runs alone.
  The rule that keeps this free of deadlocks: every unit takes DECISIONS first and then its other keys in
  ascending order of their numbers, all in the one statement that begins it, and takes no advisory lock later
  (a unit never widens its scope: the service reads what it needs to know its scope first, then begins). Locks
  are taken in one global order, so no two units can each hold what the other waits for. Row locks: two units
  that change one row (a message's state, a claim's statements) hold one scope key, so they never wait on each
  other's rows; a transition also locks its message's row (FOR UPDATE) so a unit that broke the rule would
  fail the lifecycle's guard instead of overwriting a state.
  They are short; what takes time (checks, transfers) happens outside them, in parallel.
- Leases take work without that lock: `claim_captures` leases unprocessed captures with FOR UPDATE SKIP
  LOCKED, `heartbeat` keeps the instance alive and holds a fair share of the cities' drops. Leases expire on
  the database's clock (now()), so a dead instance's work is taken over and the machines' clocks need not agree.
- A lost connection (database restarted, network cut) is dropped and made again at the next call: the service's
  loops already back off on errors and retry, and every step is idempotent against the ledger.
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg

from gateway.domain.lifecycle import Event
from gateway.service.ports.ledger import EVERYTHING, Capture, InstanceRecord, MessageRecord, Scope
from adapters.migrations import apply as apply_migrations
from adapters.sqlite_ledger import SqliteLedger, SqliteTx, _capture

DECISIONS = 0x4C544347_0001  # advisory lock keys: "LTCG" + purpose
MIGRATING = 0x4C544347_0002
CONNECT_TIMEOUT = 5


class Row:
    """A row read by column name or by position, like sqlite3.Row, so the shared SQL code reads both alike."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: dict[str, int], values: Sequence[Any]) -> None:
        self._names, self._values = names, values

    def __getitem__(self, key: str | int) -> Any:
        return self._values[self._names[key] if isinstance(key, str) else key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _row_factory(cursor: psycopg.Cursor) -> Any:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(names, values)


class Result:
    """What sqlite3's cursor gives the shared code: rows, `lastrowid` of an INSERT, `rowcount`."""

    def __init__(self, cursor: psycopg.Cursor, inserted: bool) -> None:
        self.cursor = cursor
        self.rowcount = cursor.rowcount
        self.lastrowid = None
        if inserted:
            row = cursor.fetchone()
            self.lastrowid = row["key"] if row is not None and "key" in row.keys() else None

    def fetchone(self) -> Row | None:
        return self.cursor.fetchone()

    def fetchall(self) -> list[Row]:
        return self.cursor.fetchall()

    def __iter__(self) -> Iterator[Row]:
        return iter(self.cursor.fetchall())


def to_pg(sql: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s` (a literal % doubled first)."""
    return sql.replace("%", "%%").replace("?", "%s")


class Connection:
    """A psycopg connection that speaks to the shared SQL like sqlite3 does."""

    def __init__(self, url: str) -> None:
        self.raw = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, row_factory=_row_factory)
        self.raw.execute("SET TIME ZONE 'UTC'")

    def execute(self, sql: str, args: Sequence[Any] | None = None) -> Result:
        inserted = sql.lstrip()[:6].upper() == "INSERT" and " RETURNING " not in sql.upper()
        if inserted:
            sql += " RETURNING *"
        cursor = self.raw.cursor()
        if args:
            cursor.execute(to_pg(sql), list(args))
        else:
            cursor.execute(sql)
        return Result(cursor, inserted)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.raw.cursor() as cursor:
            cursor.executemany(to_pg(sql), [list(r) for r in rows])

    @property
    def usable(self) -> bool:
        return not self.raw.closed and not self.raw.broken

    def close(self) -> None:
        self.raw.close()


class PostgresTx(SqliteTx):
    """The shared unit-of-work operations (adapters/sqlite_ledger.py SqliteTx) on a PostgreSQL transaction."""

    _FOR_UPDATE = " FOR UPDATE"  # two consoles counting one account's failures: one waits for the other

    def transition(self, key: int, event: Event, at: datetime, cause: str) -> MessageRecord:
        # The scopes already serialise units that change one message; the row lock makes the guard read the
        # state as committed last, should a unit ever change a message outside its scope.
        self.db.execute("SELECT 1 FROM messages WHERE key=? FOR UPDATE", (key,))
        return super().transition(key, event, at, cause)


def scope_key(kind: str, name: str) -> int:
    """The advisory lock key of one thing a scope names: a signed 64-bit number, the same in every instance."""
    digest = hashlib.blake2b(f"{kind}\x00{name}".encode("utf-8"), digest_size=8, person=b"ltcgw-scope").digest()
    return int.from_bytes(digest, "big", signed=True)


def scope_locks(scope: Scope) -> str:
    """The statements that begin a unit of work of `scope`: DECISIONS, then the scope's keys in ascending order
    (the order every unit takes its locks in: see the top of this module)."""
    if scope.everything:
        return f"SELECT pg_advisory_xact_lock({DECISIONS})"
    keys = sorted({scope_key("city", c) for c in scope.cities} | {scope_key("id", m) for m in scope.messages}
                  | {scope_key("file", f"{city}/{sha}") for city, sha in scope.files})
    return "; ".join([f"SELECT pg_advisory_xact_lock_shared({DECISIONS})",
                      *(f"SELECT pg_advisory_xact_lock({key})" for key in keys)])


def probe(url: str) -> tuple[bool, str]:
    """`ltcgw config check --connect`: reach the database once, changing nothing (no migration), and say what
    is there: (usable, what was found or what is wrong)."""
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT) as db:
            version = db.execute("SHOW server_version").fetchone()[0]
            found = db.execute("SELECT to_regclass('schema_migrations')").fetchone()[0]
            if found:
                applied = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
                return True, f"PostgreSQL {version}: ledger schema version {applied}"
            if not db.execute("SELECT has_schema_privilege(current_schema(), 'CREATE')").fetchone()[0]:
                return False, (f"PostgreSQL {version}: the database is empty and its user may not create tables "
                               "in it: grant CREATE, or start the first instance with the owner's role")
            return True, f"PostgreSQL {version}: empty; the first `ltcgw run` creates the tables"
    except psycopg.Error as exc:
        return False, f"cannot reach the ledger's database: {str(exc).strip() or type(exc).__name__}"


class PostgresLedger(SqliteLedger):
    """The ledger port (gateway/service/ports/ledger.py) on a PostgreSQL database named by a `postgresql://` URL."""

    def __init__(self, url: str, *, wait_seconds: float = 60.0) -> None:
        self.url = url
        self.path = None  # type: ignore[assignment]  # no file: SqliteLedger's path-based parts do not apply
        self._local = threading.local()
        self._connections: list[Connection] = []
        self._lock = threading.Lock()
        self._instance_lock = None
        self._with_retry(self._migrate, wait_seconds)

    @staticmethod
    def _with_retry(step: Any, wait_seconds: float) -> None:
        """At start the database may still be coming up (all machines booting): wait for it, then give up."""
        deadline = time.monotonic() + wait_seconds
        delay = 0.2
        while True:
            try:
                return step()
            except psycopg.OperationalError:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _db(self) -> Connection:  # type: ignore[override]
        db = getattr(self._local, "db", None)
        if db is not None and not db.usable:
            self._forget(db)
            db = None
        if db is None:
            db = Connection(self.url)
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def _forget(self, db: Connection) -> None:
        with self._lock:
            if db in self._connections:
                self._connections.remove(db)
        try:
            db.close()
        except psycopg.Error:
            pass
        self._local.db = None

    @contextmanager
    def _transaction(self, locks: str | None) -> Iterator[Connection]:
        db = self._db()
        try:
            # BEGIN and the locks in one round trip: a unit of work is a few short statements, so each counts.
            db.raw.execute("BEGIN" if locks is None else f"BEGIN; {locks}")
            try:
                yield db
            except BaseException:
                if db.usable:
                    db.raw.execute("ROLLBACK")
                raise
            db.raw.execute("COMMIT")
        except psycopg.OperationalError:
            self._forget(db)  # the next call connects again (database restarted, connection cut)
            raise

    def _migrate(self) -> None:
        with self._transaction(f"SELECT pg_advisory_xact_lock({MIGRATING})") as db:  # instances starting together: one migrates, the others wait
            apply_migrations(db, "postgres")

    @contextmanager
    def unit_of_work(self, scope: Scope = EVERYTHING) -> Iterator[PostgresTx]:  # type: ignore[override]
        with self._transaction(scope_locks(scope)) as db:
            yield PostgresTx(db)  # type: ignore[arg-type]

    @contextmanager
    def _short_write(self) -> Iterator[Connection]:  # type: ignore[override]
        with self._transaction(None) as db:  # not the decisions' lock: staged rows are nobody's yet
            yield db

    @contextmanager
    def _snapshot(self) -> Iterator[PostgresTx]:  # type: ignore[override]
        with self._transaction(None) as db:
            db.raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")  # one view of every read
            yield PostgresTx(db)  # type: ignore[arg-type]

    # leases -------------------------------------------------------------------------------------------
    def heartbeat(self, instance: str, cities: Sequence[str], lease_seconds: float) -> frozenset[str]:
        """Renew the instance and its city leases; take free or expired ones up to a fair share; give back
        the surplus when more instances are alive (so a new instance gets work without anyone dying)."""
        ttl = f"{float(lease_seconds)} seconds"
        with self._transaction(None) as db:
            db.execute(
                """INSERT INTO instances(instance, host, pid, started_at, heartbeat_at, expires_at)
                   VALUES (?, ?, ?, now(), now(), now() + ?::interval)
                   ON CONFLICT(instance) DO UPDATE SET heartbeat_at=now(), expires_at=excluded.expires_at, lost_at=NULL""",
                (instance, socket.gethostname(), os.getpid(), ttl),
            )
            db.executemany("INSERT INTO city_leases(city) VALUES (?) ON CONFLICT DO NOTHING", [(c,) for c in cities])
            alive = db.execute("SELECT COUNT(*) FROM instances WHERE expires_at > now()").fetchone()[0]
            share = math.ceil(len(cities) / max(alive, 1))
            held = [r[0] for r in db.execute(
                "SELECT city FROM city_leases WHERE holder=? AND expires_at > now() AND city = ANY(?) ORDER BY city",
                (instance, list(cities)),
            )]
            keep, surplus = held[:share], held[share:]
            if surplus:
                # Free after a grace: this instance's worker finishes the file in hand before another polls.
                db.execute("UPDATE city_leases SET holder=NULL, expires_at=now() + ?::interval WHERE holder=? "
                           "AND city = ANY(?)", (f"{min(float(lease_seconds) / 3, 2.0)} seconds", instance, surplus))
            if len(keep) < share:
                # SKIP LOCKED: two instances taking at once never wait on, nor take, the same city.
                free = [r[0] for r in db.execute(
                    """SELECT city FROM city_leases WHERE city = ANY(?) AND (expires_at IS NULL OR expires_at <= now())
                       ORDER BY city LIMIT ? FOR UPDATE SKIP LOCKED""",
                    (list(cities), share - len(keep)),
                )]
                for city in free:
                    db.execute("UPDATE city_leases SET holder=?, acquired_at=now() WHERE city=?", (instance, city))
                keep += free
            if keep:
                db.execute("UPDATE city_leases SET expires_at=now() + ?::interval WHERE holder=? AND city = ANY(?)",
                           (ttl, instance, keep))
        return frozenset(keep)

    def claim_captures(self, instance: str, limit: int, lease_seconds: float) -> list[Capture]:
        with self._transaction(None) as db:
            rows = db.execute(
                """UPDATE captures SET leased_by=?, lease_until=now() + ?::interval WHERE key IN (
                       SELECT key FROM captures WHERE processed=0
                       AND (lease_until IS NULL OR lease_until <= now() OR leased_by=?)
                       ORDER BY key LIMIT ? FOR UPDATE SKIP LOCKED)
                   RETURNING *""",
                (instance, f"{float(lease_seconds)} seconds", instance, limit),
            ).fetchall()
        return sorted((_capture(r) for r in rows), key=lambda c: c.key)

    def leave(self, instance: str) -> None:
        with self._transaction(None) as db:
            db.execute("UPDATE city_leases SET holder=NULL, expires_at=NULL WHERE holder=?", (instance,))
            db.execute("UPDATE captures SET leased_by=NULL, lease_until=NULL WHERE leased_by=? AND processed=0", (instance,))
            db.execute("DELETE FROM instances WHERE instance=?", (instance,))

    def instances(self) -> list[InstanceRecord]:
        db = self._db()
        out = []
        for row in db.execute("SELECT *, expires_at > now() AS alive FROM instances ORDER BY instance").fetchall():
            cities = db.execute(
                "SELECT city FROM city_leases WHERE holder=? AND expires_at > now() ORDER BY city", (row["instance"],)
            ).fetchall()
            captures = db.execute(
                "SELECT COUNT(*) FROM captures WHERE leased_by=? AND processed=0 AND lease_until > now()",
                (row["instance"],),
            ).fetchone()[0]
            out.append(InstanceRecord(row["instance"], row["host"], row["pid"], row["started_at"],
                                      row["heartbeat_at"], row["alive"], tuple(c[0] for c in cities), captures))
        return out

    def lost_instances(self, instance: str) -> list[InstanceRecord]:
        # One UPDATE: two instances asking at once both wait on the row lock, and the second finds lost_at set.
        with self._transaction(None) as db:
            rows = db.execute(
                """UPDATE instances SET lost_at=now() WHERE instance<>? AND expires_at <= now() AND lost_at IS NULL
                   RETURNING instance, host, pid, started_at, heartbeat_at""", (instance,)).fetchall()
        return [InstanceRecord(r["instance"], r["host"], r["pid"], r["started_at"], r["heartbeat_at"], False)
                for r in sorted(rows, key=lambda r: r["instance"])]

    # waking the instance that holds a city ----------------------------------------------------------------
    notifies_owed = True

    def announce_owed(self, cities: Sequence[str]) -> None:
        """Tell every instance that files are owed to `cities`: the holder of each writes them now, not at its
        next rescan (the decision may have been taken by another instance)."""
        if cities:
            with self._transaction(None) as db:
                for city in sorted(cities):
                    db.execute("SELECT pg_notify('ltcgw_owed', ?)", (city,))

    def wait_owed(self, timeout: float) -> set[str]:
        """Cities announced by any instance within `timeout` seconds (a connection of its own, LISTENing)."""
        listener = getattr(self, "_listener", None)
        if listener is None or listener.closed or listener.broken:
            listener = self._listener = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
            listener.execute("LISTEN ltcgw_owed")
        try:
            return {n.payload for n in listener.notifies(timeout=timeout)}
        except psycopg.OperationalError:
            listener.close()
            raise

    def schema_version(self) -> int:
        return int(self._db().execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0)

    def connection(self) -> Connection:
        """This thread's connection (the database spool stores bytes through it)."""
        return self._db()

    def close(self) -> None:
        listener = getattr(self, "_listener", None)
        if listener is not None:
            listener.close()
        with self._lock:
            connections, self._connections = list(self._connections), []
        for db in connections:
            try:
                db.close()
            except psycopg.Error:
                pass
        self._local = threading.local()
