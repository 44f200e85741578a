"""Write what the gateway owes a city's inbox: deliveries, receipts forwarded, ACK/NACK; then mark them written.

A write and its mark are two steps: a crash between them leaves the write owed, and it is done again under the
same name from the same stored bytes, so the city still holds one file.
"""

from __future__ import annotations

import os

from gateway.domain.lifecycle import DELIVERY_OWED, Event, allows
from gateway.service.ports.transport import Transport
from gateway.service.context import Gateway
from gateway.service.ports.ledger import Scope
from gateway.service.scopes import of_message


def flush_city(gw: Gateway, transport: Transport) -> int:
    """Write every file owed to this city; returns how many were written."""
    city = transport.city
    scope: dict[int, Scope] = {}
    with gw.unit_of_work(Scope()) as (tx, _):  # a snapshot: each mark is asked again under its own scope
        owed = tx.pending_outgoing(city)
        for out in owed:
            # A delivery or a forwarded receipt moves its message on: its pair's scope (fixed fields, read now).
            if out.message_key is not None and out.kind in ("delivery", "receipt"):
                scope[out.key] = of_message(tx.get_message(out.message_key))
    written = 0
    for out in owed:
        with gw.spool.open(out.area, out.sha256) as src:
            size = os.fstat(src.fileno()).st_size
            transport.deliver(out.name, src)
        now = gw.clock()
        with gw.unit_of_work(scope.get(out.key, Scope())) as (tx, events):
            if not tx.mark_written(out.key, now):
                continue  # another instance wrote it too (same name, same bytes) and marked it first
            message = tx.get_message(out.message_key) if out.message_key is not None else None
            if message is not None and out.kind == "delivery" and message.state in DELIVERY_OWED:
                message = tx.transition(message.key, Event.DELIVERED, now,
                                        f"written to {city}'s inbox as {out.name} (delivery {message.deliveries + 1})")
            elif message is not None and out.kind == "receipt" and allows(message.state, Event.FORWARDED):
                tx.transition(message.key, Event.FORWARDED, now, f"receipt written to {city}'s inbox as {out.name}")
            events.emit(
                "written", city=city, file=out.name, kind=out.kind, size=size,
                id=message.message_id if message is not None else None,
                deliveries=message.deliveries if message is not None and out.kind == "delivery" else None,
            )
        written += 1
    return written
