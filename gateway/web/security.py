"""The console's guards that are not the login: allowed Host names (DNS rebinding) and response headers.

Logins, roles and sessions are gateway/web/accounts.py and app.py; CSRF is a per-session token every form
carries (and SameSite=Strict keeps the session cookie off other sites' requests in the first place).
"""

from __future__ import annotations

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
