"""The daemon's per-city contact board: the last success or run of failures at each city's drop, in memory.

The city workers write it (each poll's success or failure); health, metrics and the console read it. After a
restart a city is "not contacted yet" until its first poll.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any


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
