"""The console's accounts: one line per person, `name:role:bcrypt-hash`, in a file the administrator manages
with `ltcgw user add|passwd|remove|list` and that only its owner may read (as the keys' files).

Why bcrypt: it is already installed (paramiko needs it), long maintained, and slow by design; cost 12 takes a
quarter of a second a login, nothing for a few operators and a lot for someone guessing. Why a line file and
not the ledger: the administrator of the host owns who may log in, with the same tools as the keys (a file,
its mode, a backup), and the console reads it again when it changes, so no restart is needed.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import bcrypt

COST = 12
MIN_PASSWORD = 10
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further: a longer one is refused rather than cut silently
_NAME = re.compile(r"^[a-z][a-z0-9._-]{0,31}$")


class Role(str, Enum):
    """What a person may do: a viewer reads the pages; an operator also resends and downloads originals (they
    hold personal data) and reads the audit log; an administrator also sees the accounts."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMINISTRATOR = "administrator"

    def may(self, needed: "Role") -> bool:
        order = [Role.VIEWER, Role.OPERATOR, Role.ADMINISTRATOR]
        return order.index(self) >= order.index(needed)


class AccountsError(Exception):
    """The accounts file or a request about it is not acceptable (said in words an administrator can act on)."""


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: Role
    password_hash: str

    @property
    def fingerprint(self) -> str:
        """Changes when the password does: a session made before a `passwd` no longer counts. A digest of the
        hash, so the cookie (signed, not encrypted) shows nothing of the hash itself."""
        return hashlib.sha256(self.password_hash.encode("ascii")).hexdigest()[:16]


def is_name(name: str) -> bool:
    return bool(_NAME.match(name))


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise AccountsError(f"{name!r}: a user name is 1-32 lower-case letters, digits, '.', '_' or '-', "
                            "starting with a letter")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountsError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise AccountsError(f"a password may have at most {MAX_PASSWORD_BYTES} bytes (bcrypt reads no further)")
    return password


def hash_password(password: str, cost: int = COST) -> str:
    return bcrypt.hashpw(check_password(password).encode("utf-8"), bcrypt.gensalt(cost)).decode("ascii")


# Checked against when the name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY = bcrypt.hashpw(b"no such account, no such password", bcrypt.gensalt(COST))


def verify(account: Account | None, password: str) -> bool:
    given = password.encode("utf-8")[:MAX_PASSWORD_BYTES]
    if account is None:
        bcrypt.checkpw(given, _DUMMY)
        return False
    try:
        return bcrypt.checkpw(given, account.password_hash.encode("ascii"))
    except ValueError:  # a hash mangled by hand
        return False


def file_problem(path: Path) -> str | None:
    """Why the file may not be used (readable by group or others), or None."""
    if path.stat().st_mode & 0o077:
        return f"{path} is readable by group or others: chmod 600 it"
    return None


def read_accounts(path: Path) -> dict[str, Account]:
    """Every account in the file (missing file: none). AccountsError on a bad mode or a malformed line."""
    try:
        problem = file_problem(path)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise AccountsError(f"cannot read the accounts file {path}: {exc.strerror}") from None
    if problem:
        raise AccountsError(problem)
    accounts: dict[str, Account] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, rest = line.strip().partition(":")
        role, _, password_hash = rest.partition(":")
        if not (_NAME.match(name) and role in {r.value for r in Role} and password_hash.startswith("$2")):
            raise AccountsError(f"{path}:{number}: not `name:role:bcrypt-hash` (manage it with `ltcgw user`)")
        accounts[name] = Account(name, Role(role), password_hash)
    return accounts


def write_accounts(path: Path, accounts: dict[str, Account]) -> None:
    """Replace the file whole (a crash leaves the old one), mode 600 from the start."""
    lines = ["# ltc-gateway console accounts: name:role:bcrypt-hash. Managed by `ltcgw user`; keep it chmod 600."]
    lines += [f"{a.name}:{a.role.value}:{a.password_hash}" for a in sorted(accounts.values(), key=lambda a: a.name)]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".accounts-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class AccountsFile:
    """The accounts as the console reads them: read again whenever the file changes (a user removed or a
    password changed counts at the next request, without a restart)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._seen: tuple[float, int, int] | None = None
        self._accounts: dict[str, Account] = {}

    def get(self, name: str) -> Account | None:
        return self.current().get(name)

    def current(self) -> dict[str, Account]:
        if self.path is None:
            return {}
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._seen, self._accounts = None, {}
            return {}
        seen = (stat.st_mtime, stat.st_size, stat.st_mode)
        if seen != self._seen:
            self._accounts = read_accounts(self.path)  # AccountsError: nobody logs in until it is fixed
            self._seen = seen
        return self._accounts
