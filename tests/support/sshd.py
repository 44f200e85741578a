"""A real OpenSSH `sshd` for tests and benchmarks: 127.0.0.1, a free port, a throwaway host key, internal-sftp.

Run as root (CI), every city gets its own Unix account (created here, deleted on stop) whose drop is its home
folder, so file permissions apply as on a city's server. Run as another user, sshd can only serve that user
(StrictModes off): every city then shares it, each with its own folder. Either way the remote paths of a city
are absolute (`account.outbox`, `account.inbox`) and the test reads and writes the same folders locally.

The server can be stopped and started again on the same port with the same host key, its sessions can be cut
(the per-connection sshd processes killed), and its host key can be replaced: the faults the tests inject.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.waiting import wait_for

SSHD = "/usr/sbin/sshd"
IS_ROOT = os.geteuid() == 0


@dataclass(frozen=True)
class Account:
    """One city's login on the server and its drop, seen both ways."""

    city: str
    user: str
    key: Path  # the client's private key (chmod 600)
    home: Path  # local path of the account's folder
    outbox_dir: Path  # local paths: where the city's system puts and finds files
    inbox_dir: Path

    @property
    def outbox(self) -> str:  # remote paths, as the SFTP client names them
        return str(self.outbox_dir)

    @property
    def inbox(self) -> str:
        return str(self.inbox_dir)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def keygen(path: Path, kind: str = "ed25519") -> Path:
    """An unencrypted key pair at `path` / `path.pub` (private part chmod 600 by ssh-keygen)."""
    path.unlink(missing_ok=True)
    Path(f"{path}.pub").unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "ltcgw-test", "-f", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return path


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting for its parent."""
    try:
        with open(f"/proc/{pid}/stat") as info:
            return info.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


class SshdServer:
    """One sshd; `add_account()` per city, then `start()`; `stop()` (or use as a context manager) cleans up."""

    def __init__(self, workdir: Path | None = None, port: int | None = None, deny: str = "") -> None:
        """`deny`: SFTP requests the server refuses (internal-sftp -P, e.g. "posix-rename,fsync,limits"),
        to play a server without OpenSSH's extensions."""
        # Under a fresh 0755 folder (not pytest's 0700 tmp) so the per-city accounts can reach their homes.
        self.base = Path(tempfile.mkdtemp(prefix="ltcgw-sshd-", dir=workdir))
        self.base.chmod(0o755)
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.host_key = keygen(self.base / "ssh_host_ed25519_key")
        self.client_key = keygen(self.base / "client_ed25519_key")
        (self.base / "authorized").mkdir(mode=0o755)
        self.log = self.base / "sshd.log"
        self.accounts: dict[str, Account] = {}
        self._users: list[str] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._tag = secrets.token_hex(3)
        self._sftp_options = "-u 0022" + (f" -P {deny}" if deny else "")

    # -- accounts ------------------------------------------------------------------------------------------

    def add_account(self, city: str, own_user: bool = IS_ROOT) -> Account:
        """A city's account and drop (`outbox/`, `inbox/`); its own Unix user when root and `own_user`."""
        home = self.base / "drops" / city
        (home / "outbox").mkdir(parents=True)
        (home / "inbox").mkdir()
        user = pwd.getpwuid(os.geteuid()).pw_name
        if own_user:
            user = f"ltct{self._tag}{city}"[:32]
            subprocess.run(
                ["useradd", "-M", "-d", str(home), "-s", "/usr/sbin/nologin", "-p", "*", user], check=True
            )
            self._users.append(user)
            entry = pwd.getpwnam(user)
            for folder in (home, home / "outbox", home / "inbox"):
                os.chown(folder, entry.pw_uid, entry.pw_gid)
        home.parent.chmod(0o755)
        self._authorize(user)
        account = Account(city, user, self.client_key, home, home / "outbox", home / "inbox")
        self.accounts[city] = account
        return account

    def _authorize(self, user: str) -> None:
        keys = self.base / "authorized" / user
        if not keys.exists():
            keys.write_text(Path(f"{self.client_key}.pub").read_text())
            keys.chmod(0o644)

    def known_hosts_line(self) -> str:
        """The server's host key as a known_hosts line, pinned under `[127.0.0.1]:port`."""
        return f"[{self.host}]:{self.port} " + Path(f"{self.host_key}.pub").read_text().strip()

    def pin_file(self, name: str = "known_hosts") -> Path:
        path = self.base / name
        path.write_text(self.known_hosts_line() + "\n")
        return path

    def replace_host_key(self, kind: str = "ed25519") -> None:
        """A new host key (as if the server were replaced); takes effect at the next start()."""
        keygen(self.host_key, kind)

    # -- process -------------------------------------------------------------------------------------------

    def _write_config(self) -> Path:
        config = self.base / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    f"ListenAddress {self.host}",
                    f"HostKey {self.host_key}",
                    "PidFile none",
                    f"AuthorizedKeysFile {self.base}/authorized/%u",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "StrictModes no",
                    "UsePAM no",
                    "UseDNS no",
                    "AllowTcpForwarding no",
                    "X11Forwarding no",
                    "MaxStartups 400:30:1000",
                    "MaxSessions 20",
                    "LogLevel INFO",
                    "Subsystem sftp internal-sftp",
                    f"ForceCommand internal-sftp {self._sftp_options}",
                    "",
                ]
            )
        )
        return config

    def start(self, timeout: float = 10.0) -> None:
        if self._process is not None:
            raise RuntimeError("sshd is already running")
        if IS_ROOT:
            Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege-separation folder
        config = self._write_config()
        log = self.log.open("ab")
        self._process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        try:
            wait_for(self._greeting, until=lambda greeting: greeting.startswith(b"SSH-"), seconds=timeout,
                     retry_on=OSError, what=f"sshd's greeting on port {self.port}")
        except AssertionError:
            self.stop()
            raise

    def _greeting(self) -> bytes:
        """The first bytes the listener sends (OSError: not listening yet); an sshd that died says why."""
        if self._process.poll() is not None:
            self._process = None
            raise RuntimeError(f"sshd exited at start: {self.log.read_text()[-2000:]}")
        with socket.create_connection((self.host, self.port), timeout=0.5) as probe:
            return probe.recv(4)

    def session_pids(self) -> list[int]:
        """Every process serving a client now: the listener's children (one monitor per connection) and their
        descendants (the user's unprivileged sshd holding the socket, and internal-sftp)."""
        if self._process is None:
            return []
        found: list[int] = []
        parents = [self._process.pid]
        while parents:
            children = subprocess.run(
                ["pgrep", "-P", ",".join(map(str, parents))], capture_output=True, text=True, check=False
            )
            parents = [int(pid) for pid in children.stdout.split()]
            found += parents
        return found

    def signal_sessions(self, signum: int) -> int:
        """Send `signum` to every session's processes (SIGSTOP: a hung server; SIGCONT: it wakes up)."""
        pids = self.session_pids()
        for pid in pids:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass
        return len(pids)

    def cut_sessions(self) -> int:
        """Kill every session's sshd process (what a network cut or a server crash does to a client)."""
        pids = self.session_pids()
        self.signal_sessions(signal.SIGKILL)
        wait_for(lambda: [pid for pid in pids if _alive(pid)], until=lambda alive: not alive, seconds=5, every=0.01,
                 what="the killed sessions' processes gone (still alive)")
        return len(pids)

    def stop(self) -> None:
        """Stop the listener and cut its sessions; start() again serves the same port and host key."""
        if self._process is None:
            return
        self.cut_sessions()
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def cleanup(self) -> None:
        self.stop()
        for user in self._users:
            # userdel refuses while a process of the user is still exiting: try for a few seconds.
            deadline = time.monotonic() + 5
            while subprocess.run(["userdel", user], capture_output=True, check=False).returncode not in (0, 6):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        self._users.clear()
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> SshdServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


@contextmanager
def serving(*cities: str) -> Iterator[SshdServer]:
    """A started server with one account per city, cleaned up afterwards (a fixture's body)."""
    sshd = SshdServer()
    for city in cities:
        sshd.add_account(city)
    sshd.start()
    try:
        yield sshd
    finally:
        sshd.cleanup()
