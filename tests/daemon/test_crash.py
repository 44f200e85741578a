"""Crash safety: `ltcgw run` as a real process, SIGKILLed again and again while hundreds of messages flow.

In the end every message is delivered exactly once (one file per id in the receiver's inbox, byte for byte),
every sender holds exactly one ACK or NACK per message and one forwarded receipt per delivered message, and
every dropped file is in the ledger.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from adapters.sqlite_ledger import SqliteLedger
from gateway.config import load_config
from gateway.demo import CitySystem
from gateway.documents.envelope import file_name
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.entrypoints.operations import write_workspace

from .conftest import wait_until

CITIES = ["370100", "370300", "370600"]
MESSAGES = 240
BROKEN_EVERY = 12  # one file in twelve is altered after signing: NACK
KILLS = 30


def _prepare(root: Path, keys: Path, workers: int) -> tuple[Path, dict, list]:
    shutil.copytree(keys, root / "keys", dirs_exist_ok=True)
    config_path = write_workspace(root, CITIES, retry=["1h"], workers=workers, rescan_seconds=0.3)
    cities = {code: CitySystem(code, root / "keys", root / "drops" / code) for code in CITIES}
    rng = random.Random(7)
    planned = []  # (sender, header, bytes, valid)
    for i in range(MESSAGES):
        sender, receiver = rng.sample(CITIES, 2)
        kind = MessageType.A3 if i % 3 else MessageType.A4
        header, data = cities[sender].pack(kind, receiver, "2026-10", seed=1000 + i, persons=2)
        valid = i % BROKEN_EVERY != 5
        if not valid:
            data = data.replace(b"<TotalCost>", b"<TotalCost>7", 1)
        planned.append((sender, header, data, valid))
    return config_path, cities, planned


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crash-keys")
    write_workspace(root, CITIES)
    return root / "keys"


def _processes_using(config_path: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(config_path).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _wait_started(log_path: Path, count: int, seconds: float = 30) -> None:
    """Until the daemon has logged its `count`-th start (ledger opened, workers about to run)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log_path.read_bytes().count(b"started") >= count:
            return
        time.sleep(0.02)
    raise AssertionError("the daemon did not start")


def _start(config_path: Path, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.entrypoints.cli", "run", "-c", str(config_path)],
        stdout=log, stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "process-pool"])
def test_sigkill_at_any_moment_loses_and_duplicates_nothing(tmp_path: Path, keys: Path, workers: int) -> None:
    config_path, cities, planned = _prepare(tmp_path, keys, workers)
    config = load_config(config_path)
    stop = threading.Event()

    def city_systems() -> None:
        """Drop the planned files a few at a time, and answer deliveries with receipts, like legacy systems."""
        for start in range(0, len(planned), 6):
            for sender, header, data, _ in planned[start:start + 6]:
                cities[sender].drop_file(file_name(header), data)
            for city in cities.values():
                city.answer()
            time.sleep(0.45)
        while not stop.is_set():
            for city in cities.values():
                city.answer()
            time.sleep(0.2)

    feeder = threading.Thread(target=city_systems, daemon=True)
    rng = random.Random(11)
    started = time.monotonic()
    with open(tmp_path / "gateway.log", "ab") as log:
        feeder.start()
        ledger = SqliteLedger(config.ledger_path)
        seen_at_kills = []
        for started_count in range(1, KILLS + 1):
            process = _start(config_path, log)
            _wait_started(tmp_path / "gateway.log", started_count)  # a loaded machine starts Python slowly
            time.sleep(rng.uniform(0.05, 0.9))
            process.send_signal(signal.SIGKILL)
            process.wait()
            seen_at_kills.append(len(ledger.messages()))
        during = Counter(m.state for m in ledger.messages())
        process = _start(config_path, log)
        try:
            deadline = time.monotonic() + 240
            valid = sum(1 for p in planned if p[3])
            while time.monotonic() < deadline:
                states = Counter(m.state for m in ledger.messages() if m.type != "RECEIPT")
                pending_out = [o for o in ledger.outgoing() if o.written_at is None and not o.cancelled]
                if states[State.ACKNOWLEDGED] == valid and states[State.REJECTED] == len(planned) - valid and not pending_out:
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            process.terminate()
            process.wait(timeout=30)
            feeder.join(timeout=10)
    print(f"\n{len(planned)} messages (+ receipts) through {KILLS} SIGKILLs in {elapsed:.1f} s: "
          f"{len(planned) / elapsed:.1f} messages/s; states when the kills ended: {dict(during)}")
    # The kills hit a flow in progress: many of them fell between the first message and the last.
    final = len(ledger.messages())
    assert sum(1 for n in seen_at_kills if 0 < n < final) >= KILLS // 3, seen_at_kills

    # Nothing left in the drops, nothing unaccounted for: every dropped file is a message in the ledger.
    for city in cities.values():
        assert [p.name for p in city.outbox.iterdir() if not p.name.endswith(".part")] == []
    records = [m for m in ledger.messages() if m.type != "RECEIPT"]
    by_id = Counter(m.message_id for m in records)
    assert sorted(by_id) == sorted(h.message_id for _, h, _, _ in planned)
    assert set(by_id.values()) == {1}, "a file was recorded twice"
    captured = {(c.sha256) for c in records}
    assert all(__import__("hashlib").sha256(d).hexdigest() in captured for _, _, d, _ in planned)

    for sender, header, data, valid in planned:
        receiver = cities[header.receiver]
        delivered = [p for p in receiver.inbox.iterdir() if header.message_id in p.name and p.name.startswith("A")]
        acks = [p for p in cities[sender].inbox.iterdir() if p.name.startswith(("ACK_", "NACK_")) and header.message_id in p.name]
        receipts = [p for p in cities[sender].inbox.iterdir() if p.name == f"RECEIPT_{header.message_id}.xml"]
        record = next(m for m in records if m.message_id == header.message_id)
        if valid:
            assert [p.read_bytes() for p in delivered] == [data], header.message_id  # exactly once, byte for byte
            assert [p.name for p in acks] == [f"ACK_{header.message_id}.xml"]
            assert len(receipts) == 1
            assert record.state is State.ACKNOWLEDGED
        else:
            assert delivered == []
            assert [p.name for p in acks] == [f"NACK_{header.message_id}.xml"]
            assert record.state is State.REJECTED
    # Nothing of a killed daemon lives on (a process pool's workers leave with their parent).
    wait_until(lambda: not _processes_using(config_path), seconds=10)
    assert _processes_using(config_path) == []
    # No half-written file is visible to a city; leftovers of a kill are hidden temporaries only.
    for city in cities.values():
        assert not [p for p in city.inbox.iterdir() if p.name.endswith(".part") and not p.name.startswith(".")]
