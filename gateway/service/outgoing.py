"""Write what the gateway owes a city's inbox: deliveries, receipts forwarded, ACK/NACK; then mark them written.

A write and its mark are two steps: a crash between them leaves the write owed, and it is done again under the
same name from the same stored bytes, so the city still holds one file.
"""

from __future__ import annotations

import os
from datetime import datetime

from gateway.domain.lifecycle import DELIVERY_OWED, Event, allows
from gateway.service.ports.transport import Transport
from gateway.service.context import Gateway
from gateway.service.ports.ledger import Outgoing, Scope
from gateway.service.scopes import of_message


REPLY_MARKS = 32  # replies written before their marks are committed together (one commit, one WAL flush)


def flush_city(gw: Gateway, transport: Transport) -> int:
    """Write every file owed to this city; returns how many were written. A delivery or a forwarded receipt
    is marked as soon as it is written (it moves its message on, under its pair's scope); replies (ACK, NACK)
    move nothing and are marked together, up to REPLY_MARKS at a time and whatever happens to the next write:
    a commit each is what a durable database pays most for (a crash before the mark writes them again, under
    the same names)."""
    city = transport.city
    scope: dict[int, Scope] = {}
    with gw.unit_of_work(Scope()) as (tx, _):  # a snapshot: each mark is asked again under its own scope
        owed = tx.pending_outgoing(city)
        for out in owed:
            # A delivery or a forwarded receipt moves its message on: its pair's scope (fixed fields, read now).
            if out.message_key is not None and out.kind in ("delivery", "receipt"):
                scope[out.key] = of_message(tx.get_message(out.message_key))
    written = 0
    replies: list[tuple[Outgoing, int, datetime]] = []
    try:
        for out in owed:
            with gw.spool.open(out.area, out.sha256) as src:
                size = os.fstat(src.fileno()).st_size
                transport.deliver(out.name, src)
            if out.key in scope:
                written += _mark(gw, city, [(out, size, gw.clock())], scope[out.key])
                continue
            replies.append((out, size, gw.clock()))
            if len(replies) >= REPLY_MARKS:
                written += _mark(gw, city, replies, Scope())
                replies = []
    finally:
        if replies:
            written += _mark(gw, city, replies, Scope())
    return written


def _mark(gw: Gateway, city: str, done: list[tuple[Outgoing, int, datetime]], scope: Scope) -> int:
    """Mark written files in one unit of work; returns how many this instance marked (another may have first)."""
    marked = 0
    with gw.unit_of_work(scope) as (tx, events):
        for out, size, now in done:
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
            marked += 1
    return marked
