"""A unit of work that publishes its events only once the ledger committed it.

Metrics, webhooks and alerts report what the ledger holds: an event said inside a transaction that then rolls
back (a crash, a lost race with another instance, a database error) must never reach them. So the use cases say
events into the unit of work (`events.emit`, `events.alert`), which keeps them and hands them to the transfer
log after the commit, in order; a rollback drops them with the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gateway.service.ports.events import EventLog
from gateway.service.ports.ledger import EVERYTHING, Ledger, LedgerTx, Scope


class CommittedEvents:
    """The events of one unit of work, held until it commits (an outbox kept with the transaction)."""

    def __init__(self) -> None:
        self._held: list[tuple[bool, str, dict[str, Any]]] = []

    def emit(self, event: str, **fields: Any) -> None:
        self._held.append((False, event, fields))

    def alert(self, kind: str, **fields: Any) -> None:
        self._held.append((True, kind, fields))

    def publish(self, log: EventLog) -> None:
        held, self._held = self._held, []
        for is_alert, name, fields in held:
            (log.alert if is_alert else log.emit)(name, **fields)


@contextmanager
def unit_of_work(ledger: Ledger, log: EventLog, scope: Scope = EVERYTHING) -> Iterator[tuple[LedgerTx, CommittedEvents]]:
    """`with unit_of_work(ledger, log, scope) as (tx, events):` one transaction deciding about `scope`
    (gateway/service/scopes.py); its events published after commit."""
    events = CommittedEvents()
    with ledger.unit_of_work(scope) as tx:
        yield tx, events
    events.publish(log)
