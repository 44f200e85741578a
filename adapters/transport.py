"""The interface every city drop implements (local folder, SFTP): what the gateway needs of a transport.

A drop has an outbox, where the city's system leaves files for the gateway, and an inbox, where the gateway
leaves files for the city. The gateway never reads a file before the transport calls it complete, and a city
never sees a file under its final name before it is whole.
"""

from __future__ import annotations

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
