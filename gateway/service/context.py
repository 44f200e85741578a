"""Everything a use case needs, in one object that bootstrap builds and tests assemble from fakes."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from adapters.ledger import Ledger
from adapters.spool import Spool
from adapters.transport import Transport
from gateway.domain.lifecycle import RetryPolicy
from gateway.service.ports import Checker, Clock, Replies


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def default_instance() -> str:
    """host:pid: unique among live processes, and tells an operator where to look."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Gateway:
    ledger: Ledger
    spool: Spool
    checker: Checker
    replies: Replies
    transports: Mapping[str, Transport]  # by city code
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = utc_now
    max_message_bytes: int = 16 * 1024 * 1024
    refusals_seen: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # city -> (name, reason) reported
    instance: str = field(default_factory=lambda: default_instance())  # this process among several on one ledger
    lease_seconds: float = 30.0  # how long work held by a silent instance waits before another takes it
    a5_pairs: frozenset[tuple[str, str]] | None = None  # (residence, insured) an A5 goes to; None: every pair

    @property
    def cities(self) -> frozenset[str]:
        return frozenset(self.transports)
