"""The transfer log as structlog events: the one place the gateway says what it did.

One event per transition and per transport action, with ids, types, cities, period, serial, sizes and codes
only; never names or ID numbers (the documents' personal data stays in the spool). Every string value is
masked as well (gateway/observability/masking.py), in case a file name or an error quotes a person.
Metrics and alerts hook in here as listeners (`subscribe`); the log's destinations are set by `configure`
(gateway/observability/transfer_log.py: rotating JSON-lines file and terminal).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog

from gateway.observability.masking import mask_value

_log = structlog.get_logger("ltcgw")
Listener = Callable[[str, dict[str, Any]], None]
_listeners: list[Listener] = []

# Fields an event may carry: anything else is dropped, so that no document content can slip into the log.
ALLOWED_FIELDS = frozenset(
    {
        "id", "type", "sender", "receiver", "period", "serial", "revision", "city", "name", "size", "sha256",
        "state", "source", "target", "event", "cause", "codes", "kind", "deliveries", "reason", "count",
        "ref", "by", "file", "error", "waiting", "refused", "captured", "elapsed_ms", "workers", "cities",
        "processing_ms", "delivery_ms", "direction", "problems", "days", "subject", "not_after", "added", "removed",
        "changed", "restart",
    }
)


class _Timings:
    """When each file was captured (by digest) and routed (by id), so that later events carry their durations:
    `processing_ms` (capture to decision) and `delivery_ms` (capture to written in the receiver's inbox).
    Bounded: after a restart or for very old entries there is simply no duration."""

    LIMIT = 20000

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.captured: OrderedDict[str, float] = OrderedDict()
        self.routed: OrderedDict[str, float] = OrderedDict()

    def annotate(self, event: str, fields: dict[str, Any]) -> None:
        now = time.monotonic()
        with self.lock:
            if event == "captured" and fields.get("sha256"):
                self._put(self.captured, fields["sha256"], now)
            elif event in ("routed", "rejected", "receipt", "duplicate") and fields.get("sha256"):
                start = self.captured.pop(fields["sha256"], None)
                if start is not None:
                    fields["processing_ms"] = round((now - start) * 1000, 1)
                    if event in ("routed", "receipt") and fields.get("id"):
                        self._put(self.routed, fields["id"], start)
            elif event == "written" and fields.get("kind") in ("delivery", "receipt") and fields.get("id"):
                start = self.routed.pop(fields["id"], None)
                if start is not None:
                    fields["delivery_ms"] = round((now - start) * 1000, 1)

    def _put(self, table: OrderedDict[str, float], key: str, value: float) -> None:
        table[key] = value
        while len(table) > self.LIMIT:
            table.popitem(last=False)


_timings = _Timings()


def subscribe(listener: Listener) -> None:
    """Call `listener(event, fields)` after every event (`alert` events carry their `kind`)."""
    _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def _allowed(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: mask_value(v, k) for k, v in fields.items() if k in ALLOWED_FIELDS and v is not None}


def _notify(event: str, fields: dict[str, Any]) -> None:
    for listener in list(_listeners):
        try:
            listener(event, fields)
        except Exception as exc:  # a metrics or webhook fault must never stop the transfer itself
            _log.error("listener_failed", error=repr(exc))


def emit(event: str, **fields: Any) -> None:
    """Log one transfer-log event (fields outside ALLOWED_FIELDS are dropped: no personal data in logs)."""
    allowed = _allowed(fields)
    _timings.annotate(event, allowed)
    _log.info(event, **allowed)
    _notify(event, allowed)


def alert(kind: str, **fields: Any) -> None:
    """Something an operator must act on (a message FAILED, a refused file, an unreachable drop)."""
    allowed = _allowed(fields)
    _log.warning("alert", kind=kind, **allowed)
    _notify("alert", {"kind": kind, **allowed})


def configure(json_lines: bool = False, quiet: bool = False, settings: Any = None) -> None:
    """Console output for people, JSON lines for machines; `quiet` keeps only alerts on the terminal;
    `settings` (a transfer_log.LogSettings) adds the rotating JSON-lines file."""
    from gateway.observability.transfer_log import configure as configure_log

    configure_log(settings, json_lines=json_lines, quiet=quiet)
