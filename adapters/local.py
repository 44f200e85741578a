"""A city's drop as a local folder: `outbox/` (the city writes, the gateway takes) and `inbox/` (the reverse).

A file is taken only when complete: temporary and hidden names are skipped; a file that arrived by rename is
whole at once; any other file must hold its size and mtime across two scans and a short settle time, because a
slow writer (or a cut upload) looks just like a finished one to a single look. Links, folders, FIFOs and
devices are never opened: they are reported once as refusals for an operator to clear.
"""

from __future__ import annotations

import os
import secrets
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from adapters.spool import fsync_dir
from gateway.service.ports.transport import ConnectionReport, DropFile, Refusal, Scan, TransportError, is_temporary_name

CHUNK = 1024 * 1024


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def safe_name(name: str) -> str:
    """A file name for a city's inbox: a plain final name, never a path."""
    if not name or "/" in name or "\0" in name or name in (".", "..") or is_temporary_name(name):
        raise ValueError(f"not a deliverable file name: {name!r}")
    return name


class LocalTransport:
    """One city's drop folder (the contract: gateway/service/ports/transport.py)."""

    poll_interval = None  # watched (watchdog): the daemon's rescan only catches lost events

    def __init__(self, city: str, drop: Path, *, settle_seconds: float = 1.0, clock: Callable[[], float] = time.time):
        self.city = city
        self.drop = Path(drop)
        self.outbox = self.drop / "outbox"
        self.inbox = self.drop / "inbox"
        self.settle_seconds = settle_seconds
        self._clock = clock
        self._seen: dict[str, tuple[int, int, int]] = {}  # name -> (inode, size, mtime_ns) at the last scan
        self._moved: set[str] = set()  # names that arrived by rename: whole at once
        self._lock = threading.Lock()
        self._observer = None

    @classmethod
    def from_settings(cls, city: str, settings) -> "LocalTransport":
        drop = settings.path("drop")
        settle = float(settings.options.get("settle_seconds", 1.0))
        return cls(city, drop, settle_seconds=settle)

    def _check_reachable(self) -> None:
        if not self.outbox.is_dir() or not self.inbox.is_dir():
            raise TransportError(f"drop of {self.city} is not reachable: {self.drop}")

    def note_moved(self, name: str) -> None:
        """A file was renamed into the outbox (watchdog `moved`): it is complete."""
        with self._lock:
            self._moved.add(name)

    def scan(self) -> Scan:
        self._check_reachable()
        ready: list[DropFile] = []
        refused: list[Refusal] = []
        waiting = 0
        now = self._clock()
        seen: dict[str, tuple[int, int, int]] = {}
        try:
            entries = list(os.scandir(self.outbox))
        except OSError as exc:
            raise TransportError(f"cannot list {self.outbox}: {exc}") from exc
        with self._lock:
            moved, self._moved = self._moved, set()
        for entry in sorted(entries, key=lambda e: e.name):
            if is_temporary_name(entry.name):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(st.st_mode):
                refused.append(Refusal(entry.name, f"{_kind(st.st_mode)}: never followed; remove it"))
                continue
            key = (st.st_ino, st.st_size, st.st_mtime_ns)
            seen[entry.name] = key
            settled = now - st.st_mtime_ns / 1e9 >= self.settle_seconds
            if entry.name in moved or (self._seen.get(entry.name) == key and settled):
                ready.append(DropFile(entry.name, st.st_size, st.st_mtime_ns / 1e9))
            else:
                waiting += 1
        self._seen = seen
        return Scan(ready, refused, waiting)

    def _open_outbox_file(self, item: DropFile) -> int:
        path = self.outbox / item.name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise
        except OSError as exc:  # ELOOP: it became a link
            raise TransportError(f"cannot open {item.name} in {self.city}'s outbox: {exc.strerror}") from exc
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise TransportError(f"{item.name} in {self.city}'s outbox is {_kind(st.st_mode)}")
        if st.st_size != item.size or abs(st.st_mtime_ns / 1e9 - item.mtime) > 1e-6:
            os.close(fd)
            raise TransportError(f"{item.name} in {self.city}'s outbox changed since the scan")
        return fd

    def download(self, item: DropFile, dest: BinaryIO) -> int:
        fd = self._open_outbox_file(item)
        copied = 0
        with os.fdopen(fd, "rb", closefd=True) as src:
            while chunk := src.read(CHUNK):
                dest.write(chunk)
                copied += len(chunk)
        if copied != item.size:
            raise TransportError(f"{item.name} in {self.city}'s outbox changed while read")
        return copied

    def remove(self, item: DropFile) -> None:
        path = self.outbox / item.name
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        # Never remove a file the city replaced after we took ours: it would be lost unseen.
        if stat.S_ISREG(st.st_mode) and st.st_size == item.size and abs(st.st_mtime_ns / 1e9 - item.mtime) <= 1e-6:
            path.unlink(missing_ok=True)
        self._seen.pop(item.name, None)

    def deliver(self, name: str, src: BinaryIO) -> None:
        self._check_reachable()
        final = self.inbox / safe_name(name)
        tmp = self.inbox / f".{name}.{secrets.token_hex(4)}.part"
        try:
            with open(tmp, "xb") as out:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
            fsync_dir(self.inbox)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise TransportError(f"cannot deliver {name} to {self.city}: {exc}") from exc

    def clean_temporaries(self) -> int:
        """Remove our own half-written deliveries left by a crash (`.NAME.XXXXXXXX.part` in the inbox)."""
        count = 0
        for entry in os.scandir(self.inbox):
            if entry.name.startswith(".") and entry.name.endswith(".part") and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                count += 1
        return count

    def watch(self, wake: Callable[[], None]) -> bool:
        """Call `wake` on any change in the outbox (watchdog); a periodic rescan covers lost events."""
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        transport = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:  # noqa: ANN001
                if event.event_type == "moved":
                    dest = Path(os.fsdecode(event.dest_path))
                    if dest.parent == transport.outbox:
                        transport.note_moved(dest.name)
                if event.event_type in ("created", "moved", "closed", "modified"):
                    wake()

        if self._observer is None:
            observer = Observer()
            observer.schedule(Handler(), str(self.outbox), recursive=False)
            observer.daemon = True
            observer.start()
            self._observer = observer
        return True

    def check_connection(self) -> ConnectionReport:
        """The drop's folders exist and the outbox is readable; what waits there."""
        try:
            scan = self.scan()
        except TransportError as exc:
            return ConnectionReport(self.city, False, [str(exc)])
        return ConnectionReport(self.city, True, details=[
            f"local drop {self.drop}: {len(scan.ready)} ready, {scan.waiting} waiting, {len(scan.refused)} refused in the outbox"])

    def close(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
