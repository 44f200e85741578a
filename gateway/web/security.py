"""The console's guards: the operator token, CSRF tokens for forms, allowed Host names, response headers.

The token is the only thing that lets a request change state (resend) or take personal data out (the
original bytes). It is read from a file that only its owner can read, at each use (so it can be rotated
without a restart), and compared in constant time. Forms also carry a CSRF token: an HMAC, under a secret
made at start-up, of the action and the message; another site can neither read it (no framing, same-origin
policy) nor forge it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'none'; object-src 'none'; "
     "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),  # no-referrer would make browsers post `Origin: null`
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


class TokenFileError(Exception):
    """The token file is missing, empty or readable by others."""


def read_token(path: Path) -> str:
    """The operator token: the file's first line; refused when the group or others may read it."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TokenFileError(f"cannot read the console token file {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise TokenFileError(f"{path} is readable by group or others: chmod 600 it")
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if len(token) < 16:
        raise TokenFileError(f"{path}: the token must be at least 16 characters")
    return token


def token_matches(given: str, path: Path | None) -> bool:
    """Whether `given` is the operator token (False when no token file is configured or it is unusable)."""
    if path is None or not given:
        return False
    try:
        expected = read_token(path)
    except TokenFileError:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class CsrfTokens:
    """Per-form tokens bound to the action and its subject (a message digest), valid for this process's life."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def issue(self, action: str, subject: str) -> str:
        return hmac.new(self._secret, f"{action}\0{subject}".encode(), hashlib.sha256).hexdigest()

    def valid(self, token: str, action: str, subject: str) -> bool:
        return hmac.compare_digest(token.encode("ascii", "replace"), self.issue(action, subject).encode())


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """Host header values accepted: the bound address and, on loopback, localhost (guards DNS rebinding)."""
    names = {host}
    if host in ("127.0.0.1", "::1", "localhost"):
        names |= {"127.0.0.1", "localhost", "[::1]"}
    if host == "::1":
        names.add("[::1]")
    return frozenset(names | {f"{name}:{port}" for name in names})


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")
