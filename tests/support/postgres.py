"""A real PostgreSQL server for tests: Debian's binaries, a temporary cluster on a free loopback port.

scripts/test installs the `postgresql` package. The server never runs as root (PostgreSQL refuses to): when
the tests run as root, the cluster belongs to `nobody` and is started through `runuser`. It listens on
127.0.0.1 only, with trust authentication (nothing else can reach it) and fsync off (a test cluster needs no
power-cut safety; a killed server still loses nothing, the operating system holds the writes).

Use the `postgres_server` fixture (session-scoped: one server for the whole run) and `new_database()` for a
fresh, empty database per test. `stop()`/`start()` restart it (the distributed crash test does).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (scripts/test installs postgresql)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.bin = _binaries()
        self.root = Path(tempfile.mkdtemp(prefix="ltcgw-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "nobody")
            os.chmod(self.root, 0o700)
            self._as_user = ["runuser", "-u", "nobody", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
                "fsync = off\nfull_page_writes = off\nmax_connections = 200\nshared_buffers = 32MB\n"
            )
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as_user, str(self.bin / tool), *args], check=True, capture_output=True,
                       cwd=self.root)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` disconnects clients and shuts down cleanly; `immediate` is a crash (recovery at next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def new_database(self) -> str:
        """A fresh empty database; returns its URL."""
        import psycopg

        name = f"ltcgw_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer()
    try:
        yield server
    finally:
        server.close()
