"""The transport port: what the gateway needs of a city drop (local folder, SFTP adapters implement it).

A drop has an outbox, where the city's system leaves files for the gateway, and an inbox, where the gateway
leaves files for the city. The gateway never reads a file before the transport calls it complete, and a city
never sees a file under its final name before it is whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol, runtime_checkable

# Names a well-behaved writer uses while a file is incomplete; never picked up.
TEMPORARY_SUFFIXES = (".part", ".tmp", ".filepart")


def is_temporary_name(name: str) -> bool:
    """Temporary or hidden names are still being written (or are ours): leave them alone."""
    return name.startswith(".") or name.endswith(TEMPORARY_SUFFIXES)


@dataclass(frozen=True, slots=True)
class DropFile:
    """A complete file waiting in a city's outbox."""

    name: str
    size: int
    mtime: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """Something in a city's outbox that will never be picked up (a link, a folder, a device...)."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Scan:
    ready: list[DropFile] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    waiting: int = 0  # files seen but not yet stable: picked up on a later scan


class TransportError(Exception):
    """The drop could not be reached or used now (down, timeout, permission): try again later."""


class HostKeyRefused(TransportError):
    """The server's host key is unknown or changed: never trusted, always alerted."""


@dataclass(frozen=True, slots=True)
class ConnectionReport:
    """What `ltcgw config check --connect` found for one city's drop."""

    city: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)


@runtime_checkable
class Transport(Protocol):
    city: str

    def scan(self) -> Scan:
        """Files in the outbox that are complete and stable, and what will never be taken."""

    def download(self, item: DropFile, dest: BinaryIO) -> int:
        """Copy the file's bytes into `dest`; returns the number of bytes copied."""

    def remove(self, item: DropFile) -> None:
        """Remove a picked-up file from the outbox (only once it is safe in the spool and the ledger)."""

    def deliver(self, name: str, src: BinaryIO) -> None:
        """Put `src` into the inbox as `name`: written under a temporary name, then renamed over any old one."""

    def close(self) -> None:
        """Release connections; the transport may be used again afterwards (it reconnects)."""

    # Declared by every transport, so the daemon never probes for them:
    poll_interval: float | None
    """Seconds between two looks at the outbox when the transport sets its own pace (SFTP); None: the
    daemon's rescan."""

    def clean_temporaries(self) -> int:
        """Remove our own half-written deliveries left by a crash; how many. Called once at start."""

    def watch(self, wake: Callable[[], None]) -> bool:
        """Call `wake` on a change in the outbox, if the transport can tell (False: it cannot; rescans only)."""

    def check_connection(self) -> ConnectionReport:
        """Reach the drop now and prove both folders usable (`config check --connect`)."""
