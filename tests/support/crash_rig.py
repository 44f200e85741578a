"""The crash rig shared by the single-instance and the distributed crash tests: three cities, a few hundred
planned messages (one in twelve altered after signing), the daemon as a real process, and city systems that
drop files and answer deliveries with receipts while the daemon is killed again and again."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from gateway.workspace.city_system import CitySystem
from gateway.documents.envelope import file_name
from gateway.domain.envelope import MessageType
from gateway.workspace.layout import write_workspace
from tests.support.exactly_once import Sent
from tests.support.waiting import wait_for

CITIES = ["370100", "370300", "370600"]
MESSAGES = 240
BROKEN_EVERY = 12  # one file in twelve is altered after signing: NACK
KILLS = 30


def prepare(root: Path, keys: Path, workers: int) -> tuple[Path, dict, list[Sent]]:
    shutil.copytree(keys, root / "keys", dirs_exist_ok=True)
    config_path = write_workspace(root, CITIES, retry=["1h"], workers=workers, rescan_seconds=0.3)
    cities = {code: CitySystem(code, root / "keys", root / "drops" / code) for code in CITIES}
    rng = random.Random(7)
    planned = []
    for i in range(MESSAGES):
        sender, receiver = rng.sample(CITIES, 2)
        kind = MessageType.A3 if i % 3 else MessageType.A4
        header, data = cities[sender].pack(kind, receiver, "2026-10", seed=1000 + i, persons=2)
        valid = i % BROKEN_EVERY != 5
        if not valid:
            data = data.replace(b"<TotalCost>", b"<TotalCost>7", 1)
        planned.append(Sent(header, data, valid))
    return config_path, cities, planned


def processes_using(config_path: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(config_path).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def wait_started(log_path: Path, count: int, seconds: float = 30) -> None:
    """Until the daemon has logged its `count`-th start (ledger opened, workers about to run)."""
    wait_for(lambda: log_path.read_bytes().count(b"started"), until=lambda starts: starts >= count,
             seconds=seconds, every=0.02, what=f"start number {count} in {log_path.name} (starts logged so far)")


def start_daemon(config_path: Path, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.entrypoints.cli", "run", "-c", str(config_path)],
        stdout=log, stderr=subprocess.STDOUT,
    )


def feed_cities(cities: dict, planned: list, stop: threading.Event, pause: float) -> None:
    """Drop the planned files a few at a time, and answer deliveries with receipts, like legacy systems."""
    for first in range(0, len(planned), 6):
        for sent in planned[first:first + 6]:
            cities[sent.sender].drop_file(file_name(sent.header), sent.data)
        for city in cities.values():
            city.answer()
        time.sleep(pause)
    while not stop.is_set():
        for city in cities.values():
            city.answer()
        time.sleep(0.2)
