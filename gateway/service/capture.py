"""Capture: take complete files from a city's outbox into the spool and the ledger, then off the drop.

The order is the gateway's promise: bytes fsynced in the spool, then the capture committed in the ledger, and
only then the file removed from the city's drop. A crash anywhere leaves the file either still in the drop
(taken again: the ledger knows the capture and only removes it) or safely recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.service.ports.spool import TooLarge
from gateway.service.ports.transport import Refusal, Transport, TransportError
from gateway.service.context import Gateway
from gateway.service.ports.ledger import Scope
from gateway.service.scopes import of_file


@dataclass
class CaptureReport:
    captured: int = 0
    waiting: int = 0
    refused: list[Refusal] = field(default_factory=list)


def _new_refusals(gw: Gateway, city: str, refusals: list[Refusal]) -> list[Refusal]:
    """Refusals are reported once per name and reason while they stay, not at every rescan."""
    current = {(r.name, r.reason) for r in refusals}
    seen = gw.refusals_seen.get(city, set())
    gw.refusals_seen[city] = current  # one entry per city: each city's worker touches only its own
    return [r for r in refusals if (r.name, r.reason) not in seen]


def capture_city(gw: Gateway, transport: Transport, still_held: Callable[[], bool] = lambda: True) -> CaptureReport:
    """`still_held`: asked before each file, so an instance that lost the city's lease (several instances)
    stops after the file in hand instead of racing the new holder through the rest of the scan."""
    city = transport.city
    scan = transport.scan()
    report = CaptureReport(waiting=scan.waiting, refused=scan.refused)
    for refusal in _new_refusals(gw, city, scan.refused):
        with gw.unit_of_work(Scope()) as (tx, events):  # an event only: nothing anybody decides on
            tx.record_event(gw.clock(), "refused", city, {"name": refusal.name, "reason": refusal.reason})
            events.alert("file_quarantined", city=city, name=refusal.name, reason=refusal.reason, cause="refused_file")
    for item in scan.ready:
        if not still_held():
            break
        try:
            sha, size = gw.spool.receive(lambda f: transport.download(item, f), gw.max_message_bytes)
        except TooLarge:
            # Keep nothing of it, but answer: the city must know its file will never pass.
            sha, size = _receive_oversize(gw, transport, item)
        except (TransportError, FileNotFoundError) as exc:
            gw.log.emit("capture_skipped", city=city, name=item.name, error=str(exc))
            continue
        with gw.unit_of_work(of_file(city, sha)) as (tx, _):  # two instances taking one file: one capture
            known = tx.unremoved_capture(city, item.name, sha, item.mtime)
            key = known.key if known else tx.add_capture(city, item.name, sha, size, item.mtime, gw.clock())
        transport.remove(item)
        with gw.unit_of_work(Scope()) as (tx, events):
            tx.mark_capture_removed(key)
            events.emit("captured", city=city, name=item.name, size=size, sha256=sha)
        report.captured += 1
    return report


def _receive_oversize(gw: Gateway, transport: Transport, item) -> tuple[str, int]:
    """An oversize file: keep its first bytes only (enough for the checker to refuse it as too large)."""
    limit = gw.max_message_bytes + 1

    class Head:
        def __init__(self, sink) -> None:
            self.sink, self.left = sink, limit

        def write(self, chunk: bytes) -> int:
            if self.left > 0:
                self.sink.write(chunk[: self.left])
                self.left -= min(len(chunk), self.left)
            return len(chunk)

    return gw.spool.receive(lambda f: transport.download(item, Head(f)), None)
