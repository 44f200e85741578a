"""A person's reference computed as an operator would by hand (independently of the gateway's code): the
HMAC-SHA256 of the ID number (trimmed, upper case) under a key, as hex."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path


def person_hash(key: bytes, id_number: str) -> str:
    return hmac.new(key, id_number.strip().upper().encode("ascii"), hashlib.sha256).hexdigest()


def register_key(root: Path) -> bytes:
    """The current key of a workspace's keys/register.keys (`ID HEX`, the last line current)."""
    lines = [line for line in (root / "keys" / "register.keys").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    return bytes.fromhex(lines[-1].split()[1])
