"""Crash safety: `ltcgw run` as a real process, SIGKILLed again and again while hundreds of messages flow.

In the end every message is delivered exactly once (one file per id in the receiver's inbox, byte for byte),
every sender holds exactly one ACK or NACK per message and one forwarded receipt per delivered message, and
every dropped file is in the ledger.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from adapters.sqlite_ledger import SqliteLedger
from gateway.config import load_config
from gateway.workspace.layout import write_workspace
from tests.support.crash_rig import (
    CITIES,
    KILLS,
    feed_cities,
    prepare,
    processes_using,
    start_daemon,
    wait_started,
)
from tests.support.exactly_once import assert_exactly_once, problems
from tests.support.waiting import wait_for

@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crash-keys")
    write_workspace(root, CITIES)
    return root / "keys"


WINDOW = 0.9


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "process-pool"])
def test_sigkill_at_any_moment_loses_and_duplicates_nothing(tmp_path: Path, keys: Path, workers: int) -> None:
    config_path, cities, planned = prepare(tmp_path, keys, workers)
    config = load_config(config_path)
    stop = threading.Event()

    feeder = threading.Thread(target=feed_cities, args=(cities, planned, stop, 0.45), daemon=True)
    rng = random.Random(11)
    started = time.monotonic()
    with open(tmp_path / "gateway.log", "ab") as log:
        feeder.start()
        ledger = SqliteLedger(config.ledger_path)
        seen_at_kills: list[int] = []
        for started_count in range(1, KILLS + 1):
            before = len(ledger.messages())
            process = start_daemon(config_path, log)
            wait_started(tmp_path / "gateway.log", started_count)  # a loaded machine starts Python slowly
            if started_count % 2 == 0:
                # Every other kill falls while it decides: after its first decision since the start, at a random
                # moment (a pool may take longer to start than the window below, on a loaded machine longer still).
                _until_progress(ledger, before, cities, seconds=15)
            time.sleep(rng.uniform(0.05, WINDOW))
            process.send_signal(signal.SIGKILL)
            process.wait()
            seen_at_kills.append(len(ledger.messages()))
        during = Counter(m.state for m in ledger.messages())
        process = start_daemon(config_path, log)
        try:
            # Settled: every message answered, delivered, receipted, nothing owed (the last problems seen say
            # what never came, should it time out).
            wait_for(lambda: problems(planned, cities, ledger, receipts=True), until=lambda found: not found,
                     seconds=240, every=0.5, what="every message delivered exactly once, one ACK or NACK each")
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
    # Still true once the daemon stopped: nothing left in the drops, every file delivered and answered once.
    assert_exactly_once(planned, cities, ledger, receipts=True)
    # Nothing of a killed daemon lives on (a process pool's workers leave with their parent).
    wait_for(lambda: processes_using(config_path), until=lambda pids: not pids, seconds=10,
             what="no process of the killed daemons left")


def _until_progress(ledger: SqliteLedger, before: int, cities: dict, seconds: float) -> None:
    """Until the ledger holds more messages than `before`; at once when nothing waits to be decided (no file in
    any city's outbox, no capture undecided: a starting daemon takes the files in its first scan, well before
    its pool decides one), and at most `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(ledger.messages()) <= before:
        if not any(any(not p.name.endswith(".part") for p in city.outbox.iterdir()) for city in cities.values()) \
                and not _undecided_captures(ledger):
            return
        time.sleep(0.02)


def _undecided_captures(ledger: SqliteLedger) -> int:
    with sqlite3.connect(f"file:{ledger.path}?mode=ro", uri=True, timeout=10) as db:
        return db.execute("SELECT COUNT(*) FROM captures WHERE processed=0").fetchone()[0]
