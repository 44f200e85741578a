"""The running daemon's supervision: transfer log, metrics endpoint, alerts, reloads and service manager.

`ltcgw run` builds the gateway and the engine, then hands them to a `Runtime`, which subscribes the metrics and
the alert sink to the transfer-log events, serves `/metrics` + `/healthz` when configured, checks certificate
expiry (at start, on reload, then twice a day), re-reads the config on SIGHUP (an invalid one is refused and
the old one kept) and tells systemd (Type=notify) when it is ready, reloading or stopping.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from gateway.observability.alerts import AlertSink, Webhook, WebhookSettings, expiring_certificates
from gateway.observability.health import ContactBoard, HealthReport, health_report
from gateway.observability.metrics import GatewayMetrics, ObservabilityServer
from gateway.service import events

CERTIFICATE_CHECK_SECONDS = 12 * 3600


def sd_notify(state: str) -> bool:
    """Tell systemd our state (READY=1, RELOADING=1, STOPPING=1) when started by it with Type=notify."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode(), address)
        return True
    except OSError:
        return False


class Runtime:
    """Observability and reloads around one gateway (`gw`) and, for `ltcgw run`, its engine."""

    def __init__(self, config: Any, gw: Any, *, engine: Any = None, contacts: ContactBoard | None = None) -> None:
        self.config, self.gw, self.engine = config, gw, engine
        self.contacts = engine.contacts if engine is not None else (contacts or ContactBoard())
        self.metrics = GatewayMetrics(gw.ledger, self.contacts)
        self.sink = AlertSink(gw.ledger, webhook=self._webhook(config), gateway=config.code)
        self.server: ObservabilityServer | None = None
        self._alerted_certificates: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._reload_lock = threading.Lock()

    def _webhook(self, config: Any) -> Webhook | None:
        a = config.alerts
        if not a.webhook:
            return None
        return Webhook(WebhookSettings(a.webhook, a.webhook_timeout, a.webhook_retries),
                       on_drop=lambda why: events.emit("webhook_failed", reason=why))

    def start(self, *, serve: bool = True) -> Runtime:
        events.subscribe(self.metrics.listener)
        events.subscribe(self.sink)
        m = self.config.metrics
        if serve and m.enabled:
            try:
                self.server = ObservabilityServer(m.host, m.port, self.metrics, self.health).start()
                events.emit("metrics_listening", source=f"http://{self.server.host}:{self.server.port}/metrics")
            except OSError as exc:  # the port is taken: the exchange matters more than its metrics
                events.alert("metrics_unavailable", source=f"{m.host}:{m.port}", error=str(exc))
        if serve:  # the daemon only: `run --once` from cron would raise the same alert at every run
            self.check_certificates()
            threading.Thread(target=self._certificate_loop, name="certificates", daemon=True).start()
        return self

    def health(self) -> HealthReport:
        """The health now (also what H6b's console shows per city)."""
        config = self.config
        thresholds = {code: city.unreachable_after or config.alerts.unreachable_after for code, city in config.cities.items()}
        spool_dir = config.spool_dir if config.spool_store == "folder" else None  # else: in the ledger's database
        return health_report(ledger=self.gw.ledger, spool_dir=spool_dir, contacts=self.contacts,
                             cities=sorted(self.gw.transports), unreachable_after=thresholds)

    def check_certificates(self) -> list[dict[str, Any]]:
        """Alert (once per certificate per run) for pinned or own certificates expiring within the window."""
        config = self.config
        paths: dict[str, list[Path]] = {"gateway": [config.certificate]}
        for code, city in config.cities.items():
            paths[code] = list(city.certificates)
        found = expiring_certificates(paths, timedelta(days=config.alerts.certificate_days))
        for item in found:
            key = (item["ref"], item["not_after"])
            if key not in self._alerted_certificates:
                self._alerted_certificates.add(key)
                city = item["ref"] if item["ref"] != "gateway" else None
                events.alert("certificate_expiring", city=city, **item)
        return found

    def _certificate_loop(self) -> None:
        while not self._stop.wait(CERTIFICATE_CHECK_SECONDS):
            try:
                self.check_certificates()
            except Exception as exc:  # an unreadable file is `config check`'s business; keep checking
                events.emit("certificate_check_failed", error=repr(exc))

    def request_reload(self) -> None:
        """SIGHUP: re-read the config on the engine's thread (signal handlers must not do the work)."""
        if self.engine is not None:
            self.engine.call_soon(self.reload)

    def reload(self) -> bool:
        """Re-read the config file; apply it when valid, else refuse it (alert) and keep the running one."""
        from gateway.bootstrap import reload_gateway
        from gateway.config import check_config

        with self._reload_lock:
            sd_notify("RELOADING=1")
            try:
                new, problems = check_config(self.config.path)
                if new is None:
                    events.alert("config_refused", file=str(self.config.path), count=len(problems),
                                 problems=[str(p) for p in problems])
                    return False
                try:
                    changes = reload_gateway(self.engine, self.config, new)
                except Exception as exc:  # a transport that cannot be built: keep what runs
                    events.alert("config_refused", file=str(self.config.path), error=repr(exc))
                    return False
                old, self.config = self.config, new
                if new.alerts != old.alerts:
                    old_webhook, self.sink.webhook = self.sink.webhook, self._webhook(new)
                    if old_webhook is not None:  # let it send what it holds, without waiting for it here
                        threading.Thread(target=old_webhook.close, daemon=True).start()
                events.emit("reloaded", file=str(new.path), cities=sorted(new.cities), **changes)
                self.check_certificates()
                return True
            finally:
                sd_notify("READY=1")

    def close(self) -> None:
        self._stop.set()
        events.unsubscribe(self.metrics.listener)
        events.unsubscribe(self.sink)
        if self.server is not None:
            self.server.close()
        self.sink.close()
