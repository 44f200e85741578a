"""Messages/s through `ltcgw run` on each ledger, in one run: SQLite (one instance, the only way it runs) beside
PostgreSQL with one, two and three instances sharing the work (fsync off, then on: durable), plus the database
spool's cost per message size.

Each row: --messages signed claims and settlements (A3/A4, --persons persons each) between random pairs of
Shandong's 16 cities, dropped at once into the senders' drops; the clock runs from starting the instance(s)
until every message is checked, routed, delivered to its receiver and ACKed to its sender (no receipts: the
resend schedule is an hour). Decisions are locked per insured city (adapters/postgres_ledger.py), so two
instances decide about different cities at once. Real processes, a real PostgreSQL (Debian's, started on a
free loopback port as tests/support/postgres.py does; `fsync` and `full_page_writes` switched on by
ALTER SYSTEM for the durable rows). Not part of the tests; issue 7's benchmark folds the rows into its table
(section 6, `figures`):

    .venv/bin/python bench/ledger_instances.py [--messages 300] [--persons 5] [--workers 1]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.postgres_ledger import PostgresLedger  # noqa: E402
from adapters.spool import DatabaseSpool  # noqa: E402
from adapters.sqlite_ledger import SqliteLedger  # noqa: E402
from gateway.workspace.city_system import CitySystem  # noqa: E402
from gateway.documents.envelope import file_name  # noqa: E402
from gateway.domain.envelope import MessageType  # noqa: E402
from gateway.domain.areas import SHANDONG_CITIES  # noqa: E402
from gateway.domain.lifecycle import State  # noqa: E402
from gateway.workspace.layout import write_workspace  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402

CITIES = sorted(SHANDONG_CITIES)  # 16 cities: 240 ordered pairs, 16 insured cities to lock
SECTION = "6. ledger instances"
TARGET = 1.6  # two instances against one (issue 16 item 3)


def _workspace(root: Path, keys: Path, workers: int, url: str | None) -> tuple[Path, dict[str, CitySystem]]:
    shutil.copytree(keys, root / "keys")
    config = write_workspace(root, CITIES, retry=["1h"], workers=workers, rescan_seconds=0.5)
    if url:
        text = config.read_text(encoding="utf-8").replace('[ledger]\npath = "ledger.sqlite3"', f'[ledger]\nurl = "{url}"')
        config.write_text(text, encoding="utf-8")
    return config, {code: CitySystem(code, root / "keys", root / "drops" / code) for code in CITIES}


def _plan(keys_root: Path, messages: int, persons: int) -> list[tuple[str, object, bytes]]:
    cities = {code: CitySystem(code, keys_root, keys_root.parent / "plan" / code) for code in CITIES}
    rng = random.Random(5)
    planned = []
    for i in range(messages):
        sender, receiver = rng.sample(CITIES, 2)
        header, data = cities[sender].pack(MessageType.A3 if i % 2 else MessageType.A4, receiver, "2026-10",
                                           seed=i, persons=persons)
        planned.append((sender, header, data))
    return planned


# Where the instances' connections are, sampled with the progress (pg_stat_activity): running a statement,
# waiting for a scope's advisory lock, waiting on anything else in the server, or inside a transaction waiting
# for the instance's next statement (Python between two statements of a unit of work).
ACTIVITY = """SELECT CASE WHEN state = 'active' AND wait_event_type = 'Lock' AND wait_event = 'advisory' THEN 'advisory'
                   WHEN state = 'active' AND wait_event_type IS NULL THEN 'running'
                   WHEN state = 'active' THEN 'waiting:' || wait_event_type
                   WHEN state LIKE 'idle in transaction%' THEN 'in_tx_client' END AS what, COUNT(*)
              FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND backend_type = 'client backend' GROUP BY 1"""


def _server_cpu(server: PostgresServer | None) -> float:
    """CPU seconds of the PostgreSQL server so far: the postmaster and every backend it reaped or still runs."""
    if server is None:
        return 0.0
    try:
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid == postmaster:
                total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime (reaped backends)
            elif ppid == postmaster:
                total += int(fields[11]) + int(fields[12])
        return total / tick
    except (OSError, ValueError, IndexError):
        return float("nan")


def _run(label: str, root: Path, keys: Path, planned: list, workers: int, instances: int, url: str | None,
         server: PostgresServer | None = None, waits: dict[str, float] | None = None) -> float:
    """msg/s of one row; `waits` (PostgreSQL) receives the instances' connections per state, averaged over
    the samples (how many were running, waiting for a scope lock, ... at a time)."""
    config, cities = _workspace(root, keys, workers, url)
    parts = []  # written before the instances start, renamed into the drops at once when they are ready
    for sender, header, data in planned:
        part = cities[sender].outbox / f"{file_name(header)}.part"
        part.write_bytes(data)
        parts.append(part)
    ledger = PostgresLedger(url) if url else SqliteLedger(root / "ledger.sqlite3")
    seen: dict[str, int] = {}
    samples = 0
    logs = [open(root / f"instance-{i}.log", "wb") for i in range(instances)]
    processes = [subprocess.Popen([sys.executable, "-m", "gateway.entrypoints.cli", "run", "-c", str(config), "--quiet"],
                                  stdout=log, stderr=subprocess.STDOUT) for log in logs]
    try:
        # The clock starts once every instance runs and the drops are shared among them (their start-up, the
        # same for each, is not the throughput this measures), with every file dropped at that moment.
        _wait_ready(ledger, instances, time.monotonic() + 120, label)
        pids = {process.pid for process in processes}
        cpu_before, server_before = _cpu_of(pids), _server_cpu(server)
        wal_before = _wal(ledger) if url else None
        started = time.monotonic()
        for part in parts:
            part.rename(part.with_suffix(""))
        while True:
            # Two counts, not the rows: the watching must not take the CPU the instances need.
            db = ledger._db()
            done = db.execute("SELECT COUNT(*) FROM messages WHERE state=?", (State.DELIVERED.value,)).fetchone()[0]
            owed = db.execute("SELECT COUNT(*) FROM outgoing WHERE written_at IS NULL AND cancelled=0").fetchone()[0]
            if done == len(planned) and not owed:
                break
            if url:
                samples += 1
                for what, count in db.execute(ACTIVITY).fetchall():
                    if what:
                        seen[what] = seen.get(what, 0) + count
            if time.monotonic() - started > 900:
                raise SystemExit(f"{label}: not done after 900 s ({done}/{len(planned)})")
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        cpu = _cpu_of(pids) - cpu_before
        if url:  # who checked what: captures keep the instance that last leased them
            split = ledger._db().execute("SELECT COUNT(*) FROM captures GROUP BY leased_by ORDER BY 1 DESC").fetchall()
            label += " (checks " + "/".join(str(r[0]) for r in split) + ")"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
        for log in logs:
            log.close()
        ledger.close()
    rate = len(planned) / elapsed
    if url and wal_before is not None:
        check = PostgresLedger(url)
        commits, syncs, sync_ms = (after - before for after, before in zip(_wal(check), wal_before))
        commits -= 3 * samples  # the watching's own statements (two counts and the activity, autocommit)
        check.close()
        if waits is not None:
            waits.update(commits=commits / len(planned), syncs=syncs / len(planned),
                         sync_ms=sync_ms / syncs if syncs else 0.0)
        label_wal = (f"|   per message: {commits / len(planned):.1f} commits, {syncs / len(planned):.1f} WAL syncs"
                     + (f" of {sync_ms / syncs:.2f} ms" if syncs else ""))
    else:
        label_wal = ""
    time.sleep(0.3)  # the backends of the run exit and are reaped
    pg_cpu = _server_cpu(server) - server_before if server else float("nan")
    print(f"| {label:<44} | {instances:>9} | {workers:>7} | {elapsed:>7.1f} | {rate:>10.1f} | {cpu:>14.1f} | "
          f"{pg_cpu:>6.1f} |", flush=True)
    if url and samples:
        average = {what: count / samples for what, count in sorted(seen.items())}
        if waits is not None:
            waits.update(average, samples=samples, instance_cpu=cpu, server_cpu=pg_cpu, seconds=elapsed)
        print("|   connections at a time: " + ", ".join(f"{k} {v:.2f}" for k, v in average.items()), flush=True)
    if label_wal:
        print(label_wal, flush=True)
    return rate


def _wal(ledger: PostgresLedger) -> tuple[float, float, float]:
    """(transactions committed in this database, WAL syncs, ms spent syncing) so far (pg_stat_database and
    pg_stat_wal; the sync time needs track_wal_io_timing, switched on with fsync by `durable`)."""
    db = ledger._db()
    commits = db.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]
    syncs, ms = db.execute("SELECT wal_sync, wal_sync_time FROM pg_stat_wal").fetchone()
    return float(commits), float(syncs), float(ms)


def _wait_ready(ledger, instances: int, deadline: float, label: str) -> None:
    """Every instance alive and holding its share of the drops (PostgreSQL), or the one instance (SQLite)."""
    while time.monotonic() < deadline:
        held = ledger.instances()
        alive = [i for i in held if i.alive]
        share = -(-len(CITIES) // instances)
        if len(alive) == instances and (instances == 1 or (
                sum(len(i.cities) for i in alive) == len(CITIES) and all(0 < len(i.cities) <= share for i in alive))):
            return
        time.sleep(0.2)
    raise SystemExit(f"{label}: the instances did not start and share the drops within 120 s")


def _cpu_of(pids: set[int]) -> float:
    """CPU seconds (user + system) of the instances and their pool workers so far: read at the clock's start
    and end, so it is the measured part's alone (not the start-up)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) in pids or int(fields[1]) in pids:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def durable(server: PostgresServer, on: bool) -> None:
    """fsync and full_page_writes on (a production server's settings) or off (the test cluster's): both
    take effect at a reload, for the databases made afterwards and the ones in use alike."""
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as admin:
        for name in ("fsync", "full_page_writes", "track_wal_io_timing"):
            admin.execute(f"ALTER SYSTEM SET {name} = {'on' if on else 'off'}")
        admin.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)
        assert admin.execute("SHOW fsync").fetchone()[0] == ("on" if on else "off")


def measure(base: Path, keys: Path, planned: list, workers: int = 1, counts: tuple[int, ...] = (1, 2, 3),
            server: PostgresServer | None = None, diagnosis: dict | None = None) -> dict[str, float]:
    """msg/s per row: "sqlite", then "pg<fsync: off|on>-<instances>" for each count, all in this one run;
    `diagnosis` receives each PostgreSQL row's connection states and CPU seconds (instances, server)."""
    own = server is None
    server = server or PostgresServer()
    rates: dict[str, float] = {}
    try:
        rates["sqlite"] = _run("SQLite (WAL, synchronous=FULL)", base / "sqlite", keys, planned, workers, 1, None)
        for fsync in ("off", "on"):
            durable(server, fsync == "on")
            for n in counts:
                waits: dict[str, float] = {}
                rates[f"pg{fsync}-{n}"] = _run(f"PostgreSQL, fsync {fsync}", base / f"pg-{fsync}-{n}", keys, planned,
                                               workers, n, server.new_database(), server, waits)
                if diagnosis is not None:
                    diagnosis[f"pg{fsync}-{n}"] = waits
    finally:
        if own:
            server.close()
    return rates


def figures(base: Path, messages: int, persons: int) -> list:
    """Section 6 of `bench/run`: the rows of `measure`, each PostgreSQL row beside one instance of its own
    fsync setting, the target row "two instances >= 1.6x one" for fsync off and on."""
    from bench.common import Figure

    write_workspace(base / "keys-source", CITIES)
    keys = base / "keys-source" / "keys"
    diagnosis: dict[str, dict[str, float]] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        planned = _plan(keys, messages, persons)
        rates = measure(base, keys, planned, diagnosis=diagnosis)
    what = (f"{messages} claims and settlements ({persons} persons) between random pairs of the 16 cities, dropped "
            "at once when every instance runs; until all are delivered and ACKed; one check worker per instance; "
            "PostgreSQL on the same cores")
    out = [Figure(SECTION, "SQLite, one instance", rates["sqlite"], "msg/s", note=what)]
    for fsync in ("off", "on"):
        one = rates[f"pg{fsync}-1"]
        out.append(Figure(SECTION, f"PostgreSQL fsync {fsync}, one instance", one, "msg/s", "SQLite, one instance",
                          rates["sqlite"], note=what))
        for n in (2, 3):
            name, value, where = (f"PostgreSQL fsync {fsync}, {n} instances", rates[f"pg{fsync}-{n}"],
                                  _where(diagnosis.get(f"pg{fsync}-{n}", {}), diagnosis.get(f"pg{fsync}-1", {})))
            reference = f"PostgreSQL fsync {fsync}, one instance"
            out.append(Figure.scored(SECTION, name, value, "msg/s", reference, one, TARGET, issue=16, note=where)
                       if n == 2 else Figure(SECTION, name, value, "msg/s", reference, one, note=where))
    return out


def _where(row: dict[str, float], one: dict[str, float]) -> str:
    """Where the time went, for the table's note: CPU seconds against one instance's, and the connections
    waiting for a scope lock against those running (averages over the samples)."""
    if not row or not one:
        return ""
    return (f"instances' CPU {row['instance_cpu']:.1f} s (one: {one['instance_cpu']:.1f}), server CPU "
            f"{row['server_cpu']:.1f} s (one: {one['server_cpu']:.1f}); connections at a time: running "
            f"{row.get('running', 0):.2f}, waiting for a scope lock {row.get('advisory', 0):.2f}, in a transaction "
            f"waiting for the instance {row.get('in_tx_client', 0):.2f}")


def _spool_costs(server: PostgresServer) -> None:
    ledger = PostgresLedger(server.new_database())
    spool = DatabaseSpool(ledger.connection)
    print("\n| database spool (bytea) | store ms | read ms |\n|---|---:|---:|")
    for size_mb in (0.01, 1, 16):
        data = random.Random(1).randbytes(int(size_mb * 1024 * 1024))
        t0 = time.perf_counter()
        sha = spool.store("inbox", data)
        t1 = time.perf_counter()
        assert spool.read("inbox", sha) == data
        t2 = time.perf_counter()
        print(f"| {size_mb:g} MB | {(t1 - t0) * 1000:.1f} | {(t2 - t1) * 1000:.1f} |")
    ledger.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--persons", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1, help="check workers per instance")
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2, 3], help="PostgreSQL rows (1 first)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="ltcgw-bench-"))
    server = PostgresServer()
    try:
        write_workspace(base / "keys-source", CITIES)
        keys = base / "keys-source" / "keys"
        print(f"signing {args.messages} messages ({args.persons} persons each)...", flush=True)
        planned = _plan(keys, args.messages, args.persons)
        print("\n| ledger | instances | workers | seconds | messages/s | instances' CPU s | server CPU s |\n"
              "|---|---:|---:|---:|---:|---:|---:|")
        rates = measure(base, keys, planned, args.workers, tuple(args.instances), server)
        for fsync in ("off", "on"):
            one = rates[f"pg{fsync}-1"]
            print(f"\nfsync {fsync}: " + ", ".join(f"{n} instances {rates[f'pg{fsync}-{n}'] / one:.2f}x one"
                                                  for n in args.instances if n > 1))
        durable(server, False)
        _spool_costs(server)
        print(f"\nPostgreSQL: {server.bin}; {os.cpu_count()} cores, load average now {os.getloadavg()[0]:.1f}")
    finally:
        server.close()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
