"""The composition root: the one place that turns a configuration into running parts.

Everything that runs is built here and nowhere else: the ledger, the spool, one transport per city (by kind,
from a registry), the checker (in process or a pool), the signed replies, the transfer log, the gateway the use
cases share; for `ltcgw run` the engine and its city workers, the supervision (metrics, alerts, certificates),
the console, the signals, and reload as one typed operation (`Daemon.apply`). The layers below receive what
they need and import nothing above them.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.checker import CheckSettings, InProcessChecker, PoolChecker
from adapters.local import LocalTransport
from adapters.replies import ReplySettings, SignedReplies
from adapters.spool import DatabaseSpool, FolderSpool
from adapters.sqlite_ledger import SqliteLedger
from gateway.config import Config, TransportSettings, check_config
from gateway.domain.areas import KNOWN_AREAS
from gateway.observability.events import Listener, TransferLog
from gateway.observability.runtime import Supervision, Watched, sd_notify
from gateway.observability.transfer_log import reset as reset_log
from gateway.service.context import Gateway, utc_now
from gateway.service.daemon import Engine, run_once
from gateway.service.ports.checks import Checker, Clock
from gateway.service.ports.ledger import Ledger
from gateway.service.ports.spool import Spool
from gateway.service.ports.transport import Transport
from gateway.service.resend import resend_by_hand
from gateway.domain.deadlines import CityPair
from gateway.service.ports.events import EventLog
from gateway.service.settlement import SettlementScope
from gateway.service.settlement_watch import SettlementWatch
from gateway.web import CityEntry, ConsoleServer, ConsoleSettings, MonthSettlement, start_console
from gateway.web.month import month_settlement

TransportFactory = Callable[[str, TransportSettings], Transport]


def _sftp(city: str, settings: TransportSettings) -> Transport:
    from adapters.sftp import SftpSettings, SftpTransport  # paramiko is loaded only where a city uses SFTP

    return SftpTransport(city, SftpSettings.from_mapping(settings.options, settings.base_dir))


TRANSPORTS: dict[str, TransportFactory] = {"local": LocalTransport.from_settings, "sftp": _sftp}


def register_transport(kind: str, factory: TransportFactory) -> None:
    TRANSPORTS[kind] = factory


def build_transport(city: str, settings: TransportSettings) -> Transport:
    try:
        factory = TRANSPORTS[settings.kind]
    except KeyError:
        raise ValueError(f"unknown transport kind {settings.kind!r} for {city}") from None
    return factory(city, settings)


def check_settings(config: Config) -> CheckSettings:
    return CheckSettings(
        trust=config.trust_store(), max_bytes=config.max_message_bytes, gateway_code=config.code,
        known_areas=frozenset(KNOWN_AREAS) | frozenset(config.cities),
        service_types={code: city.service_types for code, city in config.cities.items()},
        register_key_file=str(config.register_key_file) if config.register_key_file else None,
        register_current_key=config.register_current_key,
    )


def reply_settings(config: Config) -> ReplySettings:
    return ReplySettings(
        code=config.code, key=config.key, certificate=config.certificate, sm2_key=config.sm2_key,
        sm2_certificate=config.sm2_certificate, sm2_user_id=config.sm2_user_id,
        accepted={code: city.signature_algorithms for code, city in config.cities.items()},
        languages={code: city.language for code, city in config.cities.items()},
    )


def build_checker(config: Config) -> Checker:
    """In the daemon's process (workers = 1) or in a pool of processes (workers > 1)."""
    if config.workers <= 1:
        return InProcessChecker(check_settings(config))
    return PoolChecker(check_settings(config), reply_settings(config), config.workers)


def open_ledger(config: Config) -> Ledger:
    """SQLite at `[ledger] path` (one instance), or PostgreSQL at `[ledger] url` (several); migrated on open."""
    if config.ledger_url:
        from adapters.postgres_ledger import PostgresLedger  # psycopg is loaded only where PostgreSQL is used

        return PostgresLedger(config.ledger_url)
    return SqliteLedger(config.ledger_path)


def open_spool(config: Config, ledger: Ledger) -> Spool:
    """The spool folder, or the database's spool table: with several instances every one must reach the bytes."""
    if config.spool_store == "database":
        from adapters.postgres_ledger import PostgresLedger

        if not isinstance(ledger, PostgresLedger):  # config check refuses it; a clear error if it gets here
            raise ValueError("spool store 'database' needs a PostgreSQL ledger ([ledger] url)")
        return DatabaseSpool(ledger.connection)
    return FolderSpool(config.spool_dir)


def build_gateway(config: Config, *, clock: Clock = utc_now, transports: dict[str, Transport] | None = None,
                  log: TransferLog | None = None) -> Gateway:
    """The gateway for `config`: ledger opened (and migrated), spool ready, one transport per city."""
    ledger = open_ledger(config)
    return Gateway(
        ledger=ledger,
        spool=open_spool(config, ledger),
        checker=build_checker(config),
        replies=SignedReplies(reply_settings(config)),
        transports=transports if transports is not None else {
            code: build_transport(code, city.transport) for code, city in config.cities.items()
        },
        log=log or TransferLog(),
        policy=config.retry,
        clock=clock,
        max_message_bytes=config.max_message_bytes,
        lease_seconds=config.lease_seconds,
        a5_pairs=frozenset(config.settlement.a5_pairs),  # 附件5 only where a pair asked for it
        register=config.register_settings(),  # the register of entitlements (issue 12); None without [register]
        **({"instance": config.instance} if config.instance else {}),
    )


def watched(config: Config) -> Watched:
    """What the supervision watches under `config`."""
    certificates = {"gateway": [config.certificate]}
    if config.sm2_certificate is not None:  # an owner of its own: the RSA certificate is no successor to it
        certificates["gateway_sm2"] = [config.sm2_certificate]
    certificates.update({code: list(city.certificates) for code, city in config.cities.items()})
    return Watched(
        gateway=config.code, alerts=config.alerts, metrics=config.metrics, certificates=certificates,
        unreachable_after={code: city.unreachable_after for code, city in config.cities.items() if city.unreachable_after},
        spool_dir=config.spool_dir if config.spool_store == "folder" else None,
    )


def city_names(config: Config) -> dict[str, str]:
    return {code: city.name for code, city in config.cities.items()}


# --- what the console shows of the configuration (it reads no Config itself: the web layer is below it)
def _endpoint(transport: TransportSettings) -> str:
    options = transport.options
    if transport.kind == "sftp":
        user = f"{options['user']}@" if options.get("user") else ""
        return f"sftp {user}{options.get('host', '?')}:{options.get('port', 22)} {options.get('outbox', '')}"
    return f"{transport.kind} {transport.path('drop') or ''}".strip()


def console_directory(config: Config) -> list[CityEntry]:
    return [CityEntry(code, city.name, _endpoint(city.transport), tuple(city.certificates))
            for code, city in sorted(config.cities.items()) if code != config.code]


def console_settlement(config: Config | Callable[[], Config], ledger: Ledger,
                       spool: Spool) -> Callable[[str], MonthSettlement]:
    """A month's deadlines and reconciliation under the configuration in force (a callable: the daemon's,
    which a reload replaces)."""
    def month(period: str) -> MonthSettlement:
        return month_settlement(ledger, spool, settlement_scope(config() if callable(config) else config), period)

    return month


def start_console_for(config: Config, ledger: Ledger, spool: Spool, log: EventLog, *,
                      resend: Callable[..., str] | None = None, contacts: Callable[[], Any] | None = None,
                      settings: ConsoleSettings | None = None,
                      current: Callable[[], Config] | None = None) -> ConsoleServer:
    """The console over this configuration (`ltcgw run` with resend, contacts and `current`, the configuration
    a reload put in force; `ltcgw console` without)."""
    now = current or (lambda: config)
    return start_console(settings or config.console, ledger, spool, log, cities=city_names(config),
                         policy=config.retry, resend=resend, contacts=contacts,
                         directory=lambda: console_directory(now()), deadlines=console_settlement(now, ledger, spool))


# Settings read at start only: a reload that changes them says a restart is needed.
RESTART_ONLY = ("ledger_path", "ledger_url", "spool_dir", "spool_store", "log", "metrics", "console", "workers",
                "instance")


@dataclass(frozen=True)
class ReloadReport:
    """What a reload changed: cities added, removed, changed (any setting; `restarted`: their worker was
    replaced because their transport changed) and settings that only a restart applies."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    restart: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, list[str]]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed, "restart": self.restart}


def plan_reload(old: Config, new: Config) -> ReloadReport:
    """Compare two configurations (pure): which cities and settings differ."""
    both = set(new.cities) & set(old.cities)
    return ReloadReport(
        added=sorted(set(new.cities) - set(old.cities)),
        removed=sorted(set(old.cities) - set(new.cities)),
        changed=sorted(c for c in both if new.cities[c] != old.cities[c]),
        restarted=sorted(c for c in both if new.cities[c].transport != old.cities[c].transport),
        restart=[name for name in RESTART_ONLY if getattr(old, name) != getattr(new, name)],
    )


def settlement_watch(config: Config, gw: Gateway) -> SettlementWatch:
    """Issue 13: the daemon's alerts of the settlement calendar (late payments, disputes, next year's holidays),
    over the `[settlement]` section as `ltcgw deadlines` reads it; the holiday files are read at each look."""
    from gateway.service.settlement import load_calendar

    scope = settlement_scope(config)
    return SettlementWatch(gw.ledger, gw.spool, gw.log, scope, lambda: load_calendar(scope.holidays), gw.clock)


def settlement_scope(config: Config) -> SettlementScope:
    """The `[settlement]` section as `ltcgw deadlines` reads it: the daemon's watch and the console use it."""
    from pathlib import Path

    settings = config.settlement
    holidays = settings.holidays or Path(config.path).parent / "holidays"
    pairs = None if settings.pairs is None else [CityPair(r, i) for r, i in settings.pairs]
    from gateway.domain.register import OFF

    silent = frozenset(code for code, city in config.cities.items()
                       if city.cross_checks.default == OFF and all(m == OFF for m in city.cross_checks.by_check.values()))
    return SettlementScope([code for code in config.cities if code != config.code], holidays, settings.warn_days,
                           pairs, config.person_keyring(),
                           register=config.register_key_file is not None, silent=silent,
                           a5_pairs=frozenset(settings.a5_pairs))


class Daemon:
    """Everything `ltcgw run` runs, built from one configuration: the gateway and its engine, the supervision,
    the console; started in an order that refuses a second instance before anything is written."""

    def __init__(self, config: Config, *, gw: Gateway | None = None) -> None:
        self.config = config
        self.gw = gw or build_gateway(config)
        self.engine = Engine(self.gw, config.rescan_seconds, retention=config.retention)
        self.engine.watch = settlement_watch(config, self.gw)
        self.supervision = Supervision(watched(config), self.gw.log, self.gw.ledger, contacts=self.engine.contacts,
                                       cities=lambda: sorted(self.gw.transports))
        self.console: ConsoleServer | None = None

    def start(self) -> None:
        """Join the ledger first (AnotherInstance: nothing written, cleaned or served), then clean, supervise
        and serve; a console whose port is taken is alerted and the exchange goes on without it."""
        self.engine.claim()
        self.gw.spool.clean_temporaries()
        self.supervision.start()
        settings = self.config.console
        if settings.enabled:
            try:
                self.console = start_console_for(self.config, self.gw.ledger, self.gw.spool, self.gw.log,
                                                 resend=self.resend, contacts=self.engine.contacts.snapshot,
                                                 current=lambda: self.config)
                self.gw.log.emit("console_started", name=self.console.url)
            except OSError as exc:
                self.gw.log.alert("console_unavailable", source=f"{settings.host}:{settings.port}", error=str(exc))

    def resend(self, message_id: str, cause: str = "operator: web console resend") -> str:
        """Deliver a message again now (from the console); wakes the receiver's worker."""
        city = resend_by_hand(self.gw, message_id, cause=cause)
        self.engine.wake_city(city)
        return city

    def run(self) -> int:
        """Serve until SIGTERM (a clean stop); SIGHUP re-reads the configuration."""
        signal.signal(signal.SIGTERM, lambda *_: self.stop_soon())
        signal.signal(signal.SIGHUP, lambda *_: self.request_reload())
        self.start()
        sd_notify("READY=1")
        try:
            self.engine.run_forever()
        finally:
            sd_notify("STOPPING=1")
            self.close()
        return 0

    def stop_soon(self) -> None:
        self.engine.stopping.set()
        self.engine.wake.set()

    def request_reload(self) -> None:
        """SIGHUP: re-read the config on the engine's thread (signal handlers must not do the work)."""
        self.engine.call_soon(self.reload)

    def reload(self) -> ReloadReport | None:
        """Re-read the config file; apply it when valid, else refuse it (alert) and keep the running one."""
        sd_notify("RELOADING=1")
        try:
            new, problems = check_config(self.config.path)
            if new is None:
                self.gw.log.alert("config_refused", file=str(self.config.path), count=len(problems),
                                  problems=[str(p) for p in problems])
                return None
            try:
                report = self.apply(new)
            except Exception as exc:  # a transport that cannot be built: keep what runs
                self.gw.log.alert("config_refused", file=str(self.config.path), error=repr(exc))
                return None
            self.gw.log.emit("reloaded", file=str(new.path), cities=sorted(new.cities), **report.fields())
            return report
        finally:
            sd_notify("READY=1")

    def apply(self, new: Config) -> ReloadReport:
        """Apply a checked config to the running daemon, on the engine's thread (between two decisions).

        Checks (trust store, own key and certificate, limits) and the retry schedule are replaced whole; a city
        added gets a worker, a city removed, or whose transport changed, has its worker finish the file in hand
        and stop (a changed one then starts again on its new transport). What the ledger owes a removed city
        stays owed. Names and other city settings apply at once (console, health)."""
        report = plan_reload(self.config, new)
        gw = self.gw
        # Everything new is built before anything running is touched: a failure leaves the old config whole.
        transports = {city: build_transport(city, new.cities[city].transport) for city in report.restarted + report.added}
        checker, replies = build_checker(new), SignedReplies(reply_settings(new))
        old_checker, gw.checker, gw.replies = gw.checker, checker, replies
        old_checker.close()
        gw.policy = new.retry
        gw.max_message_bytes = new.max_message_bytes
        gw.register = new.register_settings()  # a rotated key, other checks: from the next decision on
        self.engine.set_retention(new.retention)
        self.engine.watch = settlement_watch(new, gw)  # pairs, warning days, holidays folder as reloaded
        for city in report.removed + report.restarted:
            self.engine.remove_city(city)
        for city in report.restarted + report.added:
            self.engine.add_city(city, transports[city])
        self.config = new
        self.supervision.watch(watched(new))
        if self.console is not None:
            self.console.app.configure(city_names(new), new.retry)
        return report

    def close(self) -> None:
        if self.console is not None:
            self.console.stop()
        self.supervision.close()
        self.gw.log.emit("stopped", cities=sorted(self.engine.workers))


def run_once_for(config: Config, *, listener: Listener | None = None) -> dict[str, int]:
    """`ltcgw run --once`: what is pending now, with alerts recorded, then return the totals; `listener` hears
    the transfer log's events meanwhile."""
    gw = build_gateway(config)
    if listener is not None:
        gw.log.subscribe(listener)
    supervision = Supervision(watched(config), gw.log, gw.ledger, cities=lambda: sorted(gw.transports))
    try:
        # Join the ledger first, as the daemon does: beside a running instance on SQLite this refuses
        # (AnotherInstance) before the running one's half-written spool files are cleaned away.
        gw.ledger.heartbeat(gw.instance, sorted(gw.transports), gw.lease_seconds)
        gw.spool.clean_temporaries()
        supervision.start(serve=False)
        totals = run_once(gw, settle_seconds=1.1)
        try:  # each run is a start: the settlement calendar is looked at (each item alerted once, ever)
            settlement_watch(config, gw).maybe_run()
        except Exception as exc:
            gw.log.alert("settlement_watch_failed", error=repr(exc))
        return totals
    finally:
        supervision.close()
        gw.checker.close()


__all__ = ["Daemon", "ReloadReport", "build_gateway", "build_transport", "open_ledger", "open_spool",
           "plan_reload", "register_transport", "reset_log", "run_once_for"]
