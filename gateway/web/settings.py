"""`[console]` in gateway.toml, read by gateway/config.py and served by the console."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gateway.web.throttle import LoginLimits


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """`[console]`: the operators' web console (gateway/web). Off unless enabled; loopback; every page behind a
    login from `users_file` (managed by `ltcgw user`); read-only unless `read_only = false` (then operators may
    resend). `language`: the pages' default, zh-CN or en (each session may switch). `session_key_file`: the key
    signing the session cookies (gateway/web/session_key.py; None: one per process, tests)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8470
    users_file: Path | None = None  # None: nobody can log in (gateway/config.py fills in console.users beside the config)
    read_only: bool = True
    language: str = "zh-CN"
    session_key_file: Path | None = None  # gateway/config.py fills in keys/console-session.key beside the config
    login_limits: LoginLimits = field(default_factory=LoginLimits)  # failed logins before a lock-out
