"""What the console shows, read from the ledger: pure functions from ledger records to page data.

Only the ledger's read-only views are used (`messages`, `trace`, `outgoing`, `events`), so the console reads
the same way from SQLite or PostgreSQL and never takes the write lock the daemon needs. Nothing here opens a
document: pages show header fields, states, causes and finding codes, never a person's name or ID number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from gateway import i18n
from gateway.domain.findings import finding_text
from gateway.service.ports.ledger import Ledger, MessageRecord, Outgoing, TransitionRecord
from gateway.domain.lifecycle import AWAITING_RECEIPT, FINAL_STATES, RECEIPT_CLOSES, RetryPolicy, State

ATTACHMENTS = frozenset({"A1", "A2", "A3", "A4", "A5"})
_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


def _fallback_mask(text: str) -> str:
    return _ID_NUMBER.sub(lambda m: m.group(0)[:6] + "*" * 12, text)


def masker() -> Callable[[str], str]:
    """The observability masking function (issue 5, item 1) when present, else ID numbers masked here."""
    try:
        from gateway.observability import masking  # type: ignore[attr-defined]
    except ImportError:
        return _fallback_mask
    for name in ("mask_text", "mask"):
        function = getattr(masking, name, None)
        if callable(function):
            return function
    return _fallback_mask


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """The message log's filters, as the form sends them (empty strings mean "any")."""

    city: str = ""
    type: str = ""
    state: str = ""
    period: str = ""
    text: str = ""  # part of a message id or serial
    since: date | None = None  # received on or after (local date)
    until: date | None = None  # received on or before

    def matches(self, record: MessageRecord) -> bool:
        if self.type and record.type != self.type:
            return False
        if self.text:
            needle = self.text.lower()
            if not any(needle in (value or "").lower() for value in (record.message_id, record.serial, record.sha256)):
                return False
        received = record.received_at.astimezone().date()
        if self.since and received < self.since:
            return False
        return not (self.until and received > self.until)


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[MessageRecord]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def message_log(ledger: Ledger, query: MessageFilter, page: int = 1, size: int = 50) -> Page:
    """Messages matching `query`, newest first, one page of them."""
    records = ledger.messages(state=query.state or None, city=query.city or None, period=query.period or None)
    matching = [r for r in reversed(records) if query.matches(r)]
    pages = max(1, -(-len(matching) // size))
    number = min(max(page, 1), pages)
    return Page(matching[(number - 1) * size: number * size], number, size, len(matching))


@dataclass(frozen=True, slots=True)
class MessageView:
    record: MessageRecord
    transitions: list[TransitionRecord]
    files: list[Outgoing]  # deliveries (with their resends) and the replies the gateway wrote for it
    receipt_due: datetime | None
    same_id: list[MessageRecord]  # other messages under the same id (conflicts, revisions)


def message_view(ledger: Ledger, sha256: str, policy: RetryPolicy, key: int | None = None) -> MessageView | None:
    """One message by the digest of its bytes (the same bytes dropped twice: `key` picks which)."""
    traces = [(r, t) for r, t in ledger.trace(sha256) if r.sha256 == sha256]
    if key is not None:
        traces = [(r, t) for r, t in traces if r.key == key]
    if not traces:
        return None
    record, transitions = traces[0]
    cities = {c for c in (record.receiver, record.drop_city, record.sender) if c}
    files = sorted((o for city in cities for o in ledger.outgoing(city) if o.message_key == record.key),
                   key=lambda o: o.key)
    due = None
    if record.state in AWAITING_RECEIPT and record.last_delivered_at is not None:
        due = policy.receipt_due(record.deliveries, record.last_delivered_at)
    same_id = [r for r, _ in ledger.trace(record.message_id)] if record.message_id else []
    return MessageView(record, transitions, files, due, [r for r in same_id if r.key != record.key])


@dataclass
class CityHealth:
    city: str
    name: str
    last_received: datetime | None = None  # the last file taken from its drop
    last_written: datetime | None = None  # the last file the gateway wrote to its inbox
    sent: int = 0
    rejected: int = 0
    owes_receipts: int = 0  # messages delivered to it, waiting for its receipt (its backlog)
    failed: int = 0  # messages to it that ran out of resends
    oldest_unacknowledged: datetime | None = None
    files_waiting: int = 0  # files owed to its inbox and not yet written (a drop down or slow)
    alerts: int = 0
    last_scan: datetime | None = None  # the daemon's last successful look at its drop (inside `ltcgw run` only)
    failing_since: datetime | None = None  # its drop has failed since then (None: reachable or unknown)
    failures: int = 0
    last_error: str = ""

    @property
    def last_contact(self) -> datetime | None:
        return max((t for t in (self.last_received, self.last_written, self.last_scan) if t), default=None)

    @property
    def attention(self) -> bool:
        return bool(self.failed or self.files_waiting or self.alerts or self.failing_since)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((t for t in (a, b) if t), default=None)


def city_health(ledger: Ledger, cities: dict[str, str], now: datetime, alert_window: timedelta = timedelta(days=1),
                contacts: Mapping[str, Any] | None = None, mask: Callable[[str], str] = _fallback_mask) -> list[CityHealth]:
    """Per city (the configured ones and any the ledger knows): contact, backlog, failures. `contacts` is the
    running daemon's ContactBoard snapshot (gateway/observability/health.py), when there is one."""
    health = {code: CityHealth(code, name) for code, name in cities.items()}
    for code, contact in (contacts or {}).items():
        city = health.setdefault(code, CityHealth(code, code))
        city.last_scan, city.failing_since = contact.last_success, contact.failing_since
        city.failures, city.last_error = contact.failures, mask(contact.last_error or "")

    def of(code: str) -> CityHealth:
        return health.setdefault(code, CityHealth(code, code))

    for record in ledger.messages():
        sender = of(record.drop_city)
        sender.last_received = _later(sender.last_received, record.received_at)
        if record.type not in ATTACHMENTS:
            continue
        sender.sent += 1
        sender.rejected += record.state is State.REJECTED
        if record.receiver and record.state in RECEIPT_CLOSES:
            receiver = of(record.receiver)
            receiver.failed += record.state is State.FAILED
            receiver.owes_receipts += record.state in AWAITING_RECEIPT
            oldest = receiver.oldest_unacknowledged
            receiver.oldest_unacknowledged = record.received_at if oldest is None else min(oldest, record.received_at)
    for out in ledger.outgoing():
        city = of(out.city)
        if out.written_at is not None:
            city.last_written = _later(city.last_written, out.written_at)
        elif not out.cancelled:
            city.files_waiting += 1
    for alert in recent_alerts(ledger, now - alert_window):
        if alert.get("city"):
            of(alert["city"]).alerts += 1
    return sorted(health.values(), key=lambda h: h.city)


def recent_alerts(ledger: Ledger, since: datetime, limit: int = 200) -> list[dict[str, Any]]:
    """Alerts recorded since `since` (the newest `limit`), newest first: {at, kind, city, meaning, ...detail},
    masked, as gateway/observability/alerts.py gives them to `ltcgw status`."""
    from gateway.observability.alerts import ALERT_KINDS
    from gateway.observability.alerts import recent_alerts as newest

    found = []
    for alert in newest(ledger, limit):
        at = datetime.fromisoformat(alert["at"])
        if at >= since:
            found.append({**alert, "at": at, "meaning": ALERT_KINDS.get(alert.get("kind", ""), "")})
    return found


@dataclass
class Attention:
    overdue: list[tuple[MessageRecord, datetime]] = field(default_factory=list)  # receipt overdue (and when due)
    failed: list[MessageRecord] = field(default_factory=list)
    rejected_today: list[MessageRecord] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    unreadable: int = 0

    @property
    def count(self) -> int:
        return len(self.overdue) + len(self.failed) + len(self.rejected_today) + len(self.alerts)


def attention(ledger: Ledger, policy: RetryPolicy, now: datetime, alert_window: timedelta = timedelta(days=1)) -> Attention:
    """What needs an operator: receipts overdue, FAILED messages, today's refusals, recent alerts."""
    out = Attention()
    today = now.astimezone().date()
    for record in ledger.messages():
        if record.state in AWAITING_RECEIPT and record.last_delivered_at is not None:
            due = policy.receipt_due(record.deliveries, record.last_delivered_at)
            if record.state is State.WAITING_FOR_RETRY or due <= now:
                out.overdue.append((record, due))
        elif record.state is State.FAILED:
            out.failed.append(record)
        elif record.state is State.REJECTED and record.received_at.astimezone().date() == today:
            out.rejected_today.append(record)
    out.overdue.sort(key=lambda item: item[1])
    out.failed.sort(key=lambda r: r.updated_at, reverse=True)
    out.rejected_today.sort(key=lambda r: r.received_at, reverse=True)
    out.alerts = recent_alerts(ledger, now - alert_window)
    return out


def open_states() -> list[str]:
    return [s.value for s in State if s not in FINAL_STATES]


def distinct(values: Iterable[str | None]) -> list[str]:
    return sorted({v for v in values if v})


def finding_rows(findings: Sequence[dict[str, Any]], mask: Callable[[str], str],
                 lang: str = i18n.DEFAULT_LANGUAGE) -> list[dict[str, str]]:
    """Findings as the page shows them: code, masked message in the reader's language (said again from the
    recorded template and values), line/path when known."""
    rows = []
    for finding in findings:
        where = " ".join(str(finding[k]) for k in ("line", "path") if finding.get(k) is not None)
        rows.append({"code": str(finding.get("code", "")), "message": finding_text(finding, lang, mask),
                     "where": mask(where)})
    return rows


@dataclass(frozen=True, slots=True)
class AlertRow:
    at: datetime
    kind: str
    meaning: str
    city: str | None
    about: str  # masked: a message id, a file, an error
    link: str | None  # its message's page, else the message log filtered on its id, else its city


def alert_rows(ledger: Ledger, since: datetime, mask: Callable[[str], str], limit: int = 500) -> list[AlertRow]:
    """Alerts since `since`, newest first, each linked to what it is about."""
    rows = []
    for alert in recent_alerts(ledger, since, limit):
        about = str(alert.get("id") or alert.get("name") or alert.get("error") or alert.get("ref") or "")
        sha = str(alert.get("sha256") or "")
        if re.fullmatch(r"[0-9a-f]{64}", sha):
            link = f"/message/{sha}"
        elif alert.get("id"):
            link = "/messages?" + urlencode({"q": str(alert["id"])})
        elif alert.get("city"):
            link = f"/cities#city-{alert['city']}"
        else:
            link = None
        rows.append(AlertRow(alert["at"], str(alert.get("kind", "")), alert.get("meaning", ""), alert.get("city"),
                             mask(about)[:200], link))
    return rows


@dataclass(frozen=True, slots=True)
class Certificate:
    file: str
    subject: str
    not_after: datetime | None
    problem: str = ""


@dataclass(frozen=True, slots=True)
class CityEntry:
    """A configured city as the cities page shows it: where its drop is and whose signatures it pins."""

    code: str
    name: str
    endpoint: str = ""  # "local /srv/drops/370200" or "sftp user@host:port/path"
    certificate_files: tuple[Path, ...] = ()

    def certificates(self) -> list[Certificate]:
        return [c for path in self.certificate_files for c in read_certificates(path)]


def read_certificates(path: Path) -> list[Certificate]:
    """The certificates in a PEM file with their subject and expiry (a problem said, never raised)."""
    from cryptography import x509

    try:
        found = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        return [Certificate(path.name, "", None, str(getattr(exc, "strerror", None) or exc)[:120])]
    return [Certificate(path.name, c.subject.rfc4514_string(), c.not_valid_after_utc) for c in found]


@dataclass
class MonthSettlement:
    """What `ltcgw deadlines` and `ltcgw reconcile` compute for one month, for the settlement page: deadline
    lines (gateway/domain/deadlines.py Item) and reconciliations (gateway/domain/reconciliation.py), or why
    the reconciliation could not be made."""

    period: str
    deadlines: list[Any] = field(default_factory=list)
    reconciliations: list[Any] = field(default_factory=list)
    problem: str = ""
