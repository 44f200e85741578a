"""Three `ltcgw run` processes on one PostgreSQL ledger, SIGKILLed and restarted at random while hundreds of
messages flow, and the database itself restarted mid-run.

In the end every message is delivered exactly once (one file per id in the receiver's inbox, byte for byte, one
delivery in the ledger), every sender holds one ACK or NACK per message and one forwarded receipt per delivered
message, the instances shared the cities' drops between them, and nothing of a killed instance lives on.
"""

from __future__ import annotations

import hashlib
import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from adapters.postgres_ledger import PostgresLedger
from gateway.config import load_config
from gateway.domain.lifecycle import State
from gateway.workspace.layout import write_workspace
from tests.support.crash_rig import CITIES, feed_cities, prepare, processes_using, start_daemon
from tests.support.postgres import postgres_server  # noqa: F401

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
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if (self.root / f"instance-{slot}.log").read_bytes().count(b"started") >= self.starts[slot]:
                return
            time.sleep(0.05)
        raise AssertionError(f"instance {slot} did not start")

    def kill_and_restart(self, slot: int) -> None:
        self.processes[slot].send_signal(signal.SIGKILL)
        self.processes[slot].wait()
        self.processes[slot] = self.start_daemon(slot)

    def holders(self, ledger: PostgresLedger) -> dict[str, tuple[str, ...]]:
        """The drops each running instance holds, once a killed one's leases have expired (a few seconds)."""
        running = {f"{i.host}:{p.pid}" for p in self.processes for i in ledger.instances() if i.pid == p.pid}
        deadline = time.monotonic() + 4 * LEASE_SECONDS
        while True:
            held = {i.instance: i.cities for i in ledger.instances() if i.instance in running}
            if sorted(c for cities in held.values() for c in cities) == sorted(CITIES) or time.monotonic() > deadline:
                return held
            time.sleep(0.5)

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

    feeder = threading.Thread(target=feed_cities, args=(cities, planned, stop, 0.3), daemon=True)
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
        deadline = time.monotonic() + 150
        valid = sum(1 for p in planned if p[3])
        while time.monotonic() < deadline:
            try:
                states = Counter(m.state for m in ledger.messages() if m.type != "RECEIPT")
                pending_out = [o for o in ledger.outgoing() if o.written_at is None and not o.cancelled]
            except Exception:  # noqa: BLE001  (our reader's connection broke with the restart: read again)
                time.sleep(0.5)
                continue
            if states[State.ACKNOWLEDGED] == valid and states[State.REJECTED] == len(planned) - valid and not pending_out:
                break
            time.sleep(0.5)
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

    for city in cities.values():
        assert [p.name for p in city.outbox.iterdir() if not p.name.endswith(".part")] == []
    records = [m for m in ledger.messages() if m.type != "RECEIPT"]
    by_id = Counter(m.message_id for m in records)
    assert sorted(by_id) == sorted(h.message_id for _, h, _, _ in planned)
    assert set(by_id.values()) == {1}, "a file was recorded twice"
    assert {hashlib.sha256(d).hexdigest() for _, _, d, _ in planned} <= {m.sha256 for m in records}
    for sender, header, data, valid in planned:
        delivered = [p for p in cities[header.receiver].inbox.iterdir()
                     if header.message_id in p.name and p.name.startswith("A")]
        acks = [p.name for p in cities[sender].inbox.iterdir()
                if p.name.startswith(("ACK_", "NACK_")) and header.message_id in p.name]
        receipts = [p for p in cities[sender].inbox.iterdir() if p.name == f"RECEIPT_{header.message_id}.xml"]
        record = next(m for m in records if m.message_id == header.message_id)
        if valid:
            assert [p.read_bytes() for p in delivered] == [data], header.message_id
            assert record.deliveries == 1 and record.state is State.ACKNOWLEDGED, header.message_id
            assert acks == [f"ACK_{header.message_id}.xml"] and len(receipts) == 1
        else:
            assert delivered == [] and record.state is State.REJECTED
            assert acks == [f"NACK_{header.message_id}.xml"]
    ledger.close()
    assert not processes_using(config_path)
    for city in cities.values():
        assert not [p for p in city.inbox.iterdir() if p.name.endswith(".part") and not p.name.startswith(".")]


def _count(ledger: PostgresLedger) -> int:
    for _ in range(20):
        try:
            return len(ledger.messages())
        except Exception:  # noqa: BLE001  (the database is restarting)
            time.sleep(0.5)
    raise AssertionError("the database did not come back")
