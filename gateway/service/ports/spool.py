"""The spool port: the gateway's own copy of every file it took and every reply it signed, by SHA-256.

Content addressing makes every write idempotent (the same bytes land under the same digest whatever the
restarts) and lets the ledger refer to bytes by their digest. Two areas: `inbox` (files taken from the cities'
drops; rejected ones stay there, which is the quarantine) and `outbox` (ACK/NACK bytes the gateway signed).
adapters/spool.py has a folder (one instance or a shared mount) and a database table (several instances).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import BinaryIO, Protocol


class TooLarge(Exception):
    """The source held more bytes than allowed; nothing was kept."""


class Spool(Protocol):
    def receive(self, fill: Callable[[BinaryIO], object], max_bytes: int | None = None) -> tuple[str, int]:
        """Let `fill` write the bytes of a taken file; keep them in `inbox` under their digest, durable before
        returning. Returns (sha256, size); TooLarge (and nothing kept) past `max_bytes`."""

    def store(self, area: str, data: bytes) -> str:
        """Keep `data` in `area` under its digest, durable on return. Returns the digest."""

    def read(self, area: str, sha256: str) -> bytes:
        """The bytes; FileNotFoundError when they are not (or no longer) kept."""

    def open(self, area: str, sha256: str) -> BinaryIO:
        """The bytes as a real file (its size readable through fileno()), for streaming a delivery."""

    def exists(self, area: str, sha256: str) -> bool: ...

    def purge(self, area: str, sha256: str, stored_before: datetime) -> bool:
        """Delete the bytes (retention) unless stored again after `stored_before`. True when deleted."""

    def clean_temporaries(self) -> int:
        """Remove temporaries a crash left (never recorded anywhere); how many."""
