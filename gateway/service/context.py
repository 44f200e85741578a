"""Everything a use case needs, in one object that bootstrap builds and tests assemble from fakes."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from gateway.domain.lifecycle import RetryPolicy
from gateway.domain.register import RegisterSettings
from gateway.service.ports.checks import Checker, Clock, Replies
from gateway.service.ports.events import EventLog
from gateway.service.ports.ledger import EVERYTHING, Ledger, LedgerTx, Scope
from gateway.service.ports.spool import Spool
from gateway.service.ports.transport import Transport
from gateway.service.unit_of_work import CommittedEvents, unit_of_work


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
    log: EventLog  # the transfer log: events outside a unit of work go here directly
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = utc_now
    max_message_bytes: int = 128 * 1024 * 1024  # gateway.config.DEFAULT_MAX_MESSAGE_BYTES
    refusals_seen: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # city -> (name, reason) reported
    instance: str = field(default_factory=lambda: default_instance())  # this process among several on one ledger
    lease_seconds: float = 30.0  # how long work held by a silent instance waits before another takes it
    a5_pairs: frozenset[tuple[str, str]] | None = None  # (residence, insured) an A5 goes to; None: every pair
    register: RegisterSettings | None = None  # the register of entitlements and the checks across documents (issue 12)

    @property
    def cities(self) -> frozenset[str]:
        return frozenset(self.transports)

    def unit_of_work(self, scope: Scope = EVERYTHING) -> AbstractContextManager[tuple[LedgerTx, CommittedEvents]]:
        """One ledger transaction deciding about `scope` (gateway/service/scopes.py) and the events it
        publishes once committed."""
        return unit_of_work(self.ledger, self.log, scope)
