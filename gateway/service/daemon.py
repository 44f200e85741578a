"""The daemon: a worker thread per city for that city's transport I/O, and one engine for checks and decisions.

A slow or unreachable city only delays its own thread; the ledger is the queue between the threads (captures
in, files owed out), so a restart picks up exactly where the ledger says. Watchdog events wake a city's worker
at once; a periodic rescan (and one at start-up) catches whatever events were lost.
"""

from __future__ import annotations

import threading
import time

from adapters.transport import TransportError
from gateway.service import events
from gateway.service.capture import capture_city
from gateway.service.context import Gateway
from gateway.service.outgoing import flush_city
from gateway.service.process import process_pending
from gateway.service.resend import resend_due


def run_once(gw: Gateway, settle_seconds: float = 0.0) -> dict[str, int]:
    """Process what is pending now (due resends included) and return; `ltcgw run --once`.

    A file not yet seen stable is looked at again after `settle_seconds` (a file needs two looks).
    """
    totals = {"captured": 0, "routed": 0, "rejected": 0, "duplicates": 0, "receipts": 0, "resent": 0, "failed": 0, "written": 0}
    for attempt in range(2):
        waiting = 0
        for transport in gw.transports.values():
            try:
                report = capture_city(gw, transport)
            except TransportError as exc:
                events.alert("drop_unreachable", city=transport.city, error=str(exc))
                continue
            totals["captured"] += report.captured
            waiting += report.waiting
        if not waiting or attempt:
            break
        time.sleep(settle_seconds)
    processed = process_pending(gw)
    totals.update(routed=processed.routed, rejected=processed.rejected, duplicates=processed.duplicates, receipts=processed.receipts)
    resent = resend_due(gw)
    totals.update(resent=len(resent.resent), failed=len(resent.failed))
    for transport in gw.transports.values():
        try:
            totals["written"] += flush_city(gw, transport)
        except TransportError as exc:
            events.alert("drop_unreachable", city=transport.city, error=str(exc))
    return totals


class CityWorker(threading.Thread):
    """Takes files from one city's outbox and writes what the gateway owes its inbox."""

    def __init__(self, gw: Gateway, city: str, engine: "Engine", rescan_seconds: float) -> None:
        super().__init__(name=f"city-{city}", daemon=True)
        self.gw, self.city, self.engine, self.rescan = gw, city, engine, rescan_seconds
        self.transport = gw.transports[city]
        self.wake = threading.Event()
        self.failures = 0

    def run(self) -> None:
        clean = getattr(self.transport, "clean_temporaries", None)
        if clean is not None:
            try:
                clean()
            except OSError as exc:
                events.emit("clean_failed", city=self.city, error=str(exc))
        watch = getattr(self.transport, "watch", None)
        if watch is not None:
            try:
                watch(self.wake.set)
            except Exception as exc:  # inotify limits: the rescan still covers it, only slower
                events.alert("watch_unavailable", city=self.city, error=str(exc))
        while not self.engine.stopping.is_set():
            try:
                report = capture_city(self.gw, self.transport)
                if report.captured:
                    self.engine.wake.set()
                flush_city(self.gw, self.transport)
                self.failures = 0
                timeout = min(self.rescan, 1.0) if report.waiting else self.rescan  # growing files: look again soon
            except TransportError as exc:
                self.failures += 1
                if self.failures == 1 or self.failures % 10 == 0:
                    events.alert("drop_unreachable", city=self.city, error=str(exc), count=self.failures)
                timeout = min(self.rescan * 2 ** min(self.failures, 6), 300)
            except Exception as exc:  # never let one city's surprise end its thread silently
                self.failures += 1
                events.alert("city_worker_error", city=self.city, error=repr(exc))
                timeout = min(self.rescan * 2 ** min(self.failures, 6), 300)
            self.wake.wait(timeout)
            self.wake.clear()
        self.transport.close()


class Engine:
    """Checks and decisions (CPU and ledger); wakes the cities that are owed files."""

    def __init__(self, gw: Gateway, rescan_seconds: float = 5.0) -> None:
        self.gw = gw
        self.rescan = rescan_seconds
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.workers = {city: CityWorker(gw, city, self, rescan_seconds) for city in gw.transports}

    def start(self) -> None:
        events.emit("started", cities=sorted(self.workers), workers=getattr(self.gw.checker, "workers", 1))
        for worker in self.workers.values():
            worker.start()

    def step(self) -> None:
        processed = process_pending(self.gw)
        resent = resend_due(self.gw)
        for city in processed.cities_owed | resent.cities_owed:
            if city in self.workers:
                self.workers[city].wake.set()

    def run_forever(self) -> None:
        self.start()
        try:
            while not self.stopping.is_set():
                try:
                    self.step()
                except Exception as exc:
                    events.alert("engine_error", error=repr(exc))
                    time.sleep(1)
                self.wake.wait(min(self.rescan, 1.0))
                self.wake.clear()
        finally:
            self.stop()

    def stop(self) -> None:
        self.stopping.set()
        for worker in self.workers.values():
            worker.wake.set()
        for worker in self.workers.values():
            if worker.is_alive() and worker is not threading.current_thread():
                worker.join(timeout=10)
        self.gw.checker.close()
