"""The daemon: a worker thread per city for that city's transport I/O, and one engine for checks and decisions.

A slow or unreachable city only delays its own thread; the ledger is the queue between the threads (captures
in, files owed out), so a restart picks up exactly where the ledger says. Watchdog events wake a city's worker
at once; a periodic rescan (and one at start-up) catches whatever events were lost.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from adapters.transport import HostKeyRefused, Transport, TransportError
from gateway.observability.health import ContactBoard
from gateway.service import events
from gateway.service.capture import capture_city
from gateway.service.context import Gateway, utc_now
from gateway.service.outgoing import flush_city
from gateway.service.process import process_pending
from gateway.service.resend import resend_due
from gateway.domain.retention import RetentionPolicy
from gateway.service.retention import Scheduler


def run_once(gw: Gateway, settle_seconds: float = 0.0) -> dict[str, int]:
    """Process what is pending now (due resends included) and return; `ltcgw run --once`.

    A file not yet seen stable is looked at again after `settle_seconds` (a file needs two looks). `unreachable`
    counts the cities whose drop failed in this pass (each alerted), so that a caller can tell none was reached.
    """
    totals = {"captured": 0, "routed": 0, "rejected": 0, "duplicates": 0, "receipts": 0, "resent": 0, "failed": 0,
              "written": 0, "unreachable": 0}
    held = gw.ledger.heartbeat(gw.instance, sorted(gw.transports), gw.lease_seconds)
    try:
        _run_once(gw, settle_seconds, totals, [t for city, t in gw.transports.items() if city in held])
    finally:
        gw.ledger.leave(gw.instance)
    return totals


def _run_once(gw: Gateway, settle_seconds: float, totals: dict[str, int], transports: list) -> None:
    """run_once on the cities whose drops this instance holds (all of them, unless others run beside it)."""
    unreachable: set[str] = set()
    for attempt in range(2):
        waiting = 0
        for transport in transports:
            try:
                report = capture_city(gw, transport)
            except TransportError as exc:
                drop_failed(ContactBoard(), transport.city, exc)  # one pass: each failure is news
                unreachable.add(transport.city)
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
    for transport in transports:
        try:
            totals["written"] += flush_city(gw, transport)
        except TransportError as exc:
            drop_failed(ContactBoard(), transport.city, exc)  # one pass: each failure is news
            unreachable.add(transport.city)
    totals["unreachable"] = len(unreachable)


def drop_failed(contacts: ContactBoard, city: str, exc: TransportError) -> int:
    """A city's drop failed: logged each time (`drop_unreachable`), alerted at the first failure, whenever the
    kind of failure changes (a refused host key after a lost connection must not hide behind the throttle),
    and every 10th failure in a row; returns the failures in a row."""
    state, changed = contacts.failure(city, utc_now(), exc)
    events.emit("drop_unreachable", city=city, error=str(exc), count=state.failures)
    if changed or state.failures % 10 == 0:
        kind = "host_key_refused" if isinstance(exc, HostKeyRefused) else "city_unreachable"
        events.alert(kind, city=city, error=str(exc), count=state.failures, cause=state.error_kind)
    return state.failures


RENEW_SECONDS = 2.0


class Leases(threading.Thread):
    """Keeps this instance alive in the ledger and holds its share of the cities' drops.

    Renewed every third of the lease (at most RENEW_SECONDS apart); a city counts as held only while the last renewal is fresh (80% of the
    lease, timed from before the call), so an instance cut off from the database stops touching a drop before
    another instance may take it over. One instance alone holds every city.
    """

    def __init__(self, engine: "Engine") -> None:
        super().__init__(name="leases", daemon=True)
        self.engine, self.gw = engine, engine.gw
        self.held: frozenset[str] = frozenset()
        self.renewed = float("-inf")
        self.failures = 0

    def renew(self) -> None:
        started = time.monotonic()
        held = self.gw.ledger.heartbeat(self.gw.instance, sorted(self.gw.transports), self.gw.lease_seconds)
        gained, lost = held - self.held, self.held - held
        self.held, self.renewed = held, started
        if gained or lost:
            events.emit("leases", cities=sorted(held), by=self.gw.instance)
        for city in gained:
            if city in self.engine.workers:
                self.engine.workers[city].wake.set()

    def holds(self, city: str) -> bool:
        return city in self.held and time.monotonic() - self.renewed < self.gw.lease_seconds * 0.8

    def run(self) -> None:
        # Often enough that a lease never lapses by accident, and that a new instance gets its share of the
        # drops within seconds (the others give back their surplus at their next renewal).
        while not self.engine.stopping.wait(min(self.gw.lease_seconds / 3, RENEW_SECONDS)):
            try:
                self.renew()
                self.failures = 0
            except Exception as exc:  # the database restarting: keep trying; the cities wait meanwhile
                self.failures += 1
                if self.failures == 1 or self.failures % 10 == 0:
                    events.alert("ledger_unreachable", error=repr(exc), count=self.failures)


class OwedListener(threading.Thread):
    """Wakes this instance's city workers when another instance decided files owed to a city it holds."""

    def __init__(self, engine: "Engine", wait_owed: Callable[[float], set[str]]) -> None:
        super().__init__(name="owed-listener", daemon=True)
        self.engine, self.wait_owed = engine, wait_owed

    def run(self) -> None:
        while not self.engine.stopping.is_set():
            try:
                cities = self.wait_owed(1.0)
            except Exception:  # the database restarting: the rescan still writes everything, only later
                self.engine.stopping.wait(2.0)
                continue
            for city in cities:
                worker = self.engine.workers.get(city)
                if worker is not None and self.engine.leases.holds(city):
                    worker.wake.set()


STOP_TIMEOUT = 120  # seconds a worker may take to finish the file in hand (a large upload) when stopping


class CityWorker(threading.Thread):
    """Takes files from one city's outbox and writes what the gateway owes its inbox."""

    def __init__(self, gw: Gateway, city: str, engine: "Engine", rescan_seconds: float) -> None:
        super().__init__(name=f"city-{city}", daemon=True)
        self.gw, self.city, self.engine, self.rescan = gw, city, engine, rescan_seconds
        self.transport = gw.transports[city]
        # A transport with its own pace (SFTP's poll_interval) sets it; the rescan otherwise.
        self.rescan = getattr(self.transport, "poll_interval", None) or rescan_seconds
        self.wake = threading.Event()
        self.retired = threading.Event()  # set by a reload that removes or replaces this city
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
        while not self.engine.stopping.is_set() and not self.retired.is_set():
            if not self.engine.leases.holds(self.city):  # another instance polls this drop now
                self.wake.wait(min(self.rescan, self.gw.lease_seconds / 3))
                self.wake.clear()
                continue
            try:
                report = capture_city(self.gw, self.transport, lambda: self.engine.leases.holds(self.city))
                if report.captured:
                    self.engine.wake.set()
                flush_city(self.gw, self.transport)
                self.failures = 0
                self.engine.contacts.success(self.city, utc_now())
                timeout = min(self.rescan, 1.0) if report.waiting else self.rescan  # growing files: look again soon
            except TransportError as exc:
                self.failures = drop_failed(self.engine.contacts, self.city, exc)
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

    def __init__(self, gw: Gateway, rescan_seconds: float = 5.0, retention: RetentionPolicy | None = None) -> None:
        self.gw = gw
        self.purger: Scheduler | None = None
        self.set_retention(retention)
        self.rescan = rescan_seconds
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.workers = {city: CityWorker(gw, city, self, rescan_seconds) for city in gw.transports}
        self.contacts = ContactBoard()  # per-city last contact: health, metrics, console
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.leases = Leases(self)

    def start(self) -> None:
        self.leases.renew()  # first, so that a second instance on SQLite is refused before it does anything
        events.emit("started", cities=sorted(self.workers), workers=getattr(self.gw.checker, "workers", 1),
                    by=self.gw.instance)
        self.leases.start()
        wait_owed = getattr(self.gw.ledger, "wait_owed", None)
        if wait_owed is not None:
            OwedListener(self, wait_owed).start()
        for worker in self.workers.values():
            worker.start()

    def call_soon(self, call: Callable[[], None]) -> None:
        """Run `call` on the engine's thread between two steps (a reload: never in the middle of a decision)."""
        self._calls.put(call)
        self.wake.set()

    def _run_calls(self) -> None:
        while True:
            try:
                call = self._calls.get_nowait()
            except queue.Empty:
                return
            call()

    def add_city(self, city: str, transport: Transport) -> None:
        """Serve a city (added or changed by a reload) with a new worker."""
        self.gw.transports = {**self.gw.transports, city: transport}
        worker = self.workers[city] = CityWorker(self.gw, city, self, self.rescan)
        if self.leases.is_alive():
            self.leases.renew()
        worker.start()

    def remove_city(self, city: str) -> None:
        """Stop serving a city: its worker finishes the file in hand, then its transport is closed. What the
        ledger still owes the city stays owed (written if the city comes back)."""
        worker = self.workers.pop(city, None)
        self.gw.transports = {c: t for c, t in self.gw.transports.items() if c != city}
        if worker is not None:
            worker.retired.set()
            worker.wake.set()
            if worker.is_alive():
                worker.join(timeout=STOP_TIMEOUT)
        self.contacts.forget(city)

    def step(self) -> None:
        self._run_calls()
        processed = process_pending(self.gw, on_owed=self._wake_owed)
        resent = resend_due(self.gw)
        self._wake_owed(processed.cities_owed | resent.cities_owed)
        if self.purger is not None:
            self._purge()

    def _wake_owed(self, owed: set[str]) -> None:
        """The writers of cities owed files write now (each decision's, as it commits, with a pool)."""
        for city in owed:
            if city in self.workers:
                self.workers[city].wake.set()
        announce = getattr(self.gw.ledger, "announce_owed", None)
        elsewhere = {city for city in owed if not self.leases.holds(city)}
        if announce is not None and elsewhere:
            announce(elsewhere)  # held by another instance: it writes them now, not at its next rescan

    def set_retention(self, retention: RetentionPolicy | None) -> None:
        """At start and on reload: purge per `retention` (None or all keys off: never)."""
        enabled = retention is not None and retention.enabled
        self.purger = Scheduler(self.gw.ledger, self.gw.spool, retention) if enabled else None  # type: ignore[arg-type]

    def _purge(self) -> None:
        """Retention, hourly (gateway/service/retention.py); a failure is alerted and tried at the next hour."""
        try:
            self.purger.maybe_run(self.gw.clock())  # type: ignore[union-attr]
        except Exception as exc:
            events.alert("purge_failed", error=repr(exc))

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
                worker.join(timeout=STOP_TIMEOUT)
        if self.leases.ident is not None:  # started (it may have ended already: it ends when stopping is set)
            self.leases.join(timeout=10)
            try:
                self.gw.ledger.leave(self.gw.instance)  # the others take over at once, not after the lease
            except Exception as exc:
                events.alert("ledger_unreachable", error=repr(exc))
        self.gw.checker.close()
