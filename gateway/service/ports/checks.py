"""The checks port and the replies port: what decides a file (pure, CPU-bound) and what answers its sender."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from gateway.domain.envelope import Header
from gateway.domain.findings import Finding
from gateway.domain.notes import Note

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
    summary: Any  # the register's compact view (gateway/domain/register.py), when a pool worker dropped the model


class Checked(NamedTuple):
    """A check's answer: the outcome, and the ACK it owes when the checker signed it already (None: not signed
    here, or none owed)."""

    outcome: CheckOutcome
    ack: bytes | None


class Checker(Protocol):
    """Checks files, one flow whatever the number of workers (adapters/checker.py: in process, or a pool)."""

    workers: int  # checks that run at once (1: in the daemon's own process)

    def submit(self, data: bytes, now: datetime) -> Future[Checked]:
        """Check one file; the future ends with its outcome. In process it has ended on return."""

    def close(self) -> None: ...


class Replies(Protocol):
    """The gateway's signed answers and the canonical names of files in a city's inbox."""

    def ack(self, answered: Header, sha256: str, now: datetime, note: Note | None = None,
            warned: Sequence[Finding] = ()) -> bytes:
        """The signed ACK; its note (`note`, the findings `warned` of a delivery with warnings) said in the
        language of the city it goes to."""

    def nack(self, drop_city: str, answered: Header | None, sha256: str, findings: Sequence[Finding], now: datetime) -> bytes: ...

    def receipt_accepts(self, outcome: CheckOutcome) -> bool:
        """Whether a valid RECEIPT takes the message (True) or declines it (False)."""

    def file_name(self, header: Header) -> str:
        """The canonical name of a message in a city's inbox."""
