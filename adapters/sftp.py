"""A city's drop on an SFTP server (the city's legacy system is the server, the gateway the client).

Why it is built this way:
- One SSH session per city is kept open and reused: opening one costs ~120 ms, a listing on an open one ~1 ms.
  When it drops, the next call reconnects; repeated failures back off exponentially with jitter, and while
  backing off every call fails fast with TransportError so the daemon keeps serving the other cities.
- The server's host key is pinned in the city's config; an unknown or changed key is refused (HostKeyRefused),
  never learnt. The private key is re-read at each connect and refused if others can read it.
- A file is taken only once complete: its size and mtime held still across `stable_polls` scans, or its
  done-marker (FILE + marker suffix) exists. Links, folders and devices are refused, never followed.
- Delivery writes `.NAME.part`, checks its size, syncs it where the server allows, then posix-renames it over
  NAME, so a reader never sees half a file under the final name.
- Transfers use pipelined writes, unlimited prefetch (MEASURED.md: a small prefetch limit or unpipelined writes
  are 20-100x slower), the largest requests the server states it accepts, and AES-GCM when offered: about 2x
  paramiko's defaults and above OpenSSH's `sftp` both ways (bench/sftp_throughput.py, docs/operations.md).
"""

from __future__ import annotations

import errno
import json
import posixpath
import random
import secrets
import socket
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, BinaryIO

import paramiko
from paramiko.sftp import CMD_EXTENDED, CMD_EXTENDED_REPLY

from adapters.local import _kind as kind_of  # one wording for refusals, whichever the drop
from adapters.local import safe_name
from adapters.ssh_keys import KeyProblem, fingerprint, load_private_key, parse_pinned_host_keys
from gateway.domain.findings import Phrase
from gateway.domain.notes import Note, words
from gateway.service.ports.transport import (
    ConnectionReport,
    DropFile,
    HostKeyRefused,
    Refusal,
    Scan,
    TransportError,
    is_temporary_name,
)

# SFTP request size: paramiko's 32 KB unless the server states larger limits (limits@openssh.com, as OpenSSH's
# own client asks); OpenSSH allows 255 KB, which measured 1.3-1.6x faster both ways (bench/sftp_throughput.py).
BASE_REQUEST = 32768
MAX_REQUEST = 261120
# AES-GCM (one pass, no separate MAC) first: faster in paramiko than its default AES-CTR + HMAC; the other
# ciphers stay allowed, only the order changes.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


# Seconds between listings of an outbox. A file is taken once two listings saw it unchanged, and the worker lists
# again 1 s after seeing a file wait, so a file waits about U(0, poll) + 1 s: 2 s makes it ~1-3 s (10 s: ~1-11 s,
# bench/sftp_pickup_latency.py), for a listing that costs ~0.5 ms on the kept session.
DEFAULT_POLL_SECONDS = 2.0


class SftpConfigError(ValueError):
    """A city's SFTP settings are unusable; `problems` lists every one, in words an operator can act on (English),
    `notes` the same as notes (code, template, values) that `ltcgw config check` says in its reader's language."""

    def __init__(self, problems: list[str | Note]) -> None:
        self.notes = [p if isinstance(p, Note) else Note("config.sftp", "{problem}", problem=p) for p in problems]
        self.problems = [note.message for note in self.notes]
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class SftpSettings:
    """One city's SFTP drop. Remote paths are as the server shows them to this account."""

    host: str
    user: str
    private_key: Path
    outbox: str
    inbox: str
    port: int = 22
    known_hosts: Path | None = None  # known_hosts lines or a server's *.pub file
    host_key: str | None = None  # the same, inline (one or more lines)
    poll_interval: float = DEFAULT_POLL_SECONDS
    stable_polls: int = 2
    done_marker: str | None = None  # e.g. ".done": take FILE only when FILE.done exists
    connect_timeout: float = 15.0
    io_timeout: float = 60.0
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    window_size: int | None = None  # SSH channel window; None keeps paramiko's (OpenSSH's) default
    max_packet_size: int | None = None

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], base_dir: Path) -> SftpSettings:
        """Build from a city's `sftp` table (TOML), relative file paths resolved against `base_dir`.

        Every problem is collected and raised together as SftpConfigError; keys are checked for presence,
        type and range, and the key files are read (private key permissions, host key for this host:port).
        """
        problems: list[str | Note] = []
        known = {f.name for f in fields(cls)}
        problems += [Note("sftp.unknown_key", "unknown key {key}", key=repr(key)) for key in mapping if key not in known]
        values: dict[str, Any] = {}

        def take(key: str, kind: type | tuple[type, ...], required: bool = False) -> Any:
            if key not in mapping:
                if required:
                    problems.append(Note("sftp.required", "{key} is required", key=repr(key)))
                return None
            value = mapping[key]
            if isinstance(value, bool) or not isinstance(value, kind):
                problems.append(Note("sftp.type", "{key} must be {kind}", key=repr(key), kind=_kind_name(kind)))
                return None
            values[key] = value
            return value

        for key in ("host", "user", "outbox", "inbox"):
            value = take(key, str, required=True)
            if value is not None and not value.strip():
                problems.append(Note("sftp.empty", "{key} must not be empty", key=repr(key)))
        for key in ("outbox", "inbox"):
            if key in values and posixpath.normpath(values[key]) != (values[key].rstrip("/") or "/"):
                problems.append(Note("sftp.path", "{key} must be a plain path (no '..', '.' or '//')", key=repr(key)))
        port = take("port", int)
        if port is not None and not 0 < port < 65536:
            problems.append(Note("sftp.port", "'port' must be between 1 and 65535"))
        for key in ("private_key", "known_hosts"):
            value = take(key, str, required=key == "private_key")
            if value is not None:
                values[key] = (base_dir / Path(value).expanduser()).resolve()
        take("host_key", str)
        if "known_hosts" not in values and "host_key" not in values:
            problems.append(Note("sftp.host_key", "pin the server's host key: set 'known_hosts' (a file) or "
                                 "'host_key' (a line)"))
        for key in ("poll_interval", "connect_timeout", "io_timeout", "backoff_initial", "backoff_max"):
            value = take(key, (int, float))
            if value is not None:
                if value <= 0:
                    problems.append(Note("sftp.positive", "{key} must be greater than 0", key=repr(key)))
                values[key] = float(value)
        polls = take("stable_polls", int)
        if polls is not None and polls < 2:
            problems.append(Note("sftp.stable_polls", "'stable_polls' must be at least 2 (a file must be seen "
                                 "unchanged twice)"))
        marker = take("done_marker", str)
        if marker is not None and (not marker.startswith(".") or "/" in marker or len(marker) < 2):
            problems.append(Note("sftp.done_marker", "'done_marker' must be a suffix such as '.done'"))
        for key in ("window_size", "max_packet_size"):
            value = take(key, int)
            if value is not None and value < 32768:
                problems.append(Note("sftp.at_least", "{key} must be at least {least}", key=repr(key), least=32768))
        if problems:
            raise SftpConfigError(problems)
        settings = cls(**values)
        problems += settings.key_problems()
        if problems:
            raise SftpConfigError(problems)
        return settings

    def to_toml(self, base_dir: Path | None = None) -> list[str]:
        """The `[cities.CODE.transport]` lines for these settings (what `ltcgw init --transport sftp` writes):
        `kind`, the connection, then only what differs from the defaults; paths relative to `base_dir`."""
        always = {"host", "port", "user", "private_key", "known_hosts", "host_key", "outbox", "inbox"}
        lines = ['kind = "sftp"']
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or (item.name not in always and value == item.default):
                continue
            if isinstance(value, Path):
                value = str(value.relative_to(base_dir) if base_dir and value.is_relative_to(base_dir) else value)
            lines.append(f"{item.name} = {json.dumps(value, ensure_ascii=False)}")  # JSON scalars are TOML
        return lines

    def key_problems(self) -> list[str]:
        """What is wrong with the key files now (they are read again at every connect)."""
        problems = []
        try:
            load_private_key(self.private_key)
        except KeyProblem as exc:
            problems.append(str(exc))
        try:
            self.pinned_host_keys()
        except KeyProblem as exc:
            problems.append(str(exc))
        return problems

    def pinned_host_keys(self) -> paramiko.HostKeys:
        """The server's pinned keys, read from `known_hosts` and/or `host_key`."""
        parts: list[tuple[str, str]] = []
        if self.known_hosts is not None:
            try:
                parts.append((self.known_hosts.read_text(encoding="ascii"), str(self.known_hosts)))
            except (OSError, UnicodeDecodeError) as exc:
                raise KeyProblem(f"known_hosts {self.known_hosts}: cannot be read ({exc})") from None
        if self.host_key is not None:
            parts.append((self.host_key, "host_key"))
        text = "\n".join(part for part, _ in parts)
        source = " + ".join(name for _, name in parts) or "host keys"
        return parse_pinned_host_keys(text, self.host, self.port, source)


def _kind_name(kind: type | tuple[type, ...]) -> Phrase:
    names = {str: words("a string"), int: words("an integer"), float: words("a number"),
             (int, float): words("a number")}
    return names[kind]


class _RefuseUnknownHost(paramiko.RejectPolicy):
    """RejectPolicy that says which key was offered, so an operator can compare fingerprints."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise HostKeyRefused(
            f"{hostname} offered an unknown {key.get_name()} host key {fingerprint(key)}; refused "
            "(pin it in the city's config only after checking it with the server's operator)"
        )


@dataclass(slots=True)
class _Seen:
    """A file's size and mtime as last listed, and on how many scans in a row they were unchanged."""

    size: int
    mtime: float
    polls: int = 1


class SftpTransport:
    """The Transport for one city's SFTP drop; one instance per city, used by that city's worker."""

    def __init__(
        self,
        city: str,
        settings: SftpSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.city = city
        self.settings = settings
        self.poll_interval = settings.poll_interval
        self._clock = clock
        self._jitter = jitter
        self._lock = threading.RLock()
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._last_error: TransportError | None = None
        self._seen: dict[str, _Seen] = {}
        self._read_size = self._write_size = BASE_REQUEST
        self.connects = 0  # sessions opened so far (for status and tests)

    # -- the Transport interface ----------------------------------------------------------------------------

    def scan(self) -> Scan:
        with self._lock:
            entries = self._call("list the outbox", lambda sftp: sftp.listdir_attr(self.settings.outbox))
            return self._classify(entries)

    def download(self, item: DropFile, dest: BinaryIO) -> int:
        with self._lock:
            return self._call(f"download {item.name}", lambda sftp: self._download(sftp, item, dest))

    def remove(self, item: DropFile) -> None:
        with self._lock:
            self._call(f"remove {item.name}", lambda sftp: self._remove(sftp, item))
            self._seen.pop(item.name, None)

    def deliver(self, name: str, src: BinaryIO) -> None:
        safe_name(name)  # a plain final name, never a path (ValueError): same rule as the local drop
        with self._lock:
            self._call(f"deliver {name}", lambda sftp: self._deliver(sftp, name, src))

    def close(self) -> None:
        with self._lock:
            self._disconnect()
            self._failures = 0
            self._retry_at = 0.0

    def watch(self, wake: Callable[[], None]) -> bool:
        """SFTP tells nothing of changes: the daemon looks every `poll_interval`."""
        return False

    def clean_temporaries(self) -> int:
        """Remove our own half-written deliveries (`.NAME.part` in the inbox) left by a cut or a crash.

        Called by the daemon at start; if the server is unreachable now nothing is removed (a retry of the same
        name overwrites its temporary file anyway)."""
        with self._lock:
            try:
                names = self._call("list the inbox", lambda sftp: sftp.listdir(self.settings.inbox))
                stale = [n for n in names if n.startswith(".") and n.endswith(".part")]
                for name in stale:
                    path = posixpath.join(self.settings.inbox, name)
                    self._call(f"remove {name}", lambda sftp, p=path: sftp.remove(p))
            except TransportError:
                return 0
            return len(stale)

    def check_connection(self) -> ConnectionReport:
        """Connect now (ignoring backoff), then list outbox and inbox and prove the inbox is writable."""
        problems: list[str] = []
        details: list[str] = []
        with self._lock:
            self._retry_at = 0.0
            try:
                self._session()
            except TransportError as exc:
                return ConnectionReport(self.city, False, [str(exc)], details)
            details.append(f"connected to {self._server_name()}")
            for role in ("outbox", "inbox"):
                path = getattr(self.settings, role)
                try:
                    found = self._call(f"list the {role}", lambda s, p=path: self._folder_made(s, p))
                    details.append(f"{role} {path}: {found}")
                except TransportError as exc:
                    problems.append(str(exc))
            probe = posixpath.join(self.settings.inbox, f".ltcgw-probe-{secrets.token_hex(4)}.part")
            try:
                self._call("write a probe file in the inbox", lambda s: self._write_probe(s, probe))
                details.append(f"inbox {self.settings.inbox}: writable")
            except TransportError as exc:
                problems.append(str(exc))
        return ConnectionReport(self.city, not problems, problems, details)

    def _folder_made(self, sftp: paramiko.SFTPClient, path: str) -> str:
        """List a drop folder, creating it (and its missing parents) first when the account may: what a new
        workspace needs (`ltcgw init` then `config check --connect`); else say whom to ask."""
        try:
            return f"{len(sftp.listdir(path))} entries"
        except FileNotFoundError:
            pass
        missing, current = [], path.rstrip("/")
        while current not in ("", ".", "/"):
            try:
                sftp.stat(current)
                break
            except FileNotFoundError:
                missing.append(current)
                current = posixpath.dirname(current)
        for folder in reversed(missing):
            try:
                sftp.mkdir(folder)
            except PermissionError:
                raise TransportError(
                    f"{self.city}: {path} does not exist and {self.settings.user} may not create {folder}: ask the "
                    f"server's operator to create it, readable and writable by {self.settings.user} (and by the "
                    "city's system)") from None
        return "created (it did not exist)"

    # -- the session ------------------------------------------------------------------------------------------

    def _call(self, what: str, operation: Callable[[paramiko.SFTPClient], Any]) -> Any:
        """Run one operation on the session, turning every failure into TransportError with the city and
        what was being done; a broken session is dropped so the next call reconnects."""
        sftp = self._session()
        try:
            return operation(sftp)
        except TransportError:
            raise
        except (OSError, EOFError, paramiko.SSHException) as exc:
            if self._session_broken(exc):
                self._disconnect()
                raise TransportError(f"{self.city}: {what}: connection lost ({_describe(exc)})") from exc
            raise TransportError(f"{self.city}: {what}: {_describe(exc)}") from exc

    def _session_broken(self, exc: BaseException) -> bool:
        # SFTP status errors (no such file, permission denied, failure) leave the session usable; a timeout
        # leaves replies in flight, so that session is dropped like a lost one.
        return isinstance(exc, (EOFError, socket.timeout, paramiko.SSHException)) or not self._alive()

    def _alive(self) -> bool:
        transport = self._client.get_transport() if self._client else None
        return transport is not None and transport.is_active()

    def _session(self) -> paramiko.SFTPClient:
        if self._sftp is not None:
            if self._alive():
                return self._sftp
            self._disconnect()
        now = self._clock()
        if now < self._retry_at and self._last_error is not None:
            error = self._last_error
            raise type(error)(f"{error} (next attempt in {self._retry_at - now:.0f} s)")
        try:
            self._sftp = self._connect()
        except TransportError as exc:
            self._failures += 1
            delay = min(self.settings.backoff_max, self.settings.backoff_initial * 2 ** (self._failures - 1))
            # Jitter spreads the reconnects of many cities after a shared outage (half to full delay).
            self._retry_at = self._clock() + delay * (0.5 + 0.5 * self._jitter())
            self._last_error = exc
            raise
        self._failures = 0
        self._retry_at = 0.0
        self._last_error = None
        self.connects += 1
        return self._sftp

    def _connect(self) -> paramiko.SFTPClient:
        settings = self.settings
        try:
            pinned = settings.pinned_host_keys()
        except KeyProblem as exc:  # nothing trustworthy to compare the server's key with
            raise HostKeyRefused(f"{self.city}: {exc}; refused") from None
        try:
            key = load_private_key(settings.private_key)
        except KeyProblem as exc:
            raise TransportError(f"{self.city}: {exc}") from None
        client = paramiko.SSHClient()
        for hostname, keys in pinned.items():
            for key_type, host_key in keys.items():
                client.get_host_keys().add(hostname, key_type, host_key)
        client.set_missing_host_key_policy(_RefuseUnknownHost())
        server = self._server_name()
        try:
            client.connect(
                settings.host,
                port=settings.port,
                username=settings.user,
                pkey=key,
                look_for_keys=False,
                allow_agent=False,
                timeout=settings.connect_timeout,
                banner_timeout=settings.connect_timeout,
                auth_timeout=settings.connect_timeout,
                channel_timeout=settings.connect_timeout,
                transport_factory=_transport_preferring_gcm,
            )
            transport = client.get_transport()
            assert transport is not None
            transport.set_keepalive(30)  # notices a silently dead peer (NAT, firewall) between polls
            sftp = paramiko.SFTPClient.from_transport(
                transport, window_size=settings.window_size, max_packet_size=settings.max_packet_size
            )
            if sftp is None:
                raise paramiko.SSHException("the server refused the SFTP subsystem")
            sftp.get_channel().settimeout(settings.io_timeout)
            self._read_size, self._write_size = _request_sizes(sftp)
        except HostKeyRefused as exc:
            client.close()
            raise HostKeyRefused(f"{self.city}: {exc}") from None
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyRefused(
                f"{self.city}: {server} offered {exc.key.get_name()} host key {fingerprint(exc.key)}, "
                f"but {fingerprint(exc.expected_key)} is pinned; refused (changed key or another server)"
            ) from None
        except paramiko.AuthenticationException as exc:
            client.close()
            raise TransportError(
                f"{self.city}: {server} did not let user {settings.user} in with the key {settings.private_key}"
                f" ({exc})"
            ) from None
        except (OSError, EOFError, paramiko.SSHException) as exc:
            client.close()
            raise TransportError(f"{self.city}: cannot connect to {server}: {_describe(exc)}") from None
        self._client = client
        return sftp

    def _disconnect(self) -> None:
        sftp, client = self._sftp, self._client
        self._sftp = self._client = None
        for closable in (sftp, client):
            if closable is not None:
                try:
                    closable.close()
                except Exception:  # noqa: BLE001 - closing a dead session may fail in many ways
                    pass

    def _server_name(self) -> str:
        return f"{self.settings.user}@{self.settings.host}:{self.settings.port}"

    # -- the operations ---------------------------------------------------------------------------------------

    def _classify(self, entries: list[paramiko.SFTPAttributes]) -> Scan:
        marker = self.settings.done_marker
        names = {entry.filename for entry in entries}
        ready: list[DropFile] = []
        refused: list[Refusal] = []
        waiting = 0
        seen: dict[str, _Seen] = {}
        for entry in sorted(entries, key=lambda e: e.filename):
            name = entry.filename
            if is_temporary_name(name) or (marker and name.endswith(marker)):
                continue
            mode = entry.st_mode or 0
            if not stat.S_ISREG(mode):
                refused.append(Refusal(name, f"{kind_of(mode)}: only regular files are taken, links never followed"))
                continue
            size, mtime = entry.st_size or 0, float(entry.st_mtime or 0)
            if marker:
                if name + marker in names:
                    ready.append(DropFile(name, size, mtime))
                else:
                    waiting += 1
                continue
            before = self._seen.get(name)
            now = _Seen(size, mtime)
            if before is not None and (before.size, before.mtime) == (size, mtime):
                now.polls = before.polls + 1
            seen[name] = now
            if now.polls >= self.settings.stable_polls:
                ready.append(DropFile(name, size, mtime))
            else:
                waiting += 1
        self._seen = seen  # forget files that went away
        return Scan(ready, refused, waiting)

    def _download(self, sftp: paramiko.SFTPClient, item: DropFile, dest: BinaryIO) -> int:
        path = posixpath.join(self.settings.outbox, item.name)
        if not stat.S_ISREG(sftp.lstat(path).st_mode or 0):
            raise TransportError(f"{self.city}: {item.name} is no longer a regular file; not taken")
        with sftp.open(path, "rb") as remote:
            remote.MAX_REQUEST_SIZE = self._read_size  # paramiko reads it per instance
            size = remote.stat().st_size
            if size != item.size:
                self._seen.pop(item.name, None)  # it changed: it must be stable again before it is taken
                raise TransportError(f"{self.city}: {item.name} changed since listed ({item.size} -> {size} bytes)")
            remote.prefetch(size)  # no max_concurrent_requests: a small limit is 30x slower (MEASURED.md)
            copied = 0
            # Reads of exactly one request: larger reads make paramiko join buffers (1.5x slower measured).
            while chunk := remote.read(self._read_size):
                dest.write(chunk)
                copied += len(chunk)
        if copied != item.size:
            raise TransportError(f"{self.city}: {item.name}: got {copied} of {item.size} bytes")
        return copied

    def _remove(self, sftp: paramiko.SFTPClient, item: DropFile) -> None:
        path = posixpath.join(self.settings.outbox, item.name)
        paths = [path] + ([path + self.settings.done_marker] if self.settings.done_marker else [])
        for target in paths:  # the file first: a marker left alone never makes anything ready
            try:
                sftp.remove(target)
            except FileNotFoundError:
                pass  # already gone (a retry after a crash): removing is idempotent

    def _deliver(self, sftp: paramiko.SFTPClient, name: str, src: BinaryIO) -> None:
        final = posixpath.join(self.settings.inbox, name)
        temporary = posixpath.join(self.settings.inbox, f".{name}.part")
        try:
            written = self._upload(sftp, temporary, src)
            size = sftp.stat(temporary).st_size
            if size != written:
                raise TransportError(f"{self.city}: {name}: server holds {size} of {written} bytes")
            _replace(sftp, temporary, final)
        except BaseException:
            self._discard(sftp, temporary)
            raise

    def _upload(self, sftp: paramiko.SFTPClient, path: str, src: BinaryIO) -> int:
        written = 0
        with sftp.open(path, "wb") as remote:
            remote.MAX_REQUEST_SIZE = self._write_size
            remote.set_pipelined(True)  # don't wait for each write's reply (1 MB/s -> 100+ MB/s measured)
            while chunk := src.read(self._write_size):
                remote.write(chunk)
                written += len(chunk)
            remote.flush()  # send the tail before close(), which only waits for replies already sent
            _sync(sftp, remote)
        return written

    def _discard(self, sftp: paramiko.SFTPClient, path: str) -> None:
        """Remove a failed upload's temporary file when the session still allows it (else it stays hidden)."""
        try:
            if self._sftp is sftp and self._alive():
                sftp.remove(path)
        except Exception:  # noqa: BLE001 - best effort; the temporary name is never taken by anyone
            pass

    def _write_probe(self, sftp: paramiko.SFTPClient, path: str) -> None:
        with sftp.open(path, "wb") as remote:
            remote.write(b"ltcgw probe\n")
        sftp.remove(path)


def _transport_preferring_gcm(sock: socket.socket, **kwargs: Any) -> paramiko.Transport:
    transport = paramiko.Transport(sock, **kwargs)
    options = transport.get_security_options()
    others = tuple(c for c in options.ciphers if c not in PREFERRED_CIPHERS)
    options.ciphers = tuple(c for c in PREFERRED_CIPHERS if c in options.ciphers) + others
    return transport


def _request_sizes(sftp: paramiko.SFTPClient) -> tuple[int, int]:
    """Read and write request sizes the server accepts (limits@openssh.com), capped at MAX_REQUEST.

    paramiko has no call for this extension, hence the raw request; without it, 32 KB (always allowed).
    """
    try:
        kind, reply = sftp._request(CMD_EXTENDED, "limits@openssh.com")  # noqa: SLF001
    except OSError:
        return BASE_REQUEST, BASE_REQUEST
    if kind != CMD_EXTENDED_REPLY or reply is None:
        return BASE_REQUEST, BASE_REQUEST
    reply.get_int64()  # max packet length
    read, write = reply.get_int64(), reply.get_int64()

    def usable(limit: int) -> int:  # 0 means "no limit stated"
        return min(MAX_REQUEST, limit) if limit >= BASE_REQUEST else (MAX_REQUEST if limit == 0 else BASE_REQUEST)

    return usable(read), usable(write)


def _replace(sftp: paramiko.SFTPClient, temporary: str, final: str) -> None:
    """Rename over any old file atomically (posix-rename@openssh.com). A server without it (unsupported, or
    denied by its sftp-server -P) gets remove + rename, which still never shows a partial file under the final
    name; if the folder really is not writable, that fails the same way and is reported."""
    try:
        sftp.posix_rename(temporary, final)
        return
    except FileNotFoundError:
        raise
    except OSError:
        pass
    try:
        sftp.remove(final)
    except FileNotFoundError:
        pass
    sftp.rename(temporary, final)


def _sync(sftp: paramiko.SFTPClient, remote: paramiko.SFTPFile) -> None:
    """Ask the server to fsync the file (fsync@openssh.com) so a rename never publishes unwritten data.

    Best effort: paramiko has no call for this extension, hence the raw request, and servers without it (or
    denying it) answer with an error that does not make the upload wrong: every write was acknowledged and the
    size is checked before the rename.
    """
    try:
        sftp._request(CMD_EXTENDED, "fsync@openssh.com", remote.handle)  # noqa: SLF001
    except OSError:
        pass


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.EACCES:
        return f"permission denied ({exc.strerror or exc})"
    if isinstance(exc, FileNotFoundError):
        return f"no such file or folder ({exc.strerror or exc})"
    if isinstance(exc, socket.timeout):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, OSError) else f"{type(exc).__name__}: {text}"
