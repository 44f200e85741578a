"""The daemon: a worker thread per city for that city's transport I/O, and one engine for checks and decisions.

A slow or unreachable city only delays its own thread; the ledger is the queue between the threads (captures
in, files owed out), so a restart picks up exactly where the ledger says. Watchdog events wake a city's worker
at once; a periodic rescan (and one at start-up) catches whatever events were lost.
"""

from __future__ import annotations

import errno
import queue
import threading
import time
from collections.abc import Callable

from gateway.service.capture import capture_city
from gateway.service.contacts import ContactBoard
from gateway.service.context import Gateway, utc_now
from gateway.service.outgoing import flush_city
from gateway.service.process import process_pending
from gateway.service.ports.events import EventLog
from gateway.service.ports.transport import HostKeyRefused, Transport, TransportError
from gateway.service.resend import resend_due
from gateway.domain.retention import RetentionPolicy
from gateway.service.retention import Scheduler
from gateway.service.settlement_watch import SettlementWatch


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
                drop_failed(gw.log, ContactBoard(), transport.city, exc)  # one pass: each failure is news
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
            drop_failed(gw.log, ContactBoard(), transport.city, exc)  # one pass: each failure is news
            unreachable.add(transport.city)
    totals["unreachable"] = len(unreachable)


def drop_failed(log: EventLog, contacts: ContactBoard, city: str, exc: TransportError) -> int:
    """A city's drop failed: logged each time (`drop_unreachable`), alerted at the first failure, whenever the
    kind of failure changes (a refused host key after a lost connection must not hide behind the throttle),
    and every 10th failure in a row; returns the failures in a row."""
    state, changed = contacts.failure(city, utc_now(), exc)
    log.emit("drop_unreachable", city=city, error=str(exc), count=state.failures)
    if changed or state.failures % 10 == 0:
        kind = "host_key_refused" if isinstance(exc, HostKeyRefused) else "city_unreachable"
        log.alert(kind, city=city, error=str(exc), count=state.failures, cause=state.error_kind)
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
            self.gw.log.emit("leases", cities=sorted(held), by=self.gw.instance)
        for city in gained:
            if city in self.engine.workers:
                self.engine.workers[city].wake.set()
        for lost in self.gw.ledger.lost_instances(self.gw.instance):  # once per loss, by whoever sees it first
            self.gw.log.alert("instance_lost", ref=lost.instance, by=self.gw.instance, error=(
                f"instance {lost.instance} (host {lost.host}, pid {lost.pid}) stopped renewing its lease: last "
                f"heartbeat {lost.heartbeat_at.isoformat(timespec='seconds')}; its drops and checks are taken over"))

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
                    self.gw.log.alert("ledger_unreachable", error=repr(exc), count=self.failures)


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
    """Takes files from one city's outbox and writes what the gateway owes its inbox.

    Taking and writing fail apart: a spool that cannot take a file (disk full) must not stop the replies and
    deliveries the ledger already owes the city (their bytes are stored), so each look writes whatever taking did.
    """

    def __init__(self, gw: Gateway, city: str, engine: "Engine", rescan_seconds: float) -> None:
        super().__init__(name=f"city-{city}", daemon=True)
        self.gw, self.city, self.engine = gw, city, engine
        self.transport = gw.transports[city]
        # A transport with its own pace (SFTP's poll_interval) sets it; the rescan otherwise.
        self.rescan = self.transport.poll_interval or rescan_seconds
        self.wake = threading.Event()
        self.retired = threading.Event()  # set by a reload that removes or replaces this city
        self.failures = 0  # failed looks in a row: the back-off

    def run(self) -> None:
        log = self.gw.log
        try:
            self.transport.clean_temporaries()
        except (OSError, TransportError) as exc:
            log.emit("clean_failed", city=self.city, error=str(exc))
        try:
            self.transport.watch(self.wake.set)
        except Exception as exc:  # inotify limits: the rescan still covers it, only slower
            log.alert("watch_unavailable", city=self.city, error=str(exc))
        while not self.engine.stopping.is_set() and not self.retired.is_set():
            if not self.engine.leases.holds(self.city):  # another instance polls this drop now
                self.wake.wait(min(self.rescan, self.gw.lease_seconds / 3))
                self.wake.clear()
                continue
            timeout = self.look()
            self.wake.wait(timeout)
            self.wake.clear()
        self.transport.close()

    def look(self) -> float:
        """Take what is ready, then write what is owed whatever taking did; the seconds until the next look."""
        soon = False
        try:
            report = capture_city(self.gw, self.transport, lambda: self.engine.leases.holds(self.city))
            soon = report.waiting > 0  # growing files: look again soon
            if report.captured:
                self.engine.wake.set()
            self.engine.spool_space.recovered(self.gw.log)
        except TransportError as exc:
            return self._failed(exc)
        except OSError as exc:
            if exc.errno not in NO_SPACE:
                return self._failed(exc)
            self.engine.spool_space.full(self.gw.log, self.city, exc)  # the files wait in the drop
            soon = True
        except Exception as exc:  # never let one city's surprise end its thread silently
            return self._failed(exc)
        try:
            flush_city(self.gw, self.transport)
        except Exception as exc:
            return self._failed(exc)
        self.failures = 0
        self.engine.contacts.success(self.city, utc_now())
        return min(self.rescan, 1.0) if soon else self.rescan

    def _failed(self, exc: Exception) -> float:
        if isinstance(exc, TransportError):
            self.failures = drop_failed(self.gw.log, self.engine.contacts, self.city, exc)
        else:
            self.failures += 1
            self.gw.log.alert("city_worker_error", city=self.city, error=repr(exc))
        return min(self.rescan * 2 ** min(self.failures, 6), 300)


NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


class SpoolSpace:
    """Whether the spool could take files lately: one `spool_full` alert when it fills (whichever city's file
    hit it first), one `spool_recovered` event when a file is taken again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._full = False

    def full(self, log: EventLog, city: str, exc: OSError) -> None:
        with self._lock:
            first, self._full = not self._full, True
        if first:
            log.alert("spool_full", city=city, error=str(exc))

    def recovered(self, log: EventLog) -> None:
        with self._lock:
            was, self._full = self._full, False
        if was:
            log.emit("spool_recovered")


class EngineFailure:
    """The engine's failing steps: one `engine_error` alert per cause until a step succeeds again, and a wait
    that doubles (to ENGINE_BACKOFF_MAX) so a broken ledger is not hammered every second."""

    def __init__(self) -> None:
        self.cause: str | None = None
        self.wait = 0.0

    def failed(self, log: EventLog, exc: Exception) -> float:
        cause = f"{type(exc).__name__}: {exc}"
        if cause != self.cause:
            log.alert("engine_error", error=repr(exc))
            self.cause = cause
        self.wait = min(max(self.wait * 2, 1.0), ENGINE_BACKOFF_MAX)
        return self.wait

    def succeeded(self, log: EventLog) -> None:
        if self.cause is not None:
            log.emit("engine_recovered", cause=self.cause)
        self.cause, self.wait = None, 0.0


ENGINE_BACKOFF_MAX = 60.0


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
        self.spool_space = SpoolSpace()
        self.failure = EngineFailure()
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.leases = Leases(self)
        self.watch: SettlementWatch | None = None  # issue 13: payments, disputes, next year's calendar

    def claim(self) -> None:
        """Join the ledger's instances: a second instance on SQLite is refused here (AnotherInstance), before
        anything is written, cleaned or served."""
        self.leases.renew()

    def start(self) -> None:
        if self.leases.renewed == float("-inf"):  # not claimed yet (Daemon.start claims first)
            self.claim()
        self.gw.log.emit("started", cities=sorted(self.workers), workers=self.gw.checker.workers, by=self.gw.instance)
        self.leases.start()
        if self.gw.ledger.notifies_owed:
            OwedListener(self, self.gw.ledger.wait_owed).start()
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

    def wake_city(self, city: str) -> None:
        """Its worker writes what is owed now (a resend asked by hand, from the CLI or the console)."""
        self._wake_owed({city})

    def step(self) -> None:
        self._run_calls()
        processed = process_pending(self.gw, on_owed=self._wake_owed)
        resent = resend_due(self.gw)
        self._wake_owed(processed.cities_owed | resent.cities_owed)
        if self.purger is not None:
            self._purge()
        if self.watch is not None:
            self._watch()

    def _watch(self) -> None:
        """The settlement calendar's alerts, at the first step and daily; a failure is alerted and tried again
        at the next step (a holiday file being written, the database restarting)."""
        try:
            self.watch.maybe_run()  # type: ignore[union-attr]
        except Exception as exc:
            self.gw.log.alert("settlement_watch_failed", error=repr(exc))

    def _wake_owed(self, owed: set[str]) -> None:
        """The writers of cities owed files write now (each decision's, as it commits, with a pool)."""
        for city in owed:
            if city in self.workers:
                self.workers[city].wake.set()
        elsewhere = {city for city in owed if not self.leases.holds(city)}
        if elsewhere and self.gw.ledger.notifies_owed:
            self.gw.ledger.announce_owed(sorted(elsewhere))  # held by another instance: it writes them now

    def set_retention(self, retention: RetentionPolicy | None) -> None:
        """At start and on reload: purge per `retention` (None or all keys off: never)."""
        enabled = retention is not None and retention.enabled
        self.purger = Scheduler(self.gw.ledger, self.gw.spool, retention, self.gw.log) if enabled else None  # type: ignore[arg-type]

    def _purge(self) -> None:
        """Retention, hourly (gateway/service/retention.py); a failure is alerted and tried at the next hour."""
        try:
            self.purger.maybe_run(self.gw.clock())  # type: ignore[union-attr]
        except Exception as exc:
            self.gw.log.alert("purge_failed", error=repr(exc))

    def run_forever(self) -> None:
        self.start()
        try:
            while not self.stopping.is_set():
                try:
                    self.step()
                except Exception as exc:
                    self.stopping.wait(self.failure.failed(self.gw.log, exc))
                    continue
                self.failure.succeeded(self.gw.log)
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
                self.gw.log.alert("ledger_unreachable", error=repr(exc))
        self.gw.checker.close()
