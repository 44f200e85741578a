"""The operators' web console: Flask pages over the ledger, server-rendered, no JavaScript, strict CSP.

Why Flask (and waitress, gateway/web/server.py) and no longer a router of our own over wsgiref: the console
grew logins, sessions, roles, confirmation pages and a dozen routes. Flask gives routing, form parsing and
signed session cookies (itsdangerous) from a project maintained for fifteen years, stays WSGI and synchronous
like the ledger it reads (no thread-pool hop as an ASGI framework would need), and adds four small pure-Python
packages. Measured here (scripts/console_bench.py, docs/operations.md): Flask + waitress answers ~590 pages/s
and starts in 0.18 s, Starlette + uvicorn ~1400 pages/s in 0.14 s, wsgiref ~660 in 0.07 s: for a few
operators any of them is a thousand times enough, so the choice is the lighter, synchronous one.

Every page needs a login (gateway/web/accounts.py: name, role, bcrypt hash in a file the administrator keeps
with `ltcgw user`). A session is a signed cookie (HttpOnly, SameSite=Strict) that names the account and its
password's fingerprint: removing the account or changing its password ends the session at the next request.
The cookie's key is kept in `[console] session_key_file` (gateway/web/session_key.py): a session survives a
restart and holds on every console instance sharing that file.
Roles: viewer (pages), operator (resend, download of an original, the audit log), administrator (also the
accounts). Each action is asked on a confirmation page with a reason, then done and written to the audit log
in the ledger (gateway/service/audit.py), refused or not.

Texts are English msgids translated through gateway/i18n.py's "console" catalog (zh-CN by default, English
on request, a per-session choice), with Jinja2's i18n extension in the templates.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from http import HTTPStatus
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, g, redirect, request, session
from jinja2 import Environment, PackageLoader, select_autoescape

from gateway import i18n
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import RESENDABLE, RetryPolicy, State
from gateway.domain.notes import Note
from gateway.service import audit
from gateway.service.context import utc_now
from gateway.service.ports.events import EventLog
from gateway.service.ports.ledger import Ledger
from gateway.service.ports.spool import Spool
from gateway.service.retention import original_purged_at
from gateway.web import queries
from gateway.web.accounts import Account, AccountsError, AccountsFile, Role, is_name, verify
from gateway.web.security import SECURITY_HEADERS, allowed_hosts, is_loopback
from gateway.web.session_key import session_key
from gateway.web.throttle import LoginGuard
from gateway.web.settings import ConsoleSettings

Resend = Callable[..., str]  # (message id, cause=...) -> the city it goes to again (Daemon.resend)

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
SESSION_HOURS = 8
MAX_FORM_BYTES = 4096


def N_(message: str) -> str:
    """Marks a text for the catalog where it is translated later (at the page, in the reader's language)."""
    return message


class HttpError(Exception):
    def __init__(self, status: HTTPStatus, message: str, **values: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.values = status, message, values


def _(message: str, **values: Any) -> str:
    """This request's language (g.texts); English outside a request."""
    texts = g.get("texts") if g else None
    text = texts.gettext(message) if texts is not None else message
    return text % values if values else text


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _span(seconds: int) -> str:
    for unit, size in ((N_("%(n)s d"), 86400), (N_("%(n)s h"), 3600), (N_("%(n)s min"), 60)):
        if seconds >= size:
            return _(unit, n=seconds // size)
    return _("%(n)s s", n=seconds)


def _ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return _("never")
    seconds = int((now - value).total_seconds())
    if seconds < 0:
        return _("in %(span)s", span=_span(-seconds))
    return _("%(span)s ago", span=_span(seconds))


class ConsoleApp:
    """The console: a WSGI callable (a Flask application inside). `resend` is None when the console is read-only
    (`read_only = true`): then nobody can resend, whatever their role."""

    def __init__(self, ledger: Ledger, spool: Spool, log: EventLog, *, policy: RetryPolicy, cities: dict[str, str],
                 settings: ConsoleSettings, resend: Resend | None = None,
                 clock: Callable[[], datetime] = utc_now, page_size: int = 50,
                 contacts: Callable[[], Mapping[str, Any]] | None = None,
                 directory: Callable[[], Sequence[queries.CityEntry]] | None = None,
                 deadlines: Callable[[str], queries.MonthSettlement] | None = None) -> None:
        self.ledger, self.spool, self.log, self.policy, self.cities = ledger, spool, log, policy, cities
        self.contacts = contacts  # the daemon's per-city contact board (ContactBoard.snapshot), inside `ltcgw run`
        self.directory = directory  # the configured cities' endpoints and certificates (gateway/bootstrap.py)
        self.deadlines = deadlines  # a month's deadlines and reconciliation (gateway/bootstrap.py)
        self.settings, self.resend, self.clock, self.page_size = settings, resend, clock, page_size
        self.accounts = AccountsFile(settings.users_file)
        self.guard = LoginGuard(ledger, settings.login_limits)  # failed logins counted in the ledger
        self.mask = queries.masker()
        self.listening_on(settings.host, settings.port)
        self.envs = {lang: self._environment(lang) for lang in i18n.LANGUAGES}  # "zh-CN", "en"
        self.flask = self._flask()

    def _environment(self, lang: str) -> Environment:
        env = Environment(loader=PackageLoader("gateway.web", "templates"), extensions=["jinja2.ext.i18n"],
                          autoescape=select_autoescape(default=True, default_for_string=True))
        env.install_gettext_translations(i18n.translations(lang, "console"), newstyle=True)  # type: ignore[attr-defined]
        env.filters["when"] = _when
        alerts = i18n.translations(lang, "alerts")  # the alert meanings, as the webhook says them
        env.globals.update(city_name=self.city_name, mask=self.mask, alert_meaning=alerts.gettext)
        return env

    def city_name(self, code: str | None) -> str:
        return self.cities.get(code, code) if code else "—"

    def configure(self, cities: dict[str, str], policy: RetryPolicy) -> None:
        """A reload: city names and the retry schedule as configured now (pages read them per request)."""
        self.cities, self.policy = dict(cities), policy

    def listening_on(self, host: str, port: int) -> None:
        """Accept only these Host headers on loopback (DNS rebinding); the real port is known once bound."""
        self.hosts = allowed_hosts(host, port) if is_loopback(host) else None

    @property
    def can_resend(self) -> bool:
        return self.resend is not None and not self.settings.read_only

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self.flask.wsgi_app(environ, start_response)

    # --- the Flask application ----------------------------------------------------------------------
    def _flask(self) -> Flask:
        app = Flask("gateway.web", static_folder=None)
        # Kept in a file: a session outlives a restart and holds on every console sharing the file's key.
        path = self.settings.session_key_file
        app.secret_key = session_key(path) if path is not None else secrets.token_bytes(32)
        app.config.update(SESSION_COOKIE_NAME="ltcgw_console", SESSION_COOKIE_HTTPONLY=True,
                          SESSION_COOKIE_SAMESITE="Strict", PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
                          MAX_CONTENT_LENGTH=MAX_FORM_BYTES, MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES)
        app.before_request(self._before)
        app.after_request(self._after)
        app.register_error_handler(HttpError, self._error)
        app.register_error_handler(404, lambda e: self._error(HttpError(HTTPStatus.NOT_FOUND, N_("no such page"))))
        app.register_error_handler(405, lambda e: self._error(HttpError(HTTPStatus.METHOD_NOT_ALLOWED,
                                                                        N_("method not allowed"))))
        app.register_error_handler(413, lambda e: self._error(HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                                                        N_("form too large"))))
        app.register_error_handler(Exception, self._crash)
        route = app.add_url_rule
        route("/login", "login", self.login, methods=["GET", "POST"])
        route("/logout", "logout", self.logout, methods=["POST"])
        route("/language", "language", self.language, methods=["POST"])
        route("/", "overview", self.overview)
        route("/messages", "messages", self.messages)
        route("/message/<sha256>", "message", self.message)
        route("/message/<sha256>/<action>", "action", self.action, methods=["GET", "POST"])
        route("/alerts", "alerts", self.alerts)
        route("/cities", "cities", self.city_pages)
        route("/settlement", "settlement", self.settlement)
        route("/audit", "audit", self.audit_log)
        route("/accounts", "accounts", self.account_list)
        route("/static/<name>", "static", self.static)
        route("/favicon.ico", "favicon", lambda: Response(status=204))
        return app

    def _before(self) -> Response | None:
        if self.hosts is not None and request.host not in self.hosts:
            raise HttpError(HTTPStatus.MISDIRECTED_REQUEST, N_("unexpected Host header"))
        g.lang = _language(session.get("lang") or self.settings.language)
        g.texts = i18n.translations(g.lang, "console")
        g.account = None
        if request.endpoint in ("static", "favicon"):
            return None
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if origin and self.hosts is not None and origin.split("://", 1)[-1] not in self.hosts:
                raise HttpError(HTTPStatus.FORBIDDEN, N_("refused: the form was not posted from this console"))
            if not secrets.compare_digest(request.form.get("csrf", ""), session.get("csrf", "-")):
                raise HttpError(HTTPStatus.FORBIDDEN,
                                N_("refused: the form has expired or did not come from this console; reload the page"))
        session.setdefault("csrf", secrets.token_hex(16))
        if request.endpoint in ("login", "language"):
            return None
        g.account = self._signed_in()
        if g.account is None:
            session.pop("user", None)
            return redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}), 303)
        return None

    def _signed_in(self) -> Account | None:
        name = session.get("user")
        if not name:
            return None
        try:
            account = self.accounts.get(name)
        except AccountsError:
            return None
        if account is None or session.get("fp") != account.fingerprint:
            return None  # removed, or its password changed since this session began
        return account

    def _after(self, response: Response) -> Response:
        for name, value in SECURITY_HEADERS:
            response.headers[name] = value
        response.headers["Cache-Control"] = "no-store"
        response.headers["Vary"] = "Cookie"
        return response

    def _error(self, exc: HttpError) -> Response:
        return self.page(exc.status, "error.html", message=_(exc.message, **exc.values))

    def _crash(self, exc: Exception) -> Response:
        from werkzeug.exceptions import HTTPException

        if isinstance(exc, HTTPException):  # what Flask raises itself (a bad request): its status, our page
            return self._error(HttpError(HTTPStatus(exc.code or 400), N_("bad request")))
        # a page must never leak a stack trace (or a document's content)
        self.log.alert("console_error", error=type(exc).__name__)
        return self.page(HTTPStatus.INTERNAL_SERVER_ERROR, "error.html", message=_("internal error (logged)"))

    def _require(self, role: Role, what: str) -> Account:
        account = g.account
        assert account is not None
        if not account.role.may(role):
            self.log.emit("console_refused", name=what, user=account.name, role=account.role.value)
            raise HttpError(HTTPStatus.FORBIDDEN, N_("refused: %(what)s needs the role %(role)s; you are %(yours)s"),
                            what=_(what), role=_(role.value), yours=_(account.role.value))
        return account

    # --- rendering ----------------------------------------------------------------------------------
    def page(self, status: HTTPStatus, template: str, **context: Any) -> Response:
        now = self.clock()
        lang = _language(g.get("lang") or self.settings.language)
        html = self.envs[lang].get_template(template).render(
            now=now, ago=lambda value: _ago(value, now), span=_span, read_only=not self.can_resend,
            account=g.get("account"), lang=lang, csrf=session.get("csrf", ""), here=request.full_path.rstrip("?"),
            Role=Role, **context)
        return Response(html, status=status.value, content_type="text/html; charset=utf-8")

    # --- login --------------------------------------------------------------------------------------
    def login(self) -> Response:
        target = _local(request.values.get("next", "/"))
        if request.method == "GET":
            return self.page(HTTPStatus.OK, "login.html", target=target, problem="", name="")
        name, password = request.form.get("name", "").strip()[:40], request.form.get("password", "")
        # what is counted, logged and audited: a user name, or not (someone's ID number typed in is not kept)
        who = name if is_name(name) else "(not a user name)"
        address, now = request.remote_addr or "unknown", self.clock()
        locked = self.guard.locked(who, address, now)
        if locked is not None:  # refused before bcrypt runs: a lock-out costs the guesser, not the host
            self.log.emit("console_login_throttled", subject=f"{who} from {address}", due=locked.isoformat())
            response = self.page(HTTPStatus.TOO_MANY_REQUESTS, "login.html", target=target, name=name,
                                 problem=_("too many failed logins: this account or this address may try again "
                                           "after %(when)s", when=_when(locked)))
            response.headers["Retry-After"] = str(max(1, int((locked - now).total_seconds()) + 1))
            return response
        try:
            account = self.accounts.get(name)
            usable = True
        except AccountsError as exc:
            self.log.alert("console_login_refused", error=str(exc))
            account, usable = None, False
        if not usable:
            problem = _("the accounts file is unusable: the administrator must fix it (the log says why)")
        elif verify(account, password):
            assert account is not None
            self.guard.succeeded(account.name)
            lang = session.get("lang")
            session.clear()
            session.update(user=account.name, fp=account.fingerprint, csrf=secrets.token_hex(16))
            if lang:
                session["lang"] = lang
            session.permanent = True
            audit.record(self.ledger, self.clock(), user=account.name, role=account.role.value, action="login",
                         subject="console", reason="", outcome=audit.SIGNED_IN)
            return redirect(target, 303)
        else:
            self._failed_login(who, account, address, now)
            problem = _("wrong name or password")
        return self.page(HTTPStatus.UNAUTHORIZED, "login.html", target=target, problem=problem, name=name)

    def _failed_login(self, name: str, account: Account | None, address: str, now: datetime) -> None:
        """Counted (gateway/web/throttle.py) and audited under the name tried, never the password; a lock-out
        it causes is audited and alerted."""
        self.log.alert("console_login_refused", user=name)
        role = account.role.value if account else "-"
        audit.record(self.ledger, now, user=name, role=role, action="login", subject="console",
                     reason=f"from {address}", outcome=audit.LOGIN_REFUSED)
        for row in self.guard.failed(name, address, now):
            assert row.locked_until is not None
            outcome = audit.locked_out(row.locked_until, row.lockouts)
            audit.record(self.ledger, now, user=name, role=role, action="lockout", subject="console",
                         reason=f"{row.scope}: too many failed logins (from {address})", outcome=outcome)
            self.log.alert("console_login_locked", subject=row.scope, reason=outcome.text("en"), count=row.lockouts)

    def logout(self) -> Response:
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        return redirect("/login", 303)

    def language(self) -> Response:
        try:
            session["lang"] = i18n.normalize(request.form.get("lang", "") or "?")
        except ValueError:
            raise HttpError(HTTPStatus.BAD_REQUEST, N_("unknown language")) from None
        return redirect(_local(request.form.get("next", "/")), 303)

    # --- pages --------------------------------------------------------------------------------------
    def overview(self) -> Response:
        now = self.clock()
        health = queries.city_health(self.ledger, self.cities, now, contacts=self.contacts() if self.contacts else None,
                                     mask=self.mask)
        todo = queries.attention(self.ledger, self.policy, now)
        return self.page(HTTPStatus.OK, "overview.html", health=health, todo=todo, section="overview")

    def messages(self) -> Response:
        query = request.args.to_dict()
        problems: list[str] = []
        wanted = _filter(query, problems)
        try:
            number = int(query.get("page", "1"))
        except ValueError:
            number = 1
        page = queries.message_log(self.ledger, wanted, number, self.page_size)
        base = {k: v for k, v in query.items() if k != "page" and v}
        link = lambda n: "/messages?" + urlencode({**base, "page": n})  # noqa: E731
        return self.page(
            HTTPStatus.OK, "messages.html", page=page, wanted=wanted, problems=problems, link=link,
            cities=sorted(self.cities), types=[t.value for t in MessageType], states=[s.value for s in State],
            section="messages")

    def _view(self, sha256: str) -> queries.MessageView:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise HttpError(HTTPStatus.NOT_FOUND, N_("no such page"))
        key = request.args.get("key", "")
        view = queries.message_view(self.ledger, sha256, self.policy, int(key) if key.isdigit() else None)
        if view is None:
            raise HttpError(HTTPStatus.NOT_FOUND, N_("no message with these bytes in the ledger"))
        return view

    def message(self, sha256: str) -> Response:
        view = self._view(sha256)
        resendable = view.record.state in RESENDABLE and bool(view.record.message_id)
        notice = {"resent": _("Resend done: the daemon writes it to the receiver's inbox now.")}.get(
            request.args.get("note", ""), "")
        return self.page(
            HTTPStatus.OK, "message.html", view=view, findings=queries.finding_rows(view.record.findings, self.mask, g.lang),
            resendable=resendable and self.can_resend, purged_on=original_purged_at(self.ledger, self.spool, sha256),
            notice=notice, section="messages")

    def alerts(self) -> Response:
        now = self.clock()
        try:
            days = min(max(int(request.args.get("days", "7")), 1), 400)
        except ValueError:
            days = 7
        found = queries.alert_rows(self.ledger, now - timedelta(days=days), self.mask)
        return self.page(HTTPStatus.OK, "alerts.html", alerts=found, days=days, section="alerts")

    def city_pages(self) -> Response:
        now = self.clock()
        health = {h.city: h for h in queries.city_health(
            self.ledger, self.cities, now, contacts=self.contacts() if self.contacts else None, mask=self.mask)}
        entries = list(self.directory()) if self.directory else [queries.CityEntry(c, n) for c, n in self.cities.items()]
        return self.page(HTTPStatus.OK, "cities.html", entries=entries, health=health, section="cities",
                         soon=now + timedelta(days=60))

    def settlement(self) -> Response:
        now = self.clock()
        period = request.args.get("period", "").strip()
        problem = ""
        if period and not _PERIOD.match(period):
            problem, period = _("period: not a month (YYYY-MM): ignored"), ""
        if not period:
            current = now.astimezone().date().replace(day=1)
            period = (current - timedelta(days=1)).strftime("%Y-%m")  # last month: the claim being settled
        month = self.deadlines(period) if self.deadlines else None
        return self.page(HTTPStatus.OK, "settlement.html", period=period, month=month, problem=problem,
                         section="settlement")

    def audit_log(self) -> Response:
        self._require(Role.OPERATOR, N_("the audit log"))
        return self.page(HTTPStatus.OK, "audit.html", entries=self.ledger.audit(500), section="audit")

    def account_list(self) -> Response:
        self._require(Role.ADMINISTRATOR, N_("the accounts"))
        accounts = sorted(self.accounts.current().values(), key=lambda a: a.name)
        return self.page(HTTPStatus.OK, "accounts.html", accounts=accounts, section="accounts",
                         path=self.settings.users_file)

    # --- actions: a confirmation page (GET), then the action (POST), audited ------------------------------
    def action(self, sha256: str, action: str) -> Response:
        if action not in ("resend", "original"):
            raise HttpError(HTTPStatus.NOT_FOUND, N_("no such page"))
        what = N_("resending a message") if action == "resend" else N_("downloading an original")
        account = self._require(Role.OPERATOR, what)
        view = self._view(sha256)
        record = view.record
        if action == "resend" and not self.can_resend:
            raise HttpError(HTTPStatus.FORBIDDEN, N_("refused: this console is read-only"))
        if action == "resend" and not (record.state in RESENDABLE and record.message_id):
            raise HttpError(HTTPStatus.CONFLICT, N_("this message cannot be resent in state %(state)s"),
                            state=record.state.value)
        purged = original_purged_at(self.ledger, self.spool, sha256)
        if action == "original" and purged is not None:
            raise HttpError(HTTPStatus.GONE, N_("the original was purged on %(day)s after its retention; the ledger "
                                                "keeps its record"), day=purged.date().isoformat())
        if request.method == "GET":
            return self.page(HTTPStatus.OK, "confirm.html", view=view, action=action, problem="", section="messages")
        reason = " ".join(request.form.get("reason", "").split())
        if len(reason) < 5:
            return self.page(HTTPStatus.BAD_REQUEST, "confirm.html", view=view, action=action, section="messages",
                             problem=_("say why (at least a few words): the audit log keeps it"))
        subject = record.message_id or record.sha256
        if action == "original":
            data: list[bytes] = []
            try:
                audit.audited(self.ledger, self.clock, user=account.name, role=account.role.value,
                              action="download", subject=subject, reason=reason,
                              do=lambda: self._read_original(record.sha256, data))
            except FileNotFoundError:  # recorded as failed; purged between the page and the post, or lost
                raise HttpError(HTTPStatus.GONE, N_("the original is no longer in the spool; the ledger keeps its "
                                                    "record")) from None
            self.log.emit("console_download", id=record.message_id, sha256=record.sha256, user=account.name)
            name = record.delivery_name or f"{record.sha256}.xml"
            return Response(data[0], status=200, headers={
                "Content-Type": "application/octet-stream",
                "Content-Disposition": f'attachment; filename="{_safe_name(name)}"'})
        from gateway.service.resend import UnknownMessage

        assert self.resend is not None and record.message_id
        message_id = record.message_id
        try:
            city = ""

            def resend() -> Note:
                nonlocal city
                city = self.resend(message_id, cause=f"operator: web console resend by {account.name}")  # type: ignore[misc]
                return audit.resent(city)

            audit.audited(self.ledger, self.clock, user=account.name, role=account.role.value, action="resend",
                          subject=subject, reason=reason, do=resend)
        except UnknownMessage as exc:
            raise HttpError(HTTPStatus.CONFLICT, str(exc)) from None
        self.log.emit("console_resend", id=record.message_id, receiver=city, user=account.name)
        key = request.args.get("key", "")
        target = f"/message/{record.sha256}?" + urlencode({"note": "resent", **({"key": key} if key.isdigit() else {})})
        return redirect(target, 303)

    def _read_original(self, sha256: str, into: list[bytes]) -> Note:
        into.append(self.spool.read("inbox", sha256))
        return audit.downloaded(len(into[0]))

    def static(self, name: str) -> Response:
        if not re.fullmatch(r"[a-z0-9_-]+\.(css|png|svg|ico)", name):
            raise HttpError(HTTPStatus.NOT_FOUND, N_("no such file"))
        try:
            data = resources.files("gateway.web").joinpath("static", name).read_bytes()
        except FileNotFoundError:
            raise HttpError(HTTPStatus.NOT_FOUND, N_("no such file")) from None
        kind = {"css": "text/css; charset=utf-8", "png": "image/png", "svg": "image/svg+xml",
                "ico": "image/x-icon"}[name.rsplit(".", 1)[1]]
        return Response(data, status=200, content_type=kind)


def _language(lang: str) -> str:
    """A supported language tag ("zh-CN", "en"); a cookie from another version falls back to zh-CN."""
    try:
        return i18n.normalize(lang)
    except ValueError:
        return i18n.DEFAULT_LANGUAGE


def _local(target: str) -> str:
    """A redirect target inside the console only (an open redirect would send a session elsewhere)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or target.startswith("/login"):
        return "/"
    return target


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:200]


def _filter(query: dict[str, str], problems: list[str]) -> queries.MessageFilter:
    """The log's filter from the query string; a malformed value is ignored and said so."""
    def day(name: str, label: str) -> date | None:
        value = query.get(name, "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            problems.append(_("%(name)s: not a date (YYYY-MM-DD): ignored", name=name))
            return None

    period = query.get("period", "").strip()
    if period and not _PERIOD.match(period):
        problems.append(_("period: not a month (YYYY-MM): ignored"))
        period = ""
    state = query.get("state", "").strip().upper()
    if state and state not in State.__members__:
        problems.append(_("state: unknown: ignored"))
        state = ""
    return queries.MessageFilter(
        city=query.get("city", "").strip(), type=query.get("type", "").strip().upper(), state=state, period=period,
        text=query.get("q", "").strip()[:100], since=day("since", "from"), until=day("until", "to"))


# Texts used by name elsewhere (roles, audit actions, deadline statuses and milestones) that the catalog must hold.
CATALOG_ONLY = (N_("viewer"), N_("operator"), N_("administrator"), N_("resend"), N_("download"), N_("login"), N_("lockout"),
                N_("on_time"), N_("late"), N_("missing"), N_("due_soon"), N_("pending"), N_("unexpected"), N_("info"),
                N_("no_calendar"), N_("facility_fees"), N_("dispute"))

__all__ = ["ConsoleApp", "HttpError"]
