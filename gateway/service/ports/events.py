"""The transfer-log port: where the use cases say what they did (gateway/observability/transfer_log.py).

Events carry ids, types, cities, periods, sizes and codes only; the log drops any other field and masks every
value, so no document content reaches it. Metrics, the alert sink and the webhook listen to the log's events.
"""

from __future__ import annotations

from typing import Any, Protocol


class EventLog(Protocol):
    def emit(self, event: str, **fields: Any) -> None:
        """One event of the transfer log."""

    def alert(self, kind: str, **fields: Any) -> None:
        """Something an operator must act on (a message FAILED, a refused file, an unreachable drop)."""
