"""The running daemon's supervision: metrics endpoint, alert sink and webhook, certificate expiry, systemd.

The composition root (gateway/bootstrap.py) builds one `Supervision` beside the engine from plain settings: it
subscribes the metrics and the alert sink to the gateway's transfer log, serves `/metrics` + `/healthz` when
configured, checks certificate expiry (at start, on reload, then twice a day), and tells systemd (Type=notify)
when the daemon is ready, reloading or stopping. It reads no configuration file and builds no gateway.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from gateway.observability.alerts import AlertSettings, AlertSink, Webhook, WebhookSettings, expiring_certificates
from gateway.observability.events import TransferLog
from gateway.observability.health import HealthReport, health_report
from gateway.observability.metrics import GatewayMetrics, MetricsSettings, ObservabilityServer
from gateway.service.contacts import ContactBoard
from gateway.service.ports.ledger import Ledger

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


@dataclass(frozen=True)
class Watched:
    """What the supervision watches, from the configuration (built by the composition root)."""

    gateway: str  # the gateway's own area code
    alerts: AlertSettings = field(default_factory=AlertSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    certificates: Mapping[str, Sequence[Path]] = field(default_factory=dict)  # "gateway" or a city -> PEM files
    unreachable_after: Mapping[str, timedelta] = field(default_factory=dict)  # city -> threshold
    spool_dir: Path | None = None  # None: the spool is in the ledger's database


class Supervision:
    """Observability around one gateway's transfer log and ledger (and, for `ltcgw run`, its contact board)."""

    def __init__(self, watched: Watched, log: TransferLog, ledger: Ledger, *, contacts: ContactBoard | None = None,
                 cities: Callable[[], Sequence[str]] = lambda: ()) -> None:
        self.watched, self.log, self.ledger = watched, log, ledger
        self.contacts = contacts or ContactBoard()
        self.cities = cities  # the cities served now (they change on reload)
        self.metrics = GatewayMetrics(ledger, self.contacts)
        self.sink = AlertSink(ledger, webhook=self._webhook(watched.alerts), gateway=watched.gateway,
                              language=watched.alerts.language)
        self.server: ObservabilityServer | None = None
        self._alerted_certificates: set[tuple[str, str]] = set()
        self._stop = threading.Event()

    def _webhook(self, alerts: AlertSettings) -> Webhook | None:
        if not alerts.webhook:
            return None
        return Webhook(WebhookSettings(alerts.webhook, alerts.webhook_timeout, alerts.webhook_retries),
                       on_drop=lambda why: self.log.emit("webhook_failed", reason=why))

    def start(self, *, serve: bool = True) -> Supervision:
        self.log.subscribe(self.metrics.listener)
        self.log.subscribe(self.sink)
        m = self.watched.metrics
        if serve and m.enabled:
            try:
                self.server = ObservabilityServer(m.host, m.port, self.metrics, self.health).start()
                self.log.emit("metrics_listening", source=f"http://{self.server.host}:{self.server.port}/metrics")
            except OSError as exc:  # the port is taken: the exchange matters more than its metrics
                self.log.alert("metrics_unavailable", source=f"{m.host}:{m.port}", error=str(exc))
        if serve:  # the daemon only: `run --once` from cron would raise the same alert at every run
            self.check_certificates()
            threading.Thread(target=self._certificate_loop, name="certificates", daemon=True).start()
        return self

    def health(self) -> HealthReport:
        """The health now (also what the console shows per city)."""
        w = self.watched
        thresholds = {city: w.unreachable_after.get(city, w.alerts.unreachable_after) for city in self.cities()}
        return health_report(ledger=self.ledger, spool_dir=w.spool_dir, contacts=self.contacts,
                             cities=sorted(self.cities()), unreachable_after=thresholds)

    def check_certificates(self) -> list[dict[str, object]]:
        """Alert (once per certificate per run) for pinned or own certificates expiring within the window."""
        w = self.watched
        paths = {owner: list(files) for owner, files in w.certificates.items()}
        found = expiring_certificates(paths, timedelta(days=w.alerts.certificate_days))
        for item in found:
            key = (str(item["ref"]), str(item["not_after"]))
            if key not in self._alerted_certificates:
                self._alerted_certificates.add(key)
                city = None if str(item["ref"]).startswith("gateway") else item["ref"]  # gateway, gateway_sm2
                self.log.alert("certificate_expiring", city=city, **item)
        return found

    def _certificate_loop(self) -> None:
        while not self._stop.wait(CERTIFICATE_CHECK_SECONDS):
            try:
                self.check_certificates()
            except Exception as exc:  # an unreadable file is `config check`'s business; keep checking
                self.log.emit("certificate_check_failed", error=repr(exc))

    def watch(self, watched: Watched) -> None:
        """A reload: what to watch from now on (a new webhook replaces the old, which sends what it holds)."""
        old, self.watched = self.watched, watched
        self.sink.language = watched.alerts.language
        if watched.alerts != old.alerts:
            old_webhook, self.sink.webhook = self.sink.webhook, self._webhook(watched.alerts)
            if old_webhook is not None:
                threading.Thread(target=old_webhook.close, daemon=True).start()
        self.check_certificates()

    def close(self) -> None:
        self._stop.set()
        self.log.unsubscribe(self.metrics.listener)
        self.log.unsubscribe(self.sink)
        if self.server is not None:
            self.server.close()
        self.sink.close()
