"""Messages/s through `ltcgw run` on each ledger, in one run: SQLite (one instance, the only way it runs) beside
PostgreSQL with one and with two instances sharing the work, plus the database spool's cost per message size.

Each row: --messages signed claims (A3/A4, --persons persons each) dropped at once into four cities' drops,
then the clock runs from starting the instance(s) until every message is checked, routed, delivered to its
receiver and ACKed to its sender (no receipts: the resend schedule is an hour). Real processes, a real
PostgreSQL (Debian's, started on a free loopback port as tests/support/postgres.py does). Not part of the
tests; issue 7's benchmark folds the rows into its table:

    .venv/bin/python bench/ledger_instances.py [--messages 300] [--persons 5] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
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
from gateway.domain.lifecycle import State  # noqa: E402
from gateway.workspace.layout import write_workspace  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402

CITIES = ["370100", "370200", "370300", "370600"]


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


def _run(label: str, root: Path, keys: Path, planned: list, workers: int, instances: int, url: str | None) -> float:
    config, cities = _workspace(root, keys, workers, url)
    for sender, header, data in planned:
        cities[sender].drop_file(file_name(header), data)
    ledger = PostgresLedger(url) if url else SqliteLedger(root / "ledger.sqlite3")
    cpu_before = _children_cpu()
    started = time.monotonic()
    logs = [open(root / f"instance-{i}.log", "wb") for i in range(instances)]
    processes = [subprocess.Popen([sys.executable, "-m", "gateway.entrypoints.cli", "run", "-c", str(config), "--quiet"],
                                  stdout=log, stderr=subprocess.STDOUT) for log in logs]
    try:
        while True:
            # Two counts, not the rows: the watching must not take the CPU the instances need.
            db = ledger._db()
            done = db.execute("SELECT COUNT(*) FROM messages WHERE state=?", (State.DELIVERED.value,)).fetchone()[0]
            owed = db.execute("SELECT COUNT(*) FROM outgoing WHERE written_at IS NULL AND cancelled=0").fetchone()[0]
            if done == len(planned) and not owed:
                break
            if time.monotonic() - started > 900:
                raise SystemExit(f"{label}: not done after 900 s ({done}/{len(planned)})")
            time.sleep(0.1)
        elapsed = time.monotonic() - started
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
    cpu = _children_cpu() - cpu_before
    print(f"| {label:<44} | {instances:>9} | {workers:>7} | {elapsed:>7.1f} | {rate:>10.1f} | {cpu:>14.1f} |", flush=True)
    return rate


def _children_cpu() -> float:
    """CPU seconds (user + system) of the instances run so far: how busy the gateway kept the cores."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="ltcgw-bench-"))
    server = PostgresServer()
    try:
        write_workspace(base / "keys-source", CITIES)
        keys = base / "keys-source" / "keys"
        print(f"signing {args.messages} messages ({args.persons} persons each)...", flush=True)
        planned = _plan(keys, args.messages, args.persons)
        print("\n| ledger | instances | workers | seconds | messages/s | instances' CPU s |\n"
              "|---|---:|---:|---:|---:|---:|")
        _run("SQLite (WAL, synchronous=FULL)", base / "sqlite", keys, planned, args.workers, 1, None)
        _run("PostgreSQL, database spool", base / "pg1", keys, planned, args.workers, 1, server.new_database())
        _run("PostgreSQL, database spool", base / "pg2", keys, planned, args.workers, 2, server.new_database())
        _spool_costs(server)
        print(f"\nPostgreSQL test cluster: fsync off (tests/support/postgres.py); {server.bin}; "
              f"{os.cpu_count()} cores, load average now {os.getloadavg()[0]:.1f}")
    finally:
        server.close()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
