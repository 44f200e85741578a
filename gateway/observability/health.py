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
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from gateway.service.contacts import CityContact, ContactBoard
from gateway.service.ports.ledger import Ledger

DEFAULT_UNREACHABLE_AFTER = timedelta(minutes=15)


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


def ledger_problem(ledger: Ledger) -> str | None:
    """Why the ledger cannot record now (its own check)."""
    try:
        return ledger.writable_problem()
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
