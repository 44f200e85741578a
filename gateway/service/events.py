"""The transfer log as structlog events: the one place the gateway says what it did.

One event per transition and per transport action, with ids, types, cities, period, serial, sizes and codes
only; never names or ID numbers (the documents' personal data stays in the spool). A later issue adds log
rotation, metrics and a web console: they hook in here.
"""

from __future__ import annotations

from typing import Any

import structlog

_log = structlog.get_logger("ltcgw")

# Fields an event may carry: anything else is dropped, so that no document content can slip into the log.
ALLOWED_FIELDS = frozenset(
    {
        "id", "type", "sender", "receiver", "period", "serial", "revision", "city", "name", "size", "sha256",
        "state", "source", "target", "event", "cause", "codes", "kind", "deliveries", "reason", "count",
        "ref", "by", "file", "error", "waiting", "refused", "captured", "elapsed_ms", "workers", "cities",
    }
)


def emit(event: str, **fields: Any) -> None:
    """Log one transfer-log event (fields outside ALLOWED_FIELDS are dropped: no personal data in logs)."""
    _log.info(event, **{k: v for k, v in fields.items() if k in ALLOWED_FIELDS and v is not None})


def alert(kind: str, **fields: Any) -> None:
    """Something an operator must act on (a message FAILED, a refused file, an unreachable drop)."""
    _log.warning("alert", kind=kind, **{k: v for k, v in fields.items() if k in ALLOWED_FIELDS and v is not None})


def configure(json_lines: bool = False, quiet: bool = False) -> None:
    """Console output for people, JSON lines for machines; `quiet` keeps only alerts."""
    import logging

    processors: list[Any] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = structlog.processors.JSONRenderer(ensure_ascii=False) if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING if quiet else logging.INFO),
        cache_logger_on_first_use=False,
    )
