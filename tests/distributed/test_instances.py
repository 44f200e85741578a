"""Three `ltcgw run` processes on one PostgreSQL ledger, SIGKILLed and restarted at random while hundreds of
messages flow, and the database itself restarted mid-run.

In the end every message is delivered exactly once (one file per id in the receiver's inbox, byte for byte, one
delivery in the ledger), every sender holds one ACK or NACK per message and one forwarded receipt per delivered
message, the instances shared the cities' drops between them, and nothing of a killed instance lives on.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import pytest

from adapters.postgres_ledger import PostgresLedger
from gateway.config import load_config
from gateway.workspace.layout import write_workspace
from tests.support.crash_rig import CITIES, feed_cities, prepare, processes_using, start_daemon
from tests.support.exactly_once import assert_exactly_once, problems
from tests.support.postgres import postgres_server  # noqa: F401
from tests.support.waiting import anything, wait_for

INSTANCES = 3
KILLS = 18
LEASE_SECONDS = 3  # a killed instance's drops and captures are taken over within this


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("distributed-keys")
    write_workspace(root, CITIES)
    return root / "keys"


def _on_postgres(config_path: Path, url: str) -> None:
    text = config_path.read_text(encoding="utf-8")
    text = text.replace('[ledger]\npath = "ledger.sqlite3"', f'[ledger]\nurl = "{url}"\nlease_seconds = {LEASE_SECONDS}')
    config_path.write_text(text, encoding="utf-8")


class Instances:
    """The three processes, each with its own log; `kill` and `restart` one by its slot."""

    def __init__(self, root: Path, config_path: Path) -> None:
        self.root, self.config_path = root, config_path
        self.logs = [open(root / f"instance-{i}.log", "ab") for i in range(INSTANCES)]
        self.starts = [0] * INSTANCES
        self.processes = [self.start_daemon(i) for i in range(INSTANCES)]

    def start_daemon(self, slot: int):
        self.starts[slot] += 1
        return start_daemon(self.config_path, self.logs[slot])

    def wait_started(self, slot: int, seconds: float = 60) -> None:
        log, count = self.root / f"instance-{slot}.log", self.starts[slot]
        wait_for(lambda: log.read_bytes().count(b"started"), until=lambda starts: starts >= count, seconds=seconds,
                 what=f"instance {slot}'s start number {count} (starts logged so far)")

    def kill_and_restart(self, slot: int) -> None:
        self.processes[slot].send_signal(signal.SIGKILL)
        self.processes[slot].wait()
        self.processes[slot] = self.start_daemon(slot)

    def holders(self, ledger: PostgresLedger) -> dict[str, tuple[str, ...]]:
        """The drops each running instance holds, once a killed one's leases have expired (a few seconds)."""
        running = {f"{i.host}:{p.pid}" for p in self.processes for i in ledger.instances() if i.pid == p.pid}
        return wait_for(
            lambda: {i.instance: i.cities for i in ledger.instances() if i.instance in running},
            until=lambda held: sorted(c for cities in held.values() for c in cities) == sorted(CITIES),
            seconds=4 * LEASE_SECONDS, every=0.5, what="every drop held by one running instance (drops held)")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)
        for log in self.logs:
            log.close()


@pytest.mark.slow
def test_three_instances_killed_at_random_and_a_database_restart_lose_and_duplicate_nothing(
    tmp_path: Path, keys: Path, postgres_server,  # noqa: F811
) -> None:
    config_path, cities, planned = prepare(tmp_path, keys, workers=1)
    _on_postgres(config_path, postgres_server.new_database())
    config = load_config(config_path)
    assert config.ledger_url and config.spool_store == "database"
    stop = threading.Event()

    # Fed over about 30 s (6 files every 0.75 s), as long as most of the kills take: the kills hit a flow in
    # progress whatever the machine's speed (fed in 12 s, a fast machine had decided all before the 7th kill).
    feeder = threading.Thread(target=feed_cities, args=(cities, planned, stop, 0.75), daemon=True)
    rng = random.Random(23)
    started = time.monotonic()
    ledger = PostgresLedger(config.ledger_url)
    instances = Instances(tmp_path, config_path)
    try:
        for slot in range(INSTANCES):
            instances.wait_started(slot)
        feeder.start()
        seen_at_kills = []
        for kill in range(KILLS):
            if kill == KILLS // 2:  # the database crashes mid-run; the instances wait and resume
                postgres_server.stop("immediate")
                time.sleep(2)
                postgres_server.start()
            slot = rng.randrange(INSTANCES)
            instances.kill_and_restart(slot)
            instances.wait_started(slot)
            time.sleep(rng.uniform(0.2, 1.5))
            seen_at_kills.append(_count(ledger))
        # Settled: every message answered, delivered, receipted, nothing owed. Our reader's connection may
        # break with the database restart: then it is only asked again.
        wait_for(lambda: problems(planned, cities, ledger, receipts=True), until=lambda found: not found,
                 seconds=150, every=0.5, retry_on=Exception,
                 what="every message delivered exactly once, one ACK or NACK each")
        elapsed = time.monotonic() - started
        holders = instances.holders(ledger)
        running = set(holders)
    finally:
        stop.set()
        instances.stop()
        feeder.join(timeout=10)
    # SIGTERM: the running instances left, giving their leases back (the killed ones only expired).
    assert running and not running & {i.instance for i in ledger.instances()}
    print(f"\n{len(planned)} messages through {INSTANCES} instances, {KILLS} SIGKILLs and a database restart "
          f"in {elapsed:.1f} s; drops held at the end: {holders}")
    final = _count(ledger)
    assert sum(1 for n in seen_at_kills if 0 < n < final) >= KILLS // 3, seen_at_kills
    # The three running instances shared the drops: each city held by exactly one of them.
    assert len(holders) == INSTANCES and sorted(c for held in holders.values() for c in held) == sorted(CITIES)
    assert all(len(held) == 1 for held in holders.values()), holders

    # Still true once the instances stopped: one delivery each in the folders and in the ledger, one reply each.
    assert_exactly_once(planned, cities, ledger, receipts=True, deliveries=1)
    ledger.close()
    assert not processes_using(config_path)


def _count(ledger: PostgresLedger) -> int:
    return len(wait_for(ledger.messages, until=anything, retry_on=Exception, seconds=10, every=0.5,
                        what="the ledger readable again (the database is restarting)"))
