"""The daemon's health, as one read model for `/healthz`, the metrics, `ltcgw status` and the web console.

Unhealthy means an operator must act: the ledger or the spool cannot be written (nothing can be taken safely),
or a city has been unreachable for longer than its threshold. Each reason is a sentence naming the cause.
The per-city contact board is filled by the city workers (success or failure of each poll), in memory:
after a restart a city is "not contacted yet" until its first poll.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DEFAULT_UNREACHABLE_AFTER = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class CityContact:
    """What the gateway knows of its last attempts at a city's drop."""

    city: str
    last_success: datetime | None = None
    failing_since: datetime | None = None  # first failure of the current run of failures
    failures: int = 0  # failures in a row
    last_error: str | None = None
    error_kind: str | None = None  # the exception's class name: a change of kind is alerted again

    def unreachable_for(self, now: datetime) -> timedelta | None:
        return None if self.failing_since is None else now - self.failing_since

    def as_dict(self, now: datetime) -> dict[str, Any]:
        down = self.unreachable_for(now)
        return {
            "city": self.city,
            "last_success": self.last_success.isoformat(timespec="seconds") if self.last_success else None,
            "failing_since": self.failing_since.isoformat(timespec="seconds") if self.failing_since else None,
            "unreachable_seconds": round(down.total_seconds()) if down is not None else 0,
            "failures": self.failures,
            "last_error": self.last_error,
            "error_kind": self.error_kind,
        }


class ContactBoard:
    """Per-city contact state shared by the city workers (writers) and the HTTP server (reader)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cities: dict[str, CityContact] = {}

    def success(self, city: str, at: datetime) -> None:
        with self._lock:
            self._cities[city] = CityContact(city, last_success=at)

    def failure(self, city: str, at: datetime, error: BaseException) -> tuple[CityContact, bool]:
        """Record a failure; returns the new state and whether its kind differs from the previous failure's
        (the first failure after a success counts as a change)."""
        kind = type(error).__name__
        with self._lock:
            old = self._cities.get(city, CityContact(city))
            changed = old.failures == 0 or old.error_kind != kind
            new = replace(
                old, failing_since=old.failing_since or at, failures=old.failures + 1,
                last_error=str(error), error_kind=kind,
            )
            self._cities[city] = new
            return new, changed

    def forget(self, city: str) -> None:
        with self._lock:
            self._cities.pop(city, None)

    def snapshot(self) -> dict[str, CityContact]:
        with self._lock:
            return dict(self._cities)


@dataclass(frozen=True, slots=True)
class HealthReport:
    ok: bool
    reasons: list[str]
    checked_at: datetime
    cities: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "unhealthy", "reasons": self.reasons,
                "checked_at": self.checked_at.isoformat(timespec="seconds"), "cities": self.cities}


def spool_problem(spool_dir: Path) -> str | None:
    """Why the spool cannot take a file now (None when a probe file can be created and removed)."""
    for sub in ("inbox", "outbox"):
        folder = Path(spool_dir) / sub
        probe = folder / f".health-{os.getpid()}-{threading.get_ident()}.tmp"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.close(fd)
            probe.unlink()
        except OSError as exc:
            return f"spool {folder} is not writable: {exc.strerror or exc}"
    return None


def ledger_problem(ledger: Any) -> str | None:
    """Why the ledger cannot record now (its own check when it has one)."""
    check = getattr(ledger, "writable_problem", None)
    if check is None:
        return None
    try:
        return check()
    except Exception as exc:  # a broken connection is itself the answer
        return f"ledger check failed: {exc}"


def health_report(
    *, ledger: Any, spool_dir: Path | None, contacts: ContactBoard | Mapping[str, CityContact], cities: list[str],
    unreachable_after: timedelta | Mapping[str, timedelta] = DEFAULT_UNREACHABLE_AFTER, now: datetime | None = None,
) -> HealthReport:
    """Healthy, or every reason it is not: ledger, spool, and each city unreachable past its threshold.

    `spool_dir` is None when the spool lives in the ledger's database: the ledger's own check covers it."""
    now = now or datetime.now(timezone.utc)
    spool = spool_problem(spool_dir) if spool_dir is not None else None
    reasons = [p for p in (ledger_problem(ledger), spool) if p]
    board = contacts.snapshot() if isinstance(contacts, ContactBoard) else dict(contacts)
    rows = []
    for city in sorted(cities):
        contact = board.get(city, CityContact(city))
        limit = unreachable_after.get(city, DEFAULT_UNREACHABLE_AFTER) if isinstance(unreachable_after, Mapping) else unreachable_after
        down = contact.unreachable_for(now)
        row = contact.as_dict(now)
        row["unreachable_after_seconds"] = round(limit.total_seconds())
        row["healthy"] = down is None or down <= limit
        if not row["healthy"]:
            reasons.append(f"city {city} unreachable for {round(down.total_seconds())} s (threshold "
                           f"{round(limit.total_seconds())} s): {contact.last_error}")
        rows.append(row)
    return HealthReport(not reasons, reasons, now, rows)
