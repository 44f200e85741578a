"""Alerts: what an operator must act on, logged as `alert` events, kept in the ledger, sent to a webhook.

The service raises them through gateway/service/events.py `alert(kind, ...)`; `AlertSink` listens there, so
one call logs, records and notifies. The webhook runs on its own thread behind a bounded queue: a slow or dead
receiver costs the daemon nothing (an alert that cannot be queued is logged and counted, never waited for).
Alert texts are masked like every log line before they leave the process.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from gateway.observability.masking import mask_value
from gateway.service.ports.ledger import Scope

# kind -> what it means and what to do (docs/operations.md has the same table). The kind is the machine key; the
# meaning is English and the msgid of the "alerts" catalog (gateway/locales/zh_CN/LC_MESSAGES/alerts.po): a new
# kind needs its translation there (`python -m gateway.i18n update alerts`; tests/test_i18n.py checks it).
ALERT_KINDS: dict[str, str] = {
    "message_failed": "delivered as often as the schedule allows and no receipt came: FAILED",
    "receipt_overdue": "a receipt did not come within its wait: the message is delivered again",
    "city_unreachable": "a city's drop cannot be listed or written (down, permissions, timeout)",
    "host_key_refused": "a city's SFTP server offered an unknown or changed host key: refused",
    "certificate_expiring": "a pinned or the gateway's own certificate expires soon",
    "file_quarantined": "a file was refused (NACKed and kept in quarantine) or cannot be taken from a drop",
    "config_refused": "a reloaded configuration has problems: the old one is kept",
    "metrics_unavailable": "the metrics endpoint cannot listen (port taken?): the exchange goes on without it",
    "watch_unavailable": "no file-system events for a drop: the periodic rescan still finds every file",
    "city_worker_error": "an unexpected error in a city's worker (it goes on after a pause)",
    "engine_error": "an unexpected error in the engine (it goes on after a pause)",
    "console_login_refused": "the web console refused a login: wrong name or password, or the accounts file is unusable",
    "console_login_locked": "the web console locked out an account or a client address after too many failed logins",
    "purge_failed": "the retention purge failed (it is tried again at its next hour); nothing was lost",
    "ledger_unreachable": "the ledger's database cannot be reached (leases not renewed): retried with back-off",
    "console_error": "an unexpected error behind a console page (the page shows no detail)",
    "calendar_missing": "from 1 October: next year's official holidays are not known; deadlines in it cannot be counted",
    "console_unavailable": "the web console cannot listen (port taken?): the exchange goes on without it",
    # the settlement watch (gateway/service/settlement_watch.py), once per item
    "payment_due_soon": "a payment advice (第二十六条) is due within the warning days and has not arrived",
    "payment_late": "a payment advice is overdue (cause missing) or arrived after its day (cause late)",
    "dispute_due_soon": "the answer to a dispute (第三十一条) is due within the warning days",
    "dispute_overdue": "a dispute was not answered within 15 working days (第三十一条)",
    "settlement_watch_failed": "the daily look at the settlement calendar failed (a holiday file?); tried again",
    "spool_full": "the spool's disk is full: files wait in the cities' drops; what is owed is still written",
    "instance_lost": "a gateway instance stopped renewing its lease (killed, hung, machine or network lost): the "
                     "others take over its drops and checks",
}
# Kinds the service records in the ledger itself, in the transaction that caused them.
RECORDED_BY_SERVICE = frozenset({"message_failed"})


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """`[alerts]` and `[health]`: where alerts go besides the log and the ledger, and when to raise them."""

    webhook: str | None = None
    webhook_timeout: float = 5.0
    webhook_retries: int = 3
    certificate_days: int = 60  # Domibus's default warning for certificates about to expire
    unreachable_after: timedelta = timedelta(minutes=15)
    language: str = "zh-CN"  # of the webhook's `meaning` ("zh-CN" or "en"); `kind` is the same in both


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    url: str
    timeout: float = 5.0
    retries: int = 3
    backoff: float = 1.0  # seconds before the 2nd try; doubled each time


class Webhook:
    """POSTs each alert as JSON to `url` from a background thread, retrying a few times."""

    def __init__(self, settings: WebhookSettings, *, queue_size: int = 1000,
                 on_drop: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(queue_size)
        self._on_drop = on_drop
        self._thread = threading.Thread(target=self._run, name="alert-webhook", daemon=True)
        self._thread.start()

    def post(self, payload: dict[str, Any]) -> bool:
        """Queue an alert; False (and nothing waits) when the queue is full."""
        try:
            self._queue.put_nowait(payload)
            return True
        except queue.Full:
            self.failed += 1
            if self._on_drop:
                self._on_drop("webhook queue full")
            return False

    def close(self, timeout: float = 5.0) -> None:
        """Let the queued alerts go out (up to `timeout`), then stop the thread."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while (payload := self._queue.get()) is not None:
            if self._send(payload):
                self.sent += 1
            else:
                self.failed += 1
                if self._on_drop:
                    self._on_drop(f"webhook gave up after {self.settings.retries} tries")

    def _send(self, payload: dict[str, Any]) -> bool:
        body = json.dumps(payload, ensure_ascii=False).encode()
        wait = self.settings.backoff
        for attempt in range(max(self.settings.retries, 1)):
            request = urllib.request.Request(
                self.settings.url, data=body, method="POST",
                headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "ltc-gateway"},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.settings.timeout) as response:
                    if 200 <= response.status < 300:
                        return True
            except (urllib.error.URLError, OSError, ValueError):
                pass  # refused, timed out, 4xx/5xx: tried again
            if attempt + 1 < self.settings.retries:
                time.sleep(wait)
                wait *= 2
        return False


class AlertSink:
    """The events listener that records alerts in the ledger and passes them to the webhook.

    Alerts are raised from inside the service's transactions (a NACK is decided and its alert raised in one
    unit of work), so the sink never writes where it is called: it queues the alert and its own thread records
    it once the caller's transaction has let go of the ledger. Nested transactions on one connection fail, and
    on SQLite they would wait on themselves.
    """

    def __init__(self, ledger: Any, *, webhook: Webhook | None = None, gateway: str = "",
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc), queue_size: int = 10_000,
                 language: str = "zh-CN") -> None:
        self.ledger = ledger
        self.webhook = webhook
        self.gateway = gateway
        self.language = language
        self.clock = clock
        self.dropped = 0
        self._queue: queue.Queue[tuple[datetime, dict[str, Any]] | None] = queue.Queue(queue_size)
        self._thread = threading.Thread(target=self._run, name="alert-recorder", daemon=True)
        self._thread.start()

    def __call__(self, event: str, fields: dict[str, Any]) -> None:
        if event != "alert":
            return
        try:
            self._queue.put_nowait((self.clock(), mask_value(dict(fields))))
        except queue.Full:
            self.dropped += 1  # the alert event itself is already in the transfer log

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every alert queued so far is recorded (tests, `run --once`); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            pass
        self._thread.join(timeout)
        if self.webhook is not None:
            self.webhook.close()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._record(*item)
            except Exception:  # noqa: BLE001 - an alert that cannot be recorded must not stop the next ones
                self.dropped += 1
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _record(self, at: datetime, fields: dict[str, Any]) -> None:
        kind = str(fields.get("kind", "unknown"))
        if kind not in RECORDED_BY_SERVICE:
            with self.ledger.unit_of_work(Scope()) as tx:  # an event only: nothing anybody decides on
                tx.record_event(at, "alert", fields.get("city"), fields)
        if self.webhook is not None:
            self.webhook.post({"gateway": self.gateway, "at": at.isoformat(timespec="seconds"), **fields,
                               "meaning": meaning(kind, self.language)})


def meaning(kind: str, lang: str = "zh-CN") -> str | None:
    """What alert `kind` means and what to do, in `lang` ("zh-CN" or "en"); None for a kind not in ALERT_KINDS."""
    from gateway.i18n import translations

    text = ALERT_KINDS.get(kind)
    return None if text is None else translations(lang, "alerts").gettext(text)


def recent_alerts(ledger: Any, limit: int = 20) -> list[dict[str, Any]]:
    """The newest alerts first, each {at, kind, city, ...detail} (for `ltcgw status` and the console)."""
    rows = ledger.recent_events("alert", limit)
    return [{"at": at.isoformat(timespec="seconds"), "city": city, **mask_value(detail)} for at, _, city, detail in rows]


def expiring_certificates(paths: dict[str, list[Path]], within: timedelta,
                          now: datetime | None = None) -> list[dict[str, Any]]:
    """Certificates that expire within `within` (or have expired), by owner (a city code or "gateway").

    A rotation PEM holds the old and the new certificate: the old one expiring is no news when a newer one
    for the same owner is valid beyond the window, so only owners without such a successor are reported."""
    from gateway.documents.keys import load_certificates  # PEM (several for a rollover) or DER

    now = now or datetime.now(timezone.utc)
    found = []
    for owner, files in paths.items():
        certs = []
        for path in files:
            try:
                certs.extend((path, c) for c in load_certificates(path))
            except (OSError, ValueError):
                continue  # `config check` reports unreadable files
        if any(c.not_valid_after_utc > now + within for _, c in certs):
            continue
        for path, cert in certs:
            days = (cert.not_valid_after_utc - now).total_seconds() / 86400
            found.append({"ref": owner, "file": str(path), "days": round(days, 1),
                          "not_after": cert.not_valid_after_utc.isoformat(timespec="seconds"),
                          "subject": cert.subject.rfc4514_string()})
    return found
