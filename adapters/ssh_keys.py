"""SSH keys the gateway trusts or holds: its own private key (safe permissions only) and each server's pinned
host keys (an unknown or changed server key is refused, never learnt).

Kept apart from the SFTP transport so the config check can validate keys without opening a connection.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import stat
from pathlib import Path

import paramiko
from paramiko.hostkeys import HostKeyEntry, InvalidHostKey

# Bare public-key lines (an ssh_host_*_key.pub file) start with the key type; known_hosts lines with names.
_KEY_TYPE_PREFIXES = ("ssh-", "ecdsa-sha2-", "sk-")


class KeyProblem(ValueError):
    """A key file that must not be used: the message says which file and what to do (never the key)."""


def host_key_name(host: str, port: int) -> str:
    """The name a server's keys are pinned under, as OpenSSH writes it: `[host]:port`, or plain host on 22."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint, the form operators compare against `ssh-keygen -lf`."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def load_private_key(path: Path) -> paramiko.PKey:
    """Read the gateway's private key, refusing a file that is not regular or that others could read or write.

    The file is opened once and checked through that descriptor, so what is checked is what is read.
    """
    try:  # O_NONBLOCK: opening a FIFO planted in the key's place must not hang the gateway
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as exc:
        raise KeyProblem(f"private key {path}: cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyProblem(f"private key {path}: not a regular file")
        if info.st_mode & 0o077:
            raise KeyProblem(
                f"private key {path}: mode {stat.S_IMODE(info.st_mode):04o} lets group or others read or "
                "write it; refused (chmod 600 it)"
            )
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read()
    finally:
        os.close(fd)
    return _parse_private_key(path, data)


def write_private_key(path: Path, comment: str = "ltcgw") -> str:
    """Create a new Ed25519 key for the gateway at `path` (mode 600 from the start, never overwriting) and
    return its public line, for the city's server operator (`ltcgw init --transport sftp`)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    line = f"{public.decode()} {comment}"
    Path(f"{path}.pub").write_text(line + "\n", encoding="ascii")
    return line


def _parse_private_key(path: Path, data: bytes) -> paramiko.PKey:
    text = data.decode("ascii", errors="replace")
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(text))
        except paramiko.PasswordRequiredException:
            raise KeyProblem(
                f"private key {path}: protected by a passphrase; the gateway needs an unencrypted key "
                "kept chmod 600"
            ) from None
        except (paramiko.SSHException, ValueError):
            continue  # another key type: try the next class
    raise KeyProblem(f"private key {path}: not an Ed25519, ECDSA or RSA private key in OpenSSH or PEM form")


def parse_pinned_host_keys(text: str, host: str, port: int, source: str) -> paramiko.HostKeys:
    """Pinned keys for one server, from known_hosts lines or bare public-key lines (a `*.pub` file).

    Bare keys are pinned under `[host]:port`; known_hosts lines keep their own names, and at least one of
    them must name this server (hashed names count). Markers (@cert-authority, @revoked) are refused rather
    than half-understood.
    """
    name = host_key_name(host, port)
    keys = paramiko.HostKeys()
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            problems.append(f"{source} line {number}: markers such as @cert-authority are not supported")
            continue
        if line.startswith(_KEY_TYPE_PREFIXES):
            line = f"{name} {line}"
        try:
            entry = HostKeyEntry.from_line(line, lineno=number)
        except (InvalidHostKey, binascii.Error, ValueError, paramiko.SSHException):
            entry = None
        if entry is None or entry.key is None:
            problems.append(f"{source} line {number}: not a host key line this gateway understands")
            continue
        for hostname in entry.hostnames:
            keys.add(hostname, entry.key.get_name(), entry.key)
    if problems:
        raise KeyProblem("; ".join(problems))
    if keys.lookup(name) is None:
        raise KeyProblem(f"{source}: no host key pinned for {name}")
    return keys
