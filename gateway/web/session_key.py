"""The key that signs the console's session cookies, kept in a file (`[console] session_key_file`).

Why a file and not a fresh key per start: a key made at each start logged everyone out at every restart, and two
consoles behind one address (several instances on a PostgreSQL ledger) refused each other's sessions. Kept as
the other secrets are: made at the first start (or by `ltcgw init`) with mode 0600 from its creation, refused
when the group or others may read it. Deleting the file (a new one is made at the next start) ends every
session: the way to log everyone out.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_BYTES = 32
MIN_KEY_BYTES = 32


class SessionKeyError(OSError):
    """The session key's file cannot be used (said so an administrator can act on it). An OSError: the daemon
    then goes on without its console, as when the console's port is taken."""


def session_key(path: Path) -> bytes:
    """The key in `path`, made first if the file does not exist (two consoles starting together: one makes it,
    the other reads it)."""
    try:
        create_session_key(path)
    except FileExistsError:
        pass
    return read_session_key(path)


def create_session_key(path: Path) -> None:
    """A new random key in a new file, mode 0600 from the start; FileExistsError if there is one already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(KEY_BYTES) + "\n")
        out.flush()
        os.fsync(out.fileno())


def key_file_problem(path: Path) -> str | None:
    """Why an existing key file may not be used (readable by group or others), or None."""
    if path.stat().st_mode & 0o077:
        return f"{path} is readable by group or others: chmod 600 it"
    return None


def read_session_key(path: Path) -> bytes:
    try:
        problem = key_file_problem(path)
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SessionKeyError(f"cannot read the console's session key {path}: {getattr(exc, 'strerror', exc)}") from None
    if problem:
        raise SessionKeyError(problem)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < MIN_KEY_BYTES:
        raise SessionKeyError(f"{path}: not a session key ({MIN_KEY_BYTES} bytes or more as hex); delete it and a new "
                              "one is made at the next start (everyone logs in again)")
    return key
