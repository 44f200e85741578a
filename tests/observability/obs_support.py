"""Helpers for the observability and operations tests: a workspace, an `ltcgw run` subprocess, HTTP gets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from gateway.workspace.layout import write_workspace
from tests.support.waiting import wait_for

JINAN, ZIBO, YANTAI = "370100", "370300", "370600"  # 济南, 淄博, 烟台
PERIOD = "2026-10"


def workspace(root: Path, cities: list[str], extra: str = "", rescan_seconds: float = 0.3) -> Path:
    """A workspace (keys, drops, config) with `extra` TOML appended to its config."""
    path = write_workspace(root, cities, retry=["1h"], rescan_seconds=rescan_seconds)
    if extra:
        path.write_text(path.read_text(encoding="utf-8") + "\n" + extra + "\n", encoding="utf-8")
    return path


class Daemon:
    """`ltcgw run -c CONFIG` as a real process; stdout and stderr kept in files for the assertions."""

    runs = 0

    def __init__(self, config: Path, *args: str) -> None:
        self.config = config
        Daemon.runs += 1
        self.out = config.parent / f"daemon-{Daemon.runs}.out"
        self.err = config.parent / f"daemon-{Daemon.runs}.err"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway.entrypoints.cli", "run", "-c", str(config), *args],
                stdout=out, stderr=err, env=env, cwd=config.parent,
            )

    def output(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace") + self.err.read_text(encoding="utf-8", errors="replace")

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM once it runs (a signal during start-up would find Python's default handler)."""
        if self.process.poll() is None:
            wait_for(self.output, until=lambda out: "started" in out or self.process.poll() is not None,
                     what="the daemon's start (its output so far)")
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`ltcgw ARGS` in a subprocess, as an operator runs it."""
    return subprocess.run([sys.executable, "-m", "gateway.entrypoints.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def log_events(path: Path) -> list[dict]:
    """The JSON lines of a transfer-log file (and its rotated siblings), oldest file first."""
    files = sorted(path.parent.glob(path.name + ".*"), reverse=True) + [path]
    return [json.loads(line) for f in files if f.exists() for line in f.read_text(encoding="utf-8").splitlines() if line]
