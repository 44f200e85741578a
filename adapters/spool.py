"""The spool port's two adapters (gateway/service/ports/spool.py): a folder, and the PostgreSQL ledger's table.

Content addressing makes writes idempotent (the same bytes land on the same name, whatever the restarts) and
lets the ledger refer to bytes by their digest. A file is written under a temporary name, fsynced, renamed,
and the folder fsynced: once `store` returns, the bytes survive a power cut.

Layout under the spool folder: `inbox/` (files taken from the cities' drops; rejected ones stay here, marked
REJECTED in the ledger: that is the quarantine) and `outbox/` (ACK/NACK bytes the gateway signed).
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from gateway.service.ports.spool import TooLarge

CHUNK = 1024 * 1024
# A temporary of another machine is only removed once nothing could still be writing it: a message is capped
# (max_message_bytes) and written in seconds, so an hour-old temporary is a crashed writer's.
STALE_SECONDS = 3600.0


def _owner_prefix() -> str:
    """What a temporary's name says of its writer: several instances may share the spool over a mount, and a
    starting instance must clean only what a dead writer left (never another live instance's file in hand)."""
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"
    return f"{host}~{os.getpid()}~"


def _left_by_dead_writer(entry: Path, host: str, now: float) -> bool:
    parts = entry.name[1:].split("~")  # ".in-HOST~PID~random.tmp" -> ["in-HOST", "PID", "random.tmp"]
    if len(parts) == 3 and parts[0].split("-", 1)[-1] == host and parts[1].isdigit():
        pid = int(parts[1])
        if pid == os.getpid():
            return False  # this process's own file in hand
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, another user's
        return False
    try:
        return now - entry.stat().st_mtime > STALE_SECONDS
    except FileNotFoundError:
        return False


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderSpool:
    """The spool in a folder (`inbox/`, `outbox/`): one instance, or several over a shared mount."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.inbox = self.root / "inbox"
        self.outbox = self.root / "outbox"
        for folder in (self.inbox, self.outbox):
            folder.mkdir(parents=True, exist_ok=True)

    def _path(self, area: str, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return (self.inbox if _area(area) == "inbox" else self.outbox) / sha256

    def path(self, area: str, sha256: str) -> Path:
        return self._path(area, sha256)

    def receive(self, fill: Callable[[BinaryIO], object], max_bytes: int | None = None) -> tuple[str, int]:
        """Let `fill` write into a temporary file of inbox/; keep it under its digest. Returns (sha256, size)."""
        fd, tmp = tempfile.mkstemp(dir=self.inbox, prefix=".in-" + _owner_prefix(), suffix=".tmp")
        try:
            with os.fdopen(fd, "w+b") as f:
                fill(f)
                f.flush()
                size = f.tell()
                if max_bytes is not None and size > max_bytes:
                    raise TooLarge(size)
                f.seek(0)
                digest = hashlib.sha256()
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
                os.fsync(f.fileno())
            sha = digest.hexdigest()
            os.replace(tmp, self._path("inbox", sha))
            fsync_dir(self.inbox)
            return sha, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def store(self, area: str, data: bytes) -> str:
        """Keep `data` in inbox/ or outbox/ under its digest (durable on return). Returns the digest."""
        sha = hashlib.sha256(data).hexdigest()
        final = self._path(area, sha)
        if final.exists() and final.stat().st_size == len(data):
            os.utime(final)  # stored again now: retention counts from here (purge)
            return sha
        folder = final.parent
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".out-" + _owner_prefix(), suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
            fsync_dir(folder)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return sha

    def read(self, area: str, sha256: str) -> bytes:
        return self._path(area, sha256).read_bytes()

    def open(self, area: str, sha256: str) -> BinaryIO:
        return open(self._path(area, sha256), "rb")

    def exists(self, area: str, sha256: str) -> bool:
        return self._path(area, sha256).is_file()

    def purge(self, area: str, sha256: str, stored_before: datetime) -> bool:
        """Delete the bytes (retention) unless stored again after `stored_before`: the same bytes captured anew
        while the purge was deciding are a live message's. True when deleted."""
        path = self._path(area, sha256)
        try:
            if path.stat().st_mtime >= stored_before.timestamp():
                return False
            path.unlink()
        except FileNotFoundError:
            return False
        fsync_dir(path.parent)
        return True

    def clean_temporaries(self) -> int:
        """Remove temporaries left by a crashed writer (their bytes were never recorded anywhere): this machine's
        whose process is gone, another machine's (or unnamed ones) once stale; never a live writer's."""
        count = 0
        host = _owner_prefix().split("~")[0]
        now = time.time()
        for folder in (self.inbox, self.outbox):
            for entry in folder.iterdir():
                if entry.name.startswith(".") and entry.name.endswith(".tmp") and _left_by_dead_writer(entry, host, now):
                    entry.unlink(missing_ok=True)
                    count += 1
        return count


class DatabaseSpool:
    """The spool in the PostgreSQL ledger (table spool_files): every instance reads what any instance took.

    The same port as FolderSpool. A file arrives in a local temporary file first (an oversize one is refused there,
    never read into memory), then is inserted once per digest; the insert is committed before `receive`/`store`
    returns, which is the same promise as the folder's fsync. bytea, not large objects: messages are capped
    (16 MB by default) and bytea rows need no cleanup of orphaned objects (figures: docs/operations.md).
    """

    def __init__(self, connection: Callable[[], object]) -> None:
        self._connection = connection  # this thread's ledger connection (adapters/postgres_ledger.py)

    def _keep(self, area: str, sha: str, data: bytes) -> None:
        self._connection().execute(
            # Stored again: retention counts from now, as the folder spool's mtime does (purge).
            "INSERT INTO spool_files(area, sha256, size, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (area, sha256) DO UPDATE SET stored_at = now() RETURNING area",
            (_area(area), sha, len(data), data),
        )

    def receive(self, fill: Callable[[BinaryIO], object], max_bytes: int | None = None) -> tuple[str, int]:
        with tempfile.TemporaryFile(prefix="ltcgw-in-") as f:
            fill(f)
            size = f.tell()
            if max_bytes is not None and size > max_bytes:
                raise TooLarge(size)
            f.seek(0)
            data = f.read()
        sha = hashlib.sha256(data).hexdigest()
        self._keep("inbox", sha, data)
        return sha, size

    def store(self, area: str, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self._keep(area, sha, data)
        return sha

    def read(self, area: str, sha256: str) -> bytes:
        row = self._connection().execute(
            "SELECT data FROM spool_files WHERE area=? AND sha256=?", (_area(area), sha256)
        ).fetchone()
        if row is None:
            raise FileNotFoundError(f"{area}/{sha256} is not in the database spool")
        return bytes(row[0])

    def open(self, area: str, sha256: str) -> BinaryIO:
        """A real (anonymous) file, like the folder spool's: callers may ask its size through fileno()."""
        f = tempfile.TemporaryFile(prefix="ltcgw-out-")
        f.write(self.read(area, sha256))
        f.seek(0)
        return f

    def exists(self, area: str, sha256: str) -> bool:
        return self._connection().execute(
            "SELECT 1 FROM spool_files WHERE area=? AND sha256=?", (_area(area), sha256)).fetchone() is not None

    def purge(self, area: str, sha256: str, stored_before: datetime) -> bool:
        """As FolderSpool.purge; bytes a capture still waits to check are kept whatever their age."""
        row = self._connection().execute(
            "DELETE FROM spool_files WHERE area=? AND sha256=? AND stored_at < ? AND NOT EXISTS "
            "(SELECT 1 FROM captures WHERE sha256=? AND processed=0) RETURNING sha256",
            (_area(area), sha256, stored_before, sha256),
        ).fetchone()
        return row is not None

    def clean_temporaries(self) -> int:
        return 0  # nothing half-written can be left: an insert is whole or absent


def _area(area: str) -> str:
    if area not in ("inbox", "outbox"):
        raise ValueError(f"unknown spool area {area!r}")
    return area
