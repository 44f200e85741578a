"""Metrics, /healthz and alerts against a running `ltcgw run`, over real HTTP on loopback; webhook to a real
local HTTP server."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gateway.service.ports.transport import HostKeyRefused, TransportError
from gateway.workspace.city_system import CitySystem
from gateway.documents.keys import generate_keys
from gateway.domain.envelope import MessageType
from gateway.observability.alerts import Webhook, WebhookSettings, expiring_certificates
from gateway.service.contacts import ContactBoard
from gateway.observability.events import TransferLog
from gateway.service.daemon import drop_failed
from tests.observability.obs_support import (
    JINAN, PERIOD, YANTAI, ZIBO, Daemon, cli, http_get, workspace,
)
from tests.support.sshd import free_port
from tests.support.waiting import wait_for


class AlertReceiver:
    """A webhook receiver on loopback: answers 500 to the first `fail_first` posts, then 200."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[dict] = []
        self.attempts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.attempts += 1
                if outer.attempts <= fail_first:
                    self.send_response(500)
                else:
                    outer.received.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kinds(self, city: str | None = None) -> list[str]:
        return [a["kind"] for a in self.received if city is None or a.get("city") == city]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = AlertReceiver(fail_first=1)
    yield server
    server.close()


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus exposition (None when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + ("{" if labels else " ")):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_health_and_alerts_of_a_running_daemon(tmp_path: Path, receiver: AlertReceiver) -> None:
    port = free_port()
    config = workspace(tmp_path, [JINAN, ZIBO, YANTAI], f"""
[metrics]
enabled = true
port = {port}
[health]
unreachable_after = "2s"
[alerts]
webhook = "{receiver.url}"
webhook_timeout = "2s"
webhook_retries = 3
""")
    base = f"http://127.0.0.1:{port}"
    daemon = Daemon(config)
    try:
        status, body = wait_for(lambda: _get(base + "/healthz"), until=lambda r: r and r[0] == 200,
                                what="/healthz answering healthy")
        health = json.loads(body)
        assert health["status"] == "ok" and [c["city"] for c in health["cities"]] == [JINAN, ZIBO, YANTAI]

        zibo = CitySystem(ZIBO, tmp_path / "keys", tmp_path / "drops" / ZIBO)
        jinan = CitySystem(JINAN, tmp_path / "keys", tmp_path / "drops" / JINAN)
        _, data = zibo.send(MessageType.A3, JINAN, PERIOD, seed=7)
        wait_for(jinan.deliveries, what="the delivery")
        wait_for(lambda: metric(http_get(base + "/metrics")[1], "ltcgw_delivery_seconds_count"),
                 what="ltcgw_delivery_seconds_count above 0")
        text = http_get(base + "/metrics")[1]
        assert metric(text, "ltcgw_messages", type="A3", state="DELIVERED", city=ZIBO) == 1
        assert metric(text, "ltcgw_receipts_outstanding") == 1
        assert metric(text, "ltcgw_bytes_total", city=ZIBO, direction="in") == len(data)
        assert metric(text, "ltcgw_bytes_total", city=JINAN, direction="out") == len(data)
        assert metric(text, "ltcgw_processing_seconds_count") == 1
        assert metric(text, "ltcgw_delivery_seconds_count") == 1
        assert metric(text, "ltcgw_city_up", city=YANTAI) == 1
        assert time.time() - metric(text, "ltcgw_city_last_contact_timestamp_seconds", city=JINAN) < 60

        # 烟台's drop disappears (a dead mount): alerted, then unhealthy once past its threshold.
        shutil.rmtree(tmp_path / "drops" / YANTAI)
        wait_for(lambda: receiver.kinds(YANTAI), until=lambda kinds: "city_unreachable" in kinds,
                 what="the city_unreachable webhook alert (alert kinds posted)")
        assert receiver.attempts >= 2  # the first post got a 500 and was tried again
        status, body = wait_for(lambda: _get(base + "/healthz"), until=lambda r: r and r[0] == 503,
                                what="/healthz answering unhealthy")
        report = json.loads(body)
        assert report["status"] == "unhealthy" and any(f"city {YANTAI} unreachable" in r for r in report["reasons"])
        assert metric(http_get(base + "/metrics")[1], "ltcgw_city_up", city=YANTAI) == 0
        assert metric(http_get(base + "/metrics")[1], "ltcgw_alerts_total", kind="city_unreachable") >= 1
        for sub in ("outbox", "inbox"):
            (tmp_path / "drops" / YANTAI / sub).mkdir(parents=True)
        wait_for(lambda: _get(base + "/healthz"), until=lambda r: r and r[0] == 200, seconds=60,
                 what="/healthz answering healthy again")

        # A spool that cannot be written is unhealthy at once, with the reason.
        outbox = tmp_path / "spool" / "outbox"
        outbox.rename(tmp_path / "spool" / "outbox.moved")
        outbox.write_text("not a folder")
        status, body = http_get(base + "/healthz")
        assert status == 503 and any("spool" in r and "not writable" in r for r in json.loads(body)["reasons"])
        outbox.unlink()
        (tmp_path / "spool" / "outbox.moved").rename(outbox)
        assert http_get(base + "/healthz")[0] == 200
    finally:
        assert daemon.stop() == 0
    out = cli("status", "-c", str(config)).stdout
    assert "city_unreachable" in out and YANTAI in out
    alerts = json.loads(cli("status", "--json", "-c", str(config)).stdout)["alerts"]
    assert alerts[0]["kind"] and any(a["kind"] == "city_unreachable" and a["city"] == YANTAI for a in alerts)


def _get(url: str) -> tuple[int, str] | None:
    try:
        return http_get(url, timeout=2)
    except OSError:
        return None  # not listening yet


def test_a_refused_host_key_after_a_lost_connection_is_alerted() -> None:
    """The issue-4 note: the throttle alerts whenever the kind of failure changes, not only the first time."""
    seen: list[tuple[str, str]] = []
    listener = lambda event, fields: event == "alert" and seen.append((fields["kind"], fields["cause"]))  # noqa: E731
    log = TransferLog()
    log.subscribe(listener)
    try:
        board = ContactBoard()
        for _ in range(3):
            drop_failed(log, board, JINAN, TransportError("connection reset"))
        drop_failed(log, board, JINAN, HostKeyRefused("offered an unknown ssh-ed25519 host key"))
        drop_failed(log, board, JINAN, HostKeyRefused("offered an unknown ssh-ed25519 host key"))
        drop_failed(log, board, JINAN, TransportError("connection refused"))
        for _ in range(4):
            drop_failed(log, board, JINAN, TransportError("connection refused"))  # the 10th in a row: a reminder
    finally:
        log.unsubscribe(listener)
    assert seen == [("city_unreachable", "TransportError"), ("host_key_refused", "HostKeyRefused"),
                    ("city_unreachable", "TransportError"), ("city_unreachable", "TransportError")]
    assert board.snapshot()[JINAN].failures == 10


def test_the_webhook_never_makes_the_daemon_wait() -> None:
    dead = f"http://127.0.0.1:{free_port()}/alerts"  # nothing listens there
    hook = Webhook(WebhookSettings(dead, timeout=1, retries=3, backoff=0.2), queue_size=5)
    started = time.monotonic()
    queued = [hook.post({"kind": "city_unreachable", "n": i}) for i in range(20)]
    assert time.monotonic() - started < 0.5
    assert queued.count(True) <= 6 and queued[-1] is False  # a full queue drops, it does not block
    hook.close(timeout=0.1)


def test_certificates_expiring_within_the_window_are_found(tmp_path: Path) -> None:
    _, soon = generate_keys("370100", tmp_path / "soon", days=10)
    _, later = generate_keys("370300", tmp_path / "later", days=400)
    rotating = tmp_path / "rotating.pem"  # the old certificate expiring with its successor in the same file
    rotating.write_bytes(soon.read_bytes() + later.read_bytes())
    found = expiring_certificates({"370100": [soon], "370300": [later], "370600": [rotating]}, timedelta(days=30))
    assert [(f["ref"], round(f["days"])) for f in found] == [("370100", 10)]


def test_the_daemon_alerts_an_expiring_pinned_certificate_once(tmp_path: Path, receiver: AlertReceiver) -> None:
    from gateway.bootstrap import build_gateway, watched
    from gateway.config import load_config
    from gateway.observability.runtime import Supervision

    config_path = workspace(tmp_path, [JINAN, ZIBO], f'[alerts]\nwebhook = "{receiver.url}"\ncertificate_days = 30')
    for suffix in ("key", "crt"):
        (tmp_path / "keys" / f"{ZIBO}.{suffix}.pem").unlink()
    generate_keys(ZIBO, tmp_path / "keys", days=12)  # 淄博 re-keyed with a certificate good for 12 days
    config = load_config(config_path)
    gw = build_gateway(config)
    runtime = Supervision(watched(config), gw.log, gw.ledger).start()
    try:
        runtime.check_certificates()  # the twice-daily check again: no second alert for the same certificate
        wait_for(lambda: receiver.kinds(ZIBO), what="the webhook alert")
        alerts = [detail for _, _, city, detail in gw.ledger.recent_events("alert", 10)]
        assert [(a["kind"], a["ref"], round(a["days"])) for a in alerts] == [("certificate_expiring", ZIBO, 12)]
        assert receiver.kinds() == ["certificate_expiring"]
    finally:
        runtime.close()
        gw.ledger.close()
        gw.checker.close()
