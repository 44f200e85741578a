"""Prometheus metrics and `/healthz` on a loopback HTTP endpoint (prometheus-client, own registry).

Counters and histograms follow the transfer-log events (one listener on gateway/service/events.py); gauges
that describe the ledger (messages by type/state/city, receipts outstanding) are read from it at scrape time,
so they are right after a restart too. The server is a separate small HTTP server from the web console:
it binds to loopback by default and serves only these two read-only paths.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import AWAITING_RECEIPT
from gateway.observability.alerts import ALERT_KINDS
from gateway.observability.health import HealthReport
from gateway.service.contacts import ContactBoard

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
# The `type` of a message whose header could not be read, the same in every metric that has a `type` label
# (the ledger stores None, events carry no type): one value to select it by in a dashboard or a rule.
UNREADABLE = "unreadable"
_RESEND_CAUSES = {"resend_due": "receipt_overdue", "resend_requested": "operator", "resend_redropped": "sender"}


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """`[metrics]`: Prometheus `/metrics` and `/healthz` (gateway/observability/metrics.py); loopback."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9470



class _LedgerCollector:
    """Gauges read from the ledger and the contact board when Prometheus scrapes."""

    def __init__(self, ledger: Any, contacts: ContactBoard) -> None:
        self.ledger, self.contacts = ledger, contacts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        messages = GaugeMetricFamily("ltcgw_messages", "Messages in the ledger by type, state and drop city",
                                     labels=["type", "state", "city"])
        outstanding = 0
        for kind, state, city, count in self.ledger.message_counts():
            messages.add_metric([kind or UNREADABLE, state, city], count)
            if state in AWAITING_RECEIPT:
                outstanding += count
        yield messages
        yield GaugeMetricFamily("ltcgw_receipts_outstanding", "Delivered messages waiting for their receipt",
                                value=outstanding)
        contact = GaugeMetricFamily("ltcgw_city_last_contact_timestamp_seconds",
                                    "Unix time of the last successful poll of the city's drop", labels=["city"])
        up = GaugeMetricFamily("ltcgw_city_up", "1 when the city's last poll succeeded", labels=["city"])
        for city, state in sorted(self.contacts.snapshot().items()):
            if state.last_success is not None:
                contact.add_metric([city], state.last_success.timestamp())
            up.add_metric([city], 0 if state.failures else 1)
        yield contact
        yield up
        yield from self._instances()

    def _instances(self) -> Iterator[GaugeMetricFamily]:
        """Which instance is alive and holds which city's drop and how many captures (issue 8: leases).

        Labelled `gateway_instance`, not `instance`: Prometheus gives every scraped series the target's
        `instance` and would rename ours to `exported_instance` (or, with honor_labels, mix up targets)."""
        alive = GaugeMetricFamily("ltcgw_instance_up", "1 while the instance renews its leases",
                                  labels=["gateway_instance"])
        drops = GaugeMetricFamily("ltcgw_city_held", "1 for the instance that polls the city's drop now",
                                  labels=["city", "gateway_instance"])
        checking = GaugeMetricFamily("ltcgw_captures_leased", "Captured files an instance is checking now",
                                     labels=["gateway_instance"])
        for record in self.ledger.instances():
            alive.add_metric([record.instance], 1 if record.alive else 0)
            checking.add_metric([record.instance], record.captures)
            for city in record.cities:
                drops.add_metric([city, record.instance], 1)
        yield alive
        yield drops
        yield checking


class GatewayMetrics:
    """The gateway's metrics; `listener` goes to events.subscribe."""

    def __init__(self, ledger: Any, contacts: ContactBoard) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter("ltcgw_events", "Transfer-log events by name", ["event"], registry=r)
        self.files = Counter("ltcgw_files", "Files by city and direction (in: taken, out: written)",
                             ["city", "direction", "kind"], registry=r)
        self.bytes = Counter("ltcgw_bytes", "Bytes by city and direction", ["city", "direction"], registry=r)
        self.decisions = Counter("ltcgw_decisions", "Messages checked, by outcome and type", ["outcome", "type"],
                                 registry=r)
        self.resends = Counter("ltcgw_resends", "Deliveries repeated by this process: cause receipt_overdue "
                               "(the schedule), operator (the console it serves) or sender (a FAILED message dropped again)", ["cause"], registry=r)
        self.alerts = Counter("ltcgw_alerts", "Alerts raised, by kind", ["kind"], registry=r)
        self.processing = Histogram("ltcgw_processing_seconds", "From capture to the routing decision",
                                    buckets=_LATENCY_BUCKETS, registry=r)
        self.delivery = Histogram("ltcgw_delivery_seconds", "From capture to written in the receiver's inbox",
                                  buckets=_LATENCY_BUCKETS, registry=r)
        r.register(_LedgerCollector(ledger, contacts))
        self._zeros()

    def _zeros(self) -> None:
        """Series an alerting rule watches exist at 0 from the start: Prometheus's increase() cannot see the
        first rise of a series that is born at 1 (the first host-key refusal would go unnoticed)."""
        for kind in ALERT_KINDS:
            self.alerts.labels(kind)
        for cause in _RESEND_CAUSES.values():
            self.resends.labels(cause)
        for kind in [t.value for t in MessageType] + [UNREADABLE]:
            self.decisions.labels("rejected", kind)

    def listener(self, event: str, fields: dict[str, Any]) -> None:
        self.events.labels(event).inc()
        city = str(fields.get("city", "-"))
        if event == "captured":
            self.files.labels(city, "in", "message").inc()
            self.bytes.labels(city, "in").inc(fields.get("size") or 0)
        elif event == "written":
            self.files.labels(city, "out", str(fields.get("kind", "-"))).inc()
            self.bytes.labels(city, "out").inc(fields.get("size") or 0)
        elif event in ("routed", "rejected", "receipt", "duplicate"):
            self.decisions.labels(event, str(fields.get("type") or UNREADABLE)).inc()
        elif event in _RESEND_CAUSES:
            self.resends.labels(_RESEND_CAUSES[event]).inc()
        elif event == "alert":
            self.alerts.labels(str(fields.get("kind", "-"))).inc()
        if "processing_ms" in fields:
            self.processing.observe(fields["processing_ms"] / 1000)
        if "delivery_ms" in fields:
            self.delivery.observe(fields["delivery_ms"] / 1000)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class ObservabilityServer:
    """`/metrics` and `/healthz` (200 or 503 with the reasons, JSON) on its own thread."""

    def __init__(self, host: str, port: int, metrics: GatewayMetrics, health: Callable[[], HealthReport]) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                path = self.path.split("?", 1)[0]
                try:
                    if path == "/metrics":
                        outer._reply(self, 200, outer.metrics.exposition(), CONTENT_TYPE_LATEST)
                    elif path in ("/healthz", "/health"):
                        report = outer.health()
                        body = json.dumps(report.as_dict(), ensure_ascii=False, indent=1).encode()
                        outer._reply(self, 200 if report.ok else 503, body, "application/json; charset=utf-8")
                    else:
                        outer._reply(self, 404, b"not found: /metrics or /healthz\n", "text/plain")
                except Exception as exc:  # a broken ledger must still give an answer
                    body = json.dumps({"status": "unhealthy", "reasons": [f"health check failed: {exc!r}"],
                                       "checked_at": datetime.now(timezone.utc).isoformat()}).encode()
                    outer._reply(self, 503, body, "application/json")

            def log_message(self, *args: Any) -> None:  # scrapes every few seconds: not worth a log line
                pass

        self.metrics, self.health = metrics, health
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.host, self.port = self.server.server_address[:2]
        self._thread = threading.Thread(target=self.server.serve_forever, name="metrics-http", daemon=True)

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def start(self) -> ObservabilityServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
