"""What the use cases need from the outside, as small protocols: bootstrap wires the real ones, tests fakes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from gateway.domain.envelope import Header
from gateway.domain.findings import Finding

Clock = Callable[[], datetime]


class CheckOutcome(Protocol):
    """gateway.documents.check.CheckResult, as far as the service reads it."""

    valid: bool
    header: Header | None
    header_trusted: bool
    findings: Sequence[Finding]
    sha256: str
    size: int
    document: Any


class Checker(Protocol):
    def check_many(self, items: Sequence[bytes], now: datetime) -> Iterable[CheckOutcome]:
        """Check each file (in process or in a pool): pure, CPU-bound. Outcomes in the order of `items`,
        possibly as they complete (a pool's), so that the first can be decided while the others are checked."""

    def close(self) -> None: ...


class Checked(NamedTuple):
    """A pool's answer: the outcome, and the ACK it owes signed in the worker (None: none owed)."""

    outcome: CheckOutcome
    ack: bytes | None


class PooledChecker(Checker, Protocol):
    """A checker with a process pool (workers > 1): checks submitted one by one, each decided as it ends."""

    workers: int

    def submit(self, data: bytes, now: datetime) -> Future[Checked]: ...


class Replies(Protocol):
    """The gateway's signed answers and the canonical names of files in a city's inbox."""

    def ack(self, answered: Header, sha256: str, now: datetime) -> bytes: ...

    def nack(self, drop_city: str, answered: Header | None, sha256: str, findings: Sequence[Finding], now: datetime) -> bytes: ...

    def receipt_accepts(self, outcome: CheckOutcome) -> bool:
        """Whether a valid RECEIPT takes the message (True) or declines it (False)."""

    def file_name(self, header: Header) -> str:
        """The canonical name of a message in a city's inbox."""
