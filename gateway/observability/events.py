"""The transfer log as structlog events: the one place the gateway says what it did (the EventLog port).

One event per transition and per transport action, with ids, types, cities, period, serial, sizes and codes
only; never names or ID numbers (the documents' personal data stays in the spool). Every string value is
masked as well (gateway/observability/masking.py), in case a file name or an error quotes a person.
Metrics and the alert sink hook in as listeners of one TransferLog (`subscribe`), which the composition root
(gateway/bootstrap.py) builds and hands to the gateway; the use cases publish into it after their unit of work
commits (gateway/service/unit_of_work.py). Its destinations: gateway/observability/transfer_log.py.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog

from gateway.observability.masking import mask_value

Listener = Callable[[str, dict[str, Any]], None]

# Fields an event may carry: anything else is dropped, so that no document content can slip into the log.
ALLOWED_FIELDS = frozenset(
    {
        "id", "type", "sender", "receiver", "period", "serial", "revision", "city", "name", "size", "sha256",
        "state", "source", "target", "event", "cause", "codes", "kind", "deliveries", "reason", "count",
        "ref", "by", "file", "error", "waiting", "refused", "captured", "elapsed_ms", "workers", "cities",
        "processing_ms", "delivery_ms", "direction", "problems", "days", "subject", "not_after", "added", "removed",
        "changed", "restart",
        "year", "due",  # the settlement watch (calendar_missing, payments, disputes)
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


class TransferLog:
    """The transfer log of one gateway: structlog lines, then each listener (metrics, alert sink, tests)."""

    def __init__(self) -> None:
        self._log = structlog.get_logger("ltcgw")
        self._listeners: list[Listener] = []
        self._timings = _Timings()

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(event, fields)` after every event (`alert` events carry their `kind`)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self, event: str, fields: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            try:
                listener(event, fields)
            except Exception as exc:  # a metrics or webhook fault must never stop the transfer itself
                self._log.error("listener_failed", error=repr(exc))

    def emit(self, event: str, **fields: Any) -> None:
        """Log one transfer-log event (fields outside ALLOWED_FIELDS are dropped: no personal data in logs)."""
        allowed = _allowed(fields)
        self._timings.annotate(event, allowed)
        self._log.info(event, **allowed)
        self._notify(event, allowed)

    def alert(self, kind: str, **fields: Any) -> None:
        """Something an operator must act on (a message FAILED, a refused file, an unreachable drop)."""
        allowed = _allowed(fields)
        self._log.warning("alert", kind=kind, **allowed)
        self._notify("alert", {"kind": kind, **allowed})


def _allowed(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: mask_value(v, k) for k, v in fields.items() if k in ALLOWED_FIELDS and v is not None}
