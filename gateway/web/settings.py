"""`[console]` in gateway.toml, read by gateway/config.py and served by the console."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """`[console]`: the operators' web console (gateway/web). Off unless enabled; loopback; read-only unless a
    token file is given and `read_only = false` (the token also guards downloads of originals)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8470
    token_file: Path | None = None
    read_only: bool = True
