"""Write what the gateway owes a city's inbox: deliveries, receipts forwarded, ACK/NACK; then mark them written.

A write and its mark are two steps: a crash between them leaves the write owed, and it is done again under the
same name from the same stored bytes, so the city still holds one file.
"""

from __future__ import annotations

import os

from gateway.service.ports.transport import Transport
from gateway.domain.lifecycle import DELIVERY_OWED, Event, State
from gateway.service.context import Gateway


def flush_city(gw: Gateway, transport: Transport) -> int:
    """Write every file owed to this city; returns how many were written."""
    city = transport.city
    with gw.unit_of_work() as (tx, _):
        owed = tx.pending_outgoing(city)
    written = 0
    for out in owed:
        with gw.spool.open(out.area, out.sha256) as src:
            size = os.fstat(src.fileno()).st_size
            transport.deliver(out.name, src)
        now = gw.clock()
        with gw.unit_of_work() as (tx, events):
            if not tx.mark_written(out.key, now):
                continue  # another instance wrote it too (same name, same bytes) and marked it first
            message = tx.get_message(out.message_key) if out.message_key is not None else None
            if message is not None and out.kind == "delivery" and message.state in DELIVERY_OWED:
                message = tx.note_delivery(message.key, now)
                message = tx.transition(message.key, Event.DELIVERED, now, f"written to {city}'s inbox as {out.name} (delivery {message.deliveries})")
            elif message is not None and out.kind == "receipt" and message.state is State.ROUTED:
                tx.transition(message.key, Event.FORWARDED, now, f"receipt written to {city}'s inbox as {out.name}")
            events.emit(
                "written", city=city, file=out.name, kind=out.kind, size=size,
                id=message.message_id if message is not None else None,
                deliveries=message.deliveries if message is not None and out.kind == "delivery" else None,
            )
        written += 1
    return written
