"""The operators' web console as a WSGI application: server-rendered pages over the ledger, no JavaScript.

Why Jinja2 over the standard library's WSGI server, and no framework: the console has five routes and one
form action; Jinja2 (autoescaping on) is the small, long-maintained piece that makes HTML safe by default,
and wsgiref serves loopback traffic from a thread of the daemon without another process or dependency.

Pages: `/` (what needs attention, per-city health), `/messages` (the log, filtered, newest first),
`/message/SHA256` (header, timeline, findings, files written, resend and download forms), `/static/...`.
Two POST actions, both needing the operator token and the form's CSRF token: resend (changes state; only
when the console is not read-only and the daemon gave it a way to resend) and the original's download
(personal data: the token is the proof that an operator, not just any local account, asks for it).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from http import HTTPStatus
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape

from gateway.service.ports.ledger import Ledger
from gateway.service.ports.spool import Spool
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import RetryPolicy, State
from gateway.service.ports.events import EventLog
from gateway.service.context import utc_now
from gateway.service.retention import original_purged_at
from gateway.web import queries
from gateway.web.settings import ConsoleSettings
from gateway.web.security import SECURITY_HEADERS, CsrfTokens, allowed_hosts, is_loopback, token_matches

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Resend = Callable[[str], str]  # message id -> the city it goes to again (gateway.service.resend.resend_by_hand)

_SHA = re.compile(r"^/message/([0-9a-f]{64})(/resend|/original)?$")
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_FORM_BYTES = 4096


class HttpError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Response:
    status: HTTPStatus
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    seconds = int((now - value).total_seconds())
    if seconds < 0:
        return "in " + _span(-seconds)
    return _span(seconds) + " ago"


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


class ConsoleApp:
    """The WSGI callable. `resend` is None when the console runs alone (`ltcgw console`): then read-only."""

    def __init__(self, ledger: Ledger, spool: Spool, log: EventLog, *, policy: RetryPolicy, cities: dict[str, str],
                 settings: ConsoleSettings, resend: Resend | None = None,
                 clock: Callable[[], datetime] = utc_now, page_size: int = 50,
                 contacts: Callable[[], Mapping[str, Any]] | None = None) -> None:
        self.ledger, self.spool, self.log, self.policy, self.cities = ledger, spool, log, policy, cities
        self.contacts = contacts  # the daemon's per-city contact board (ContactBoard.snapshot), inside `ltcgw run`
        self.settings, self.resend, self.clock, self.page_size = settings, resend, clock, page_size
        self.csrf = CsrfTokens()
        self.mask = queries.masker()
        self.listening_on(settings.host, settings.port)
        self.env = Environment(loader=PackageLoader("gateway.web", "templates"),
                               autoescape=select_autoescape(default=True, default_for_string=True))
        self.env.filters["when"] = _when
        self.env.globals.update(city_name=lambda code: self.cities.get(code, code) if code else "—", mask=self.mask)

    def configure(self, cities: dict[str, str], policy: RetryPolicy) -> None:
        """A reload: city names and the retry schedule as configured now (pages read them per request)."""
        self.cities, self.policy = dict(cities), policy

    def listening_on(self, host: str, port: int) -> None:
        """Accept only these Host headers on loopback (DNS rebinding); the real port is known once bound."""
        self.hosts = allowed_hosts(host, port) if is_loopback(host) else None

    @property
    def can_resend(self) -> bool:
        return self.resend is not None and not self.settings.read_only and self.settings.token_file is not None

    @property
    def can_download(self) -> bool:
        return self.settings.token_file is not None

    # --- WSGI -----------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            response = self.handle(environ)
        except HttpError as exc:
            response = self.page(exc.status, "error.html", message=exc.message)
        except Exception as exc:  # a page must never leak a stack trace (or a document's content)
            self.log.alert("console_error", error=type(exc).__name__)
            response = self.page(HTTPStatus.INTERNAL_SERVER_ERROR, "error.html", message="internal error (logged)")
        headers = [*SECURITY_HEADERS, ("Cache-Control", "no-store"), *response.headers]
        headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status.value} {response.status.phrase}", headers)
        return [response.body]

    def handle(self, environ: dict[str, Any]) -> Response:
        if self.hosts is not None and environ.get("HTTP_HOST", "") not in self.hosts:
            raise HttpError(HTTPStatus.MISDIRECTED_REQUEST, "unexpected Host header")
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if path.startswith("/static/"):
            return self.static(path.removeprefix("/static/"))
        match = _SHA.match(path)
        if method == "POST":
            if not match or not match.group(2):
                raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED, "nothing to post here")
            return self.action(environ, match.group(1), match.group(2)[1:], query)
        if method not in ("GET", "HEAD"):
            raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed")
        if path == "/":
            return self.overview()
        if path == "/favicon.ico":
            return Response(HTTPStatus.NO_CONTENT, b"")
        if path == "/messages":
            return self.messages(query)
        if match and not match.group(2):
            return self.message(match.group(1), query)
        raise HttpError(HTTPStatus.NOT_FOUND, "no such page")

    # --- pages ----------------------------------------------------------------------------------------
    def page(self, status: HTTPStatus, template: str, **context: Any) -> Response:
        now = self.clock()
        html = self.env.get_template(template).render(
            now=now, ago=lambda value: _ago(value, now), read_only=not self.can_resend, **context)
        return Response(status, html.encode("utf-8"), [("Content-Type", "text/html; charset=utf-8")])

    def overview(self) -> Response:
        now = self.clock()
        health = queries.city_health(self.ledger, self.cities, now, contacts=self.contacts() if self.contacts else None,
                                     mask=self.mask)
        todo = queries.attention(self.ledger, self.policy, now)
        return self.page(HTTPStatus.OK, "overview.html", health=health, todo=todo, section="overview")

    def messages(self, query: dict[str, str]) -> Response:
        problems: list[str] = []
        wanted = _filter(query, problems)
        try:
            number = int(query.get("page", "1"))
        except ValueError:
            number = 1
        page = queries.message_log(self.ledger, wanted, number, self.page_size)
        base = {k: v for k, v in query.items() if k != "page" and v}
        link = lambda n: "/messages?" + urlencode({**base, "page": n})  # noqa: E731
        cities = sorted(self.cities)
        return self.page(
            HTTPStatus.OK, "messages.html", page=page, wanted=wanted, problems=problems, link=link,
            cities=cities, types=[t.value for t in MessageType], states=[s.value for s in State], section="messages")

    def message(self, sha256: str, query: dict[str, str], notice: str = "") -> Response:
        key = int(query["key"]) if query.get("key", "").isdigit() else None
        view = queries.message_view(self.ledger, sha256, self.policy, key)
        if view is None:
            raise HttpError(HTTPStatus.NOT_FOUND, "no message with these bytes in the ledger")
        resendable = view.record.state in (State.DELIVERED, State.WAITING_FOR_RETRY, State.FAILED) and bool(view.record.message_id)
        return self.page(
            HTTPStatus.OK, "message.html", view=view, findings=queries.finding_rows(view.record.findings, self.mask),
            resendable=resendable and self.can_resend, can_download=self.can_download,
            purged_on=original_purged_at(self.ledger, self.spool, sha256),
            csrf_resend=self.csrf.issue("resend", sha256), csrf_original=self.csrf.issue("original", sha256),
            notice=notice or {"resent": "Resend requested: the daemon writes it to the receiver's inbox now."}.get(
                query.get("note", ""), ""), section="messages")

    # --- actions --------------------------------------------------------------------------------------
    def action(self, environ: dict[str, Any], sha256: str, action: str, query: dict[str, str]) -> Response:
        origin = environ.get("HTTP_ORIGIN")
        if origin and self.hosts is not None and origin.split("://", 1)[-1] not in self.hosts:
            raise HttpError(HTTPStatus.FORBIDDEN, "refused: the form was not posted from this console")
        form = _read_form(environ)
        if not self.csrf.valid(form.get("csrf", ""), action, sha256):
            raise HttpError(HTTPStatus.FORBIDDEN, "refused: the form has expired or did not come from this console; reload the page")
        if action == "resend" and not self.can_resend:
            raise HttpError(HTTPStatus.FORBIDDEN, "refused: this console is read-only")
        if action == "original" and not self.can_download:
            raise HttpError(HTTPStatus.FORBIDDEN, "refused: downloads need a console token file ([console] token_file)")
        if not token_matches(form.get("token", ""), self.settings.token_file):
            self.log.alert("console_token_refused", name=action, sha256=sha256)
            raise HttpError(HTTPStatus.FORBIDDEN, "refused: the operator token is missing or wrong")
        key = int(query["key"]) if query.get("key", "").isdigit() else None
        view = queries.message_view(self.ledger, sha256, self.policy, key)
        if view is None:
            raise HttpError(HTTPStatus.NOT_FOUND, "no message with these bytes in the ledger")
        if action == "original":
            return self.original(view.record)
        return self.do_resend(view.record, key)

    def original(self, record: Any) -> Response:
        try:
            data = self.spool.read("inbox", record.sha256)
        except FileNotFoundError:
            purged = original_purged_at(self.ledger, self.spool, record.sha256)
            when = f" on {purged.date().isoformat()}" if purged else ""
            raise HttpError(HTTPStatus.GONE, f"the original was purged{when} after its retention; "
                                             "the ledger keeps its record") from None
        self.log.emit("console_download", id=record.message_id, sha256=record.sha256, size=len(data))
        name = record.delivery_name or f"{record.sha256}.xml"
        return Response(HTTPStatus.OK, data, [
            ("Content-Type", "application/octet-stream"),
            ("Content-Disposition", f'attachment; filename="{_safe_name(name)}"'),
        ])

    def do_resend(self, record: Any, key: int | None) -> Response:
        from gateway.service.resend import UnknownMessage

        assert self.resend is not None and record.message_id
        try:
            city = self.resend(record.message_id)
        except UnknownMessage as exc:
            raise HttpError(HTTPStatus.CONFLICT, str(exc)) from None
        self.log.emit("console_resend", id=record.message_id, receiver=city)
        target = f"/message/{record.sha256}?" + urlencode({"note": "resent", **({"key": key} if key else {})})
        return Response(HTTPStatus.SEE_OTHER, b"", [("Location", target)])

    def static(self, name: str) -> Response:
        if not re.fullmatch(r"[a-z0-9_-]+\.(css|png|svg|ico)", name):
            raise HttpError(HTTPStatus.NOT_FOUND, "no such file")
        try:
            data = resources.files("gateway.web").joinpath("static", name).read_bytes()
        except FileNotFoundError:
            raise HttpError(HTTPStatus.NOT_FOUND, "no such file") from None
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Response(HTTPStatus.OK, data, [("Content-Type", kind)])


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:200]


def _read_form(environ: dict[str, Any]) -> dict[str, str]:
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        raise HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "a form post is expected")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_FORM_BYTES:
        raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "form too large")
    body = environ["wsgi.input"].read(length).decode("utf-8", "replace")
    return {k: v[-1] for k, v in parse_qs(body).items()}


def _filter(query: dict[str, str], problems: list[str]) -> queries.MessageFilter:
    """The log's filter from the query string; a malformed value is ignored and said so."""
    def day(name: str) -> date | None:
        value = query.get(name, "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            problems.append(f"{name}: not a date (YYYY-MM-DD): ignored")
            return None

    period = query.get("period", "").strip()
    if period and not _PERIOD.match(period):
        problems.append("period: not a month (YYYY-MM): ignored")
        period = ""
    state = query.get("state", "").strip().upper()
    if state and state not in State.__members__:
        problems.append("state: unknown: ignored")
        state = ""
    return queries.MessageFilter(
        city=query.get("city", "").strip(), type=query.get("type", "").strip().upper(), state=state, period=period,
        text=query.get("q", "").strip()[:100], since=day("since"), until=day("until"))


__all__ = ["ConsoleApp", "HttpError"]
