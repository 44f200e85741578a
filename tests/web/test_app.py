"""The console's application without a browser (Flask's test client): logins, roles, pages, filters, the
confirmation and audit of resend and downloads, the languages, against a ledger and spool that processed
real traffic (tests/web/conftest.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from gateway.bootstrap import build_gateway, console_directory, console_settlement
from gateway.config import ConsoleSettings, check_config
from gateway.domain.lifecycle import State
from gateway.service.resend import resend_by_hand
from gateway.web.accounts import AccountsError, read_accounts
from gateway.web.app import ConsoleApp
from gateway.web.queries import finding_rows, masker
from dataclasses import replace as replace_settings

from .conftest import JINAN, PASSWORD, QINGDAO, YANTAI, ZIBO


class Client:
    """A browser's worth of state (cookies) over the WSGI application."""

    def __init__(self, app: ConsoleApp) -> None:
        self.app = app
        self.http = app.flask.test_client()

    def request(self, method: str, path: str, form: dict[str, str] | None = None, **headers: str):
        response = self.http.open(path, method=method, data=form, headers={"Host": "127.0.0.1:8470", **headers})
        return response.status_code, response.headers, response.get_data()

    def get(self, path: str, **headers: str):
        return self.request("GET", path, **headers)

    def page(self, path: str) -> str:
        status, _, data = self.get(path)
        assert status == 200, (status, data[:2000])
        return data.decode()

    def csrf(self) -> str:
        status, _, data = self.get("/login")
        return re.search(r'name="csrf" value="([0-9a-f]+)"', data.decode()).group(1)

    def post(self, path: str, form: dict[str, str] | None = None, **headers: str):
        return self.request("POST", path, {"csrf": self.csrf(), **(form or {})}, **headers)

    def login(self, name: str, password: str = PASSWORD) -> int:
        return self.post("/login", {"name": name, "password": password})[0]


@pytest.fixture
def setup(traffic):
    config = traffic.config()
    gw = build_gateway(config, transports={})
    settings = ConsoleSettings(enabled=True, users_file=traffic.root / "console.users", read_only=False, language="en")
    app = ConsoleApp(gw.ledger, gw.spool, gw.log, policy=config.retry, cities={c: n.name for c, n in config.cities.items()},
                     settings=settings, resend=lambda message_id, cause: resend_by_hand(gw, message_id, cause=cause),
                     directory=lambda: console_directory(config), deadlines=console_settlement(config, gw.ledger, gw.spool))
    client = Client(app)
    assert client.login("otto") == 303
    yield traffic, gw, client
    gw.ledger.close()
    gw.checker.close()


def _sha(gw, message_id: str) -> str:
    return gw.ledger.trace(message_id)[0][0].sha256


def _ids_in(html: str) -> list[str]:
    return re.findall(r'class="mono">([0-9A-F]{28}|\(unreadable [0-9a-f]{12}\))</a>', html)


def test_overview_lists_what_needs_attention_and_city_health(setup) -> None:
    traffic, gw, client = setup
    status, headers, data = client.get("/")
    html = data.decode()
    assert status == 200
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in html and "style=" not in html  # no inline script or style: the CSP allows none
    failed = html[html.index('id="failed"'):html.index("</table>", html.index('id="failed"'))]
    assert traffic.ids["failed"] in failed
    overdue = html[html.index('id="overdue"'):html.index("</table>", html.index('id="overdue"'))]
    assert traffic.ids["overdue"] in overdue and traffic.ids["failed"] not in overdue
    rejected = html[html.index('id="rejected"'):html.index("</table>", html.index('id="rejected"'))]
    assert traffic.ids["rejected"] in rejected and "sig.digest" in rejected and "xml.syntax" in rejected
    recorded = gw.ledger.recent_events("alert", 100)
    kinds = {detail.get("kind") for _, _, _, detail in recorded}
    assert kinds & {"message_failed", "receipt_missing"}  # the message that ran out of resends (and others)
    assert re.search(r'id="n-failed">1<', html) and re.search(rf'id="n-alerts">{len(recorded)}<', html)
    alerts = html[html.index('id="alerts"'):]
    assert all("<code title=" in alerts and kind in alerts for kind in kinds)
    by_city = {city: sum(1 for e in recorded if e[2] == city) for city in (JINAN, QINGDAO, ZIBO, YANTAI)}
    # 青岛 owes the failed claim's receipt; 淄博 the overdue one's
    rows = dict(re.findall(r'data-city="(\d{6})">(.*?)</tr>', html, re.S))
    assert set(rows) == {JINAN, QINGDAO, ZIBO, YANTAI}
    cells = {city: re.findall(r'<td class="n[^"]*">(?:<a [^>]*>)?(\d+)', row) for city, row in rows.items()}
    # sent, rejected, owes receipts, failed, files waiting, alerts
    assert cells[QINGDAO] == ["2", "1", "0", "1", "0", str(by_city[QINGDAO])]
    assert cells[ZIBO] == ["2", "0", "1", "0", "0", str(by_city[ZIBO])]
    assert by_city[QINGDAO] >= 1  # it never answered the failed claim


def test_the_log_filters_by_city_type_state_period_and_text(setup) -> None:
    traffic, gw, client = setup
    everything = _ids_in(client.page("/messages"))
    assert len(everything) == len(gw.ledger.messages()) == 12
    received = [r.received_at for r in sorted(gw.ledger.messages(), key=lambda r: r.key, reverse=True)]
    assert received == sorted(received, reverse=True)  # newest first is key order here

    yantai = _ids_in(client.page(f"/messages?city={YANTAI}"))
    expected = [r.message_id for r in reversed(gw.ledger.messages()) if YANTAI in (r.sender, r.receiver, r.drop_city)]
    assert yantai == expected and 0 < len(yantai) < len(everything)

    assert _ids_in(client.page("/messages?state=FAILED")) == [traffic.ids["failed"]]
    assert _ids_in(client.page("/messages?state=failed&city=" + QINGDAO)) == [traffic.ids["failed"]]
    assert _ids_in(client.page("/messages?period=2026-09")) == [traffic.ids["failed"]]
    receipts = _ids_in(client.page("/messages?type=RECEIPT"))
    assert len(receipts) == 4 and all(r.type == "RECEIPT" for r in gw.ledger.messages() if r.message_id in receipts)
    assert _ids_in(client.page("/messages?q=" + traffic.ids["settlement"][-8:].lower())) == [traffic.ids["settlement"]]
    serial = gw.ledger.trace(traffic.ids["declined"])[0][0].serial
    by_serial = _ids_in(client.page("/messages?type=A3&q=" + serial))
    assert by_serial == [traffic.ids["declined"]]
    html = client.page("/messages?period=October&since=yesterday")
    assert "period: not a month" in html and "since: not a date" in html
    assert len(_ids_in(html)) == 12  # malformed filters are ignored, and said so


def test_the_log_is_paginated_newest_first(setup) -> None:
    traffic, gw, client = setup
    client.app.page_size = 5
    pages = [_ids_in(client.page(f"/messages?page={n}")) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [5, 5, 2]
    assert len(set(sum(pages, []))) == 12  # every message once
    keys = [next(r.key for r in gw.ledger.messages() if (r.message_id or f"(unreadable {r.sha256[:12]})") == i)
            for i in sum(pages, [])]
    assert keys == sorted(keys, reverse=True)
    assert 'rel="next"' in client.page("/messages?page=1") and 'rel="prev"' in client.page("/messages?page=3")
    assert _ids_in(client.page("/messages?page=99")) == pages[2]  # past the end: the last page


def test_message_page_shows_header_timeline_findings_and_files(setup) -> None:
    traffic, gw, client = setup
    html = client.page(f"/message/{_sha(gw, traffic.ids['failed'])}")
    timeline = html[html.index('id="timeline"'):html.index("</ol>")]
    events = re.findall(r"<code>(\w+)</code>", timeline)
    assert events == ["captured", "check_passed", "delivered", "receipt_overdue", "delivered", "retries_exhausted"]
    assert "no receipt after 2 deliveries" in timeline
    files = html[html.index('id="files"'):]
    assert files.count(traffic.ids["failed_name"]) == 2 and "ACK_" in files  # two deliveries and the ACK
    assert "A3-370300-370200-202609-4" in html and "FAILED" in html

    rejected = client.page(f"/message/{_sha(gw, traffic.ids['rejected'])}")
    assert "sig.digest" in rejected[rejected.index('id="findings"'):]
    assert client.get("/message/" + "0" * 64)[0] == 404
    assert client.get("/nowhere")[0] == 404


def test_resend_is_confirmed_with_a_reason_then_done_and_audited(setup) -> None:
    traffic, gw, client = setup
    sha = _sha(gw, traffic.ids["failed"])
    state = lambda: gw.ledger.trace(traffic.ids["failed"])[0][0].state  # noqa: E731
    html = client.page(f"/message/{sha}")
    assert f'href="/message/{sha}/resend' in html  # a link to the confirmation, not a one-click form
    confirm = client.page(f"/message/{sha}/resend")
    assert 'id="confirm"' in confirm and 'name="reason"' in confirm and "Qingdao" in confirm.replace("青岛", "Qingdao")
    assert state() is State.FAILED  # asking changes nothing

    status, _, data = client.post(f"/message/{sha}/resend", {"reason": ""})
    assert status == 400 and b"say why" in data and state() is State.FAILED
    status, _, data = client.request("POST", f"/message/{sha}/resend", {"csrf": "0" * 32, "reason": "lost by the city"})
    assert status == 403 and b"form has expired" in data
    status, _, _ = client.post(f"/message/{sha}/resend", {"reason": "lost by the city"}, Origin="http://evil.example")
    assert status == 403
    assert state() is State.FAILED and [a.action for a in gw.ledger.audit()] == ["login"]

    status, headers, _ = client.post(f"/message/{sha}/resend", {"reason": "青岛 lost the file, asked by phone"},
                                     Origin="http://127.0.0.1:8470")
    assert status == 303 and headers["Location"].startswith(f"/message/{sha}?note=resent")
    assert state() is State.WAITING_FOR_RETRY
    record, transitions = gw.ledger.trace(traffic.ids["failed"])[0]
    assert transitions[-1].cause == "operator: web console resend by otto"
    owed = [o for o in gw.ledger.outgoing(QINGDAO) if o.message_key == record.key and o.written_at is None]
    assert [o.kind for o in owed] == ["delivery"]
    assert "Resend done" in client.page(headers["Location"])
    entry = gw.ledger.audit(1)[0]
    assert (entry.user, entry.role, entry.action, entry.subject) == ("otto", "operator", "resend", traffic.ids["failed"])
    assert entry.reason == "青岛 lost the file, asked by phone" and entry.outcome_text() == f"resent to {QINGDAO}"
    # kept as a code and its values, not an English sentence: said in the reader's language when shown
    assert entry.said.code == "audit.resent" and dict(entry.said.params) == {"city": QINGDAO}
    assert "resent to" not in entry.outcome.replace('"template": "resent to {city}"', "")
    audit_page = client.page("/audit")
    assert "青岛 lost the file, asked by phone" in audit_page and traffic.ids["failed"] in audit_page


def test_a_message_that_cannot_be_resent_is_refused(setup) -> None:
    traffic, gw, client = setup
    sha = _sha(gw, traffic.ids["acknowledged"])
    assert 'id="resend"' not in client.page(f"/message/{sha}")
    status, _, _ = client.post(f"/message/{sha}/resend", {"reason": "try it anyway"})
    assert status == 409
    assert [a.action for a in gw.ledger.audit()] == ["login"]


def test_download_is_confirmed_audited_and_returns_the_exact_bytes(setup) -> None:
    traffic, gw, client = setup
    record = gw.ledger.trace(traffic.ids["failed"])[0][0]
    assert 'name="reason"' in client.page(f"/message/{record.sha256}/original")
    status, headers, data = client.post(f"/message/{record.sha256}/original", {"reason": "the city's auditor asks for it"})
    assert status == 200 and headers["Content-Disposition"] == f'attachment; filename="{traffic.ids["failed_name"]}"'
    delivered = traffic.root / "drops" / QINGDAO / "inbox" / traffic.ids["failed_name"]
    assert data == delivered.read_bytes()
    assert headers["Cache-Control"] == "no-store"
    entry = gw.ledger.audit(1)[0]
    assert (entry.action, entry.user, entry.reason) == ("download", "otto", "the city's auditor asks for it")
    assert entry.outcome_text() == f"{len(data)} bytes" and entry.outcome_text("zh-CN") == f"{len(data)} 字节"
    (traffic.root / "spool" / "inbox" / record.sha256).unlink()  # lost behind the gateway's back
    status, _, data = client.post(f"/message/{record.sha256}/original", {"reason": "once more, please"})
    assert status == 410 and b"no longer in the spool" in data
    failed = gw.ledger.audit(1)[0]
    assert (failed.action, failed.reason) == ("download", "once more, please")
    assert failed.said.code == "audit.failed" and failed.outcome_text().startswith("failed: FileNotFoundError")
    assert failed.outcome_text("zh-CN").startswith("失败：FileNotFoundError：")


def test_every_page_needs_a_login_and_a_wrong_password_is_refused(setup) -> None:
    traffic, gw, client = setup
    stranger = Client(client.app)
    for path in ("/", "/messages", "/alerts", "/cities", "/settlement", "/audit", f"/message/{'0' * 64}"):
        status, headers, _ = stranger.get(path)
        assert status == 303 and headers["Location"].startswith("/login?next="), path
    assert stranger.get("/static/console.css")[0] == 200  # the login page needs its stylesheet
    assert stranger.login("otto", "wrong password!") == 401
    assert stranger.login("nobody", PASSWORD) == 401
    refused = [d for _, kind, _, d in gw.ledger.recent_events("alert", 10) if d.get("kind") == "console_login_refused"]
    assert refused == [] or all("password" not in str(d) for d in refused)  # the log never holds a password
    assert stranger.get("/")[0] == 303
    status, headers, _ = stranger.post("/login", {"name": "vera", "password": PASSWORD})
    assert status == 303 and stranger.get("/")[0] == 200
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("ltcgw_console=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "$2b$" not in cookie and read_accounts(traffic.root / "console.users")["vera"].password_hash[-12:] not in cookie
    status, _, data = stranger.get("/login?next=//evil.example/")
    assert status == 200 and b'value="//evil.example/"' not in data  # no open redirect


class _Heard:
    """The console's transfer log, kept to be read (alerts and events by kind, with their fields)."""

    def __init__(self) -> None:
        self.alerts: list[tuple[str, dict]] = []
        self.events: list[tuple[str, dict]] = []

    def alert(self, kind: str, **fields) -> None:
        self.alerts.append((kind, fields))

    def emit(self, event: str, **fields) -> None:
        self.events.append((event, fields))


def test_failed_logins_lock_out_the_account_with_429_without_bcrypt_and_are_audited(setup, monkeypatch) -> None:
    """Five failures of one account within 15 minutes lock it out: the sixth attempt, even with the right
    password, is answered 429 in the reader's language and checks no password; the lock-out grows; a success
    starts the count again; failures and lock-outs are in the audit log under the name tried, never the
    password, and a lock-out is alerted."""
    from datetime import datetime, timedelta, timezone

    import gateway.web.app as console_app
    from gateway.web.throttle import LoginLimits

    traffic, gw, client = setup
    now = [datetime.now(timezone.utc)]
    heard = _Heard()
    settings = replace_settings(client.app.settings, login_limits=LoginLimits(failures=5, address_failures=100))
    app = ConsoleApp(gw.ledger, gw.spool, heard, policy=client.app.policy, cities=client.app.cities,
                     settings=settings, clock=lambda: now[0])
    checked: list[str] = []
    real_verify = console_app.verify
    monkeypatch.setattr(console_app, "verify", lambda account, password: checked.append(password) or
                        real_verify(account, password))
    guesser = Client(app)
    for n in range(5):
        assert guesser.login("vera", f"guess number {n}") == 401
    assert len(checked) == 5
    status, headers, data = guesser.post("/login", {"name": "vera", "password": PASSWORD})
    assert status == 429 and len(checked) == 5  # refused before bcrypt, the right password too
    assert 0 < int(headers["Retry-After"]) <= 15 * 60 + 1
    assert b"too many failed logins: this account or this address may try again after" in data
    chinese = Client(app)
    assert chinese.post("/language", {"lang": "zh-CN", "next": "/login"})[0] == 303
    assert "登录失败次数过多" in chinese.post("/login", {"name": "vera", "password": PASSWORD})[2].decode()
    assert guesser.login("otto") == 303  # another account from the same address is not locked out
    entries = [a for a in gw.ledger.audit(50) if a.user == "vera"]
    assert [a.action for a in entries].count("login") == 5 and [a.action for a in entries][0] == "lockout"
    refused = [a for a in entries if a.action == "login"]
    assert all(a.outcome_text() == "refused: wrong name or password" for a in refused)
    assert all(a.outcome_text("zh-CN") == "已拒绝：用户名或密码错误" for a in refused)
    assert "guess number" not in repr(gw.ledger.audit(50)) + repr(heard.alerts) + repr(heard.events)
    assert 'data-action="lockout"' in client.page("/audit")
    [(kind, fields)] = [(k, f) for k, f in heard.alerts if k == "console_login_locked"]
    assert fields["subject"] == "account vera" and fields["count"] == 1
    now[0] += timedelta(minutes=16)  # the lock-out is over; five more failures in a row: twice as long
    for n in range(5):
        assert guesser.login("vera", f"again {n}") == 401
    assert guesser.login("vera") == 429
    until = gw.ledger.login_throttles(["account vera"])[0].locked_until
    assert until - now[0] == timedelta(minutes=30)
    now[0] = until + timedelta(seconds=1)
    assert guesser.login("vera", "one more wrong") == 401
    assert guesser.login("vera") == 303  # a success: the account's count starts again
    assert gw.ledger.login_throttles(["account vera"]) == []
    assert Client(app).login("张三 370302195003041234", "x" * 10) == 401  # not a user name: not kept as typed
    assert gw.ledger.audit(1)[0].user == "(not a user name)"


def test_a_viewer_reads_but_may_not_act_and_only_an_administrator_sees_the_accounts(setup) -> None:
    traffic, gw, client = setup
    viewer = Client(client.app)
    assert viewer.login("vera") == 303
    sha = _sha(gw, traffic.ids["failed"])
    html = viewer.page(f"/message/{sha}")
    assert 'id="resend"' not in html and 'id="download"' not in html and 'id="no-actions"' in html
    for action in ("resend", "original"):
        assert viewer.get(f"/message/{sha}/{action}")[0] == 403
        status, _, data = viewer.post(f"/message/{sha}/{action}", {"reason": "I should not be able to"})
        assert status == 403 and b"needs the role operator" in data
    assert viewer.get("/audit")[0] == 403 and viewer.get("/accounts")[0] == 403
    assert gw.ledger.trace(traffic.ids["failed"])[0][0].state is State.FAILED
    assert client.get("/accounts")[0] == 403  # an operator neither
    admin = Client(client.app)
    assert admin.login("ada") == 303
    accounts = admin.page("/accounts")
    assert all(name in accounts for name in ("vera", "otto", "ada")) and "$2b$" not in accounts


def test_a_session_ends_when_its_account_is_removed_or_its_password_changed(setup) -> None:
    from gateway.web.accounts import Account, Role, hash_password, write_accounts

    traffic, gw, client = setup
    path = traffic.root / "console.users"
    accounts = read_accounts(path)
    assert client.get("/")[0] == 200
    write_accounts(path, {**accounts, "otto": Account("otto", Role.OPERATOR, hash_password("another password", cost=4))})
    assert client.get("/")[0] == 303  # logged out
    assert client.login("otto", "another password") == 303 and client.get("/")[0] == 200
    write_accounts(path, {k: v for k, v in accounts.items() if k != "otto"})
    assert client.get("/")[0] == 303
    path.chmod(0o644)
    with pytest.raises(AccountsError, match="chmod 600"):
        read_accounts(path)
    assert client.login("vera") == 401  # an accounts file others can read lets nobody in


def test_a_session_survives_a_console_restart_and_holds_on_a_second_console(setup, tmp_path) -> None:
    """The cookie's key is kept in [console] session_key_file: a restarted console (a new ConsoleApp over the
    same file) and a second one beside it accept the session; a new key (the file deleted) ends it."""
    from dataclasses import replace

    traffic, gw, client = setup
    key_file = tmp_path / "keys" / "console-session.key"

    def console() -> ConsoleApp:
        settings = replace(client.app.settings, session_key_file=key_file)
        return ConsoleApp(gw.ledger, gw.spool, gw.log, policy=client.app.policy, cities=client.app.cities,
                          settings=settings)

    def same_browser(browser: Client, app: ConsoleApp) -> Client:
        moved = Client(app)
        cookie = browser.http.get_cookie("ltcgw_console", domain="127.0.0.1")
        moved.http.set_cookie("ltcgw_console", cookie.value, domain="127.0.0.1")
        return moved

    browser = Client(console())
    assert key_file.stat().st_mode & 0o777 == 0o600  # made at the first start, owner only
    assert browser.login("vera") == 303 and browser.get("/")[0] == 200
    assert same_browser(browser, console()).get("/")[0] == 200  # restarted
    assert same_browser(browser, console()).get("/")[0] == 200  # and one more beside it
    key_file.unlink()
    assert same_browser(browser, console()).get("/")[0] == 303  # a new key: everyone logs in again
    key_file.chmod(0o644)
    with pytest.raises(OSError, match="chmod 600"):
        console()


def test_a_read_only_console_offers_no_resend_and_refuses_one(setup) -> None:
    traffic, gw, client = setup
    client.app.resend = None  # `ltcgw console`: no daemon behind it
    sha = _sha(gw, traffic.ids["failed"])
    html = client.page(f"/message/{sha}")
    assert 'id="resend"' not in html and "read-only" in html and 'id="download"' in html
    status, _, data = client.post(f"/message/{sha}/resend", {"reason": "it is lost"})
    assert status == 403 and b"refused: this console is read-only" in data


def test_chinese_by_default_english_on_request(setup) -> None:
    traffic, gw, client = setup
    client.app.settings = ConsoleSettings(enabled=True, users_file=client.app.settings.users_file, read_only=False)
    fresh = Client(client.app)
    assert "登录" in fresh.page("/login")
    assert fresh.login("otto") == 303
    html = fresh.page("/")
    assert '<html lang="zh-CN">' in html and "回执逾期" in html and "青岛" in html
    assert "receipts overdue" not in html
    status, headers, _ = fresh.post("/language", {"lang": "en", "next": "/messages"})
    assert status == 303 and headers["Location"] == "/messages"
    english = fresh.page("/")
    assert '<html lang="en">' in english and "receipts overdue" in english and "回执逾期" not in english
    assert "登录" in Client(client.app).page("/login")  # another session: still zh-CN
    assert fresh.post("/language", {"lang": "fr"})[0] == 400


def test_alerts_cities_and_settlement_pages(setup) -> None:
    traffic, gw, client = setup
    alerts = client.page("/alerts")
    rows = re.findall(r'<tr data-kind="(\w+)">(.*?)</tr>', alerts, re.S)
    assert rows and all("href=" in row for kind, row in rows if kind in ("message_failed", "receipt_missing"))
    failed = next(row for kind, row in rows if kind == "message_failed")
    assert f'/message/{_sha(gw, traffic.ids["failed"])}' in failed or traffic.ids["failed"] in failed
    cities = client.page("/cities")
    for code in (JINAN, QINGDAO, ZIBO, YANTAI):
        section = cities[cities.index(f'id="city-{code}"'):]
        section = section[:section.index("</section>")]
        assert f"local {traffic.root}/drops/{code}" in section
        assert re.search(r"\d{4}-\d{2}-\d{2} \(in \d+ d\)", section)  # the certificate's expiry
    month = client.page("/settlement?period=2026-10")
    deadlines = month[month.index('id="deadlines"'):month.index('id="reconciliation"')]
    assert deadlines.count("<tr") > 10 and "淄博市 → 济南市" in deadlines  # city names, residence → insured
    reconciliation = month[month.index('id="reconciliation"'):]
    assert 'id="reconcile-problem"' not in month
    rows = re.findall(r"<tr><td>(.*?)</td>.*?</tr>", reconciliation[reconciliation.index("<tbody>"):], re.S)
    # every claim of 2026-10 the ledger received (淄博's to 济南 has its settlement A4 too), as `ltcgw reconcile`
    assert sorted(rows) == ["淄博市 → 济南市", "烟台市 → 淄博市", "烟台市 → 青岛市", "青岛市 → 济南市"], rows
    assert "not a month" in client.page("/settlement?period=October")


def test_audit_outcomes_findings_and_notes_in_the_sessions_language(setup) -> None:
    """Issue 14: what the console says again from codes and values (an audit outcome, a recorded finding, a
    deadline note) is in the session's language; an audit row recorded before outcomes were notes shows as it was."""
    from datetime import datetime, timezone

    from gateway.domain.findings import Finding, phrase
    from gateway.service import audit
    from gateway.service.ports.ledger import AuditRecord

    traffic, gw, client = setup
    at = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)
    audit.record(gw.ledger, at, user="otto", role="operator", action="resend", subject=traffic.ids["failed"],
                 reason="lost by the city", outcome=audit.resent(QINGDAO))
    with gw.ledger.unit_of_work() as tx:
        tx.record_audit(AuditRecord(at, "otto", "operator", "download", traffic.ids["failed"], "an older row",
                                    "1234 bytes"))
    record = gw.ledger.trace(traffic.ids["rejected"])[0][0]
    finding = Finding("period.order", "{who}: EndDate {end} is before StartDate {start}", 7, "/PersonStatement",
                      who=phrase("statement {n} (serial {serial})", n=2, serial="S-1"), end="2026-10-01",
                      start="2026-10-05")
    with gw.ledger.unit_of_work() as tx:
        tx.set_findings(record.key, [finding.as_dict()])

    english = client.page("/audit")  # this console's default is English
    assert f"resent to {QINGDAO}" in english and "1234 bytes" in english and "signed in" in english
    assert "statement 2 (serial S-1): EndDate 2026-10-01 is before StartDate 2026-10-05" in client.page(
        f"/message/{record.sha256}")
    assert "fees cut-off at the residence city" in client.page("/settlement?period=2026-10")

    assert client.post("/language", {"lang": "zh-CN", "next": "/audit"})[0] == 303
    chinese = client.page("/audit")
    assert f"已重发至 {QINGDAO}" in chinese and "已登录" in chinese and "resent to" not in chinese
    assert "1234 bytes" in chinese  # recorded before: shown as it was
    message = client.page(f"/message/{record.sha256}")
    assert "第 2 张结算单（流水号 S-1）：结束日期 EndDate 2026-10-01 早于开始日期 StartDate 2026-10-05" in message
    assert "is before" not in message
    settlement = client.page("/settlement?period=2026-10")
    assert "定点机构向居住地经办机构申报费用的截止日（第二十四条）" in settlement and "fees cut-off" not in settlement
    assert 'data-codes="deadline.facility_cutoff"' in settlement


def test_unexpected_host_headers_are_refused_on_loopback(setup) -> None:
    _, _, client = setup
    assert client.get("/", Host="attacker.example:8470")[0] == 421  # DNS rebinding
    assert client.get("/login", Host="localhost:8470")[0] == 200  # (the session cookie is 127.0.0.1's)


def test_personal_data_in_findings_and_causes_is_masked(setup) -> None:
    traffic, gw, client = setup
    record = gw.ledger.trace(traffic.ids["rejected"])[0][0]
    with gw.ledger.unit_of_work() as tx:
        tx.set_findings(record.key, [{"code": "person.id_number", "message": "持证人 张三丰 证件 370302195003041234 不符"}])
    html = client.page(f"/message/{record.sha256}")
    assert "person.id_number" in html
    assert "370302195003041234" not in html and "5003041" not in html
    assert [row["code"] for row in finding_rows(record.findings, masker())] == ["sig.digest"]
    # a refused file's header is not trusted: whatever it says is masked too
    import sqlite3

    with sqlite3.connect(traffic.root / "ledger.sqlite3") as db:
        db.execute("UPDATE messages SET serial=? WHERE key=?", ("张三丰 370302195003041234", record.key))
    for html in (client.page("/messages"), client.page(f"/message/{record.sha256}")):
        assert "370302195003041234" not in html and "张三丰" not in html
    assert "370302195003041234" not in masker()("id 370302195003041234")


def test_console_config_section(traffic) -> None:
    traffic.enable_console(8471, language="en-US")
    config = traffic.config()
    assert config.console == ConsoleSettings(True, "127.0.0.1", 8471, traffic.root / "console.users", False, "en",
                                             traffic.root / "keys" / "console-session.key")  # `ltcgw init` made it
    text = traffic.config_path.read_text()
    traffic.config_path.write_text(text.replace("port = 8471", 'port = 8471\nlogin_failures = 3\nlockout = "1h"'))
    from datetime import timedelta

    from gateway.web.throttle import LoginLimits

    assert traffic.config().console.login_limits == LoginLimits(failures=3, lockout=timedelta(hours=1))
    traffic.config_path.write_text(text.replace("port = 8471", 'port = 70000\ncolour = 1\ntoken_file = "t"\nlanguage = "fr"'
                                                '\naddress_failures = 0\nlockout = "2d"')
                                   .replace('language = "en-US"', ""))
    (traffic.root / "console.users").chmod(0o640)
    (traffic.root / "keys" / "console-session.key").chmod(0o604)
    _, problems = check_config(traffic.config_path)
    where = sorted(p.where.split(":", 1)[1] for p in problems)
    assert where == ["console.address_failures", "console.colour", "console.language", "console.lockout",
                     "console.port", "console.session_key_file", "console.token_file", "console.users_file"]


def test_ltcgw_user_and_audit(traffic) -> None:
    ltcgw = [sys.executable, "-m", "gateway.entrypoints.cli"]
    run = lambda *args, stdin="", env_language="zh_CN": subprocess.run(  # noqa: E731
        [*ltcgw, *args, "-c", str(traffic.config_path)], input=stdin, capture_output=True, text=True, timeout=60,
        env={**os.environ, "LANGUAGE": env_language})
    path = traffic.root / "console.users"
    path.unlink()
    done = run("user", "add", "li.na", "--role", "operator", "--password-stdin", stdin="a long password\n")
    assert done.returncode == 0, done.stderr
    assert path.stat().st_mode & 0o777 == 0o600
    assert run("user", "add", "li.na", "--role", "viewer", "--password-stdin", stdin="a long password\n").returncode == 2
    short = run("user", "add", "wang", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "at least 10" in short.stderr
    assert run("user", "add", "Bad Name", "--role", "viewer", "--password-stdin", stdin="a long password\n").returncode == 2
    import json

    listing = json.loads(run("user", "list", "--json").stdout)
    assert listing["accounts"] == [{"name": "li.na", "role": "operator"}]
    old = read_accounts(path)["li.na"]
    assert run("user", "passwd", "li.na", "--role", "administrator", "--password-stdin", stdin="another long one\n").returncode == 0
    new = read_accounts(path)["li.na"]
    assert new.role.value == "administrator" and new.fingerprint != old.fingerprint
    path.chmod(0o644)
    refused = run("user", "list")
    assert refused.returncode == 2 and "chmod 600" in refused.stderr
    path.chmod(0o600)
    assert run("user", "remove", "li.na").returncode == 0 and read_accounts(path) == {}

    from adapters.sqlite_ledger import SqliteLedger
    from gateway.service import audit
    from datetime import datetime, timezone

    ledger = SqliteLedger(traffic.root / "ledger.sqlite3")
    audit.record(ledger, datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc), user="otto", role="operator",
                 action="resend", subject=traffic.ids["failed"], reason="lost  by\nthe city",
                 outcome=audit.resent("370200"))
    ledger.close()
    entries = json.loads(run("audit", "--json").stdout)
    assert entries == [{"at": "2026-11-02T09:30:00+00:00", "user": "otto", "role": "operator", "action": "resend",
                        "subject": traffic.ids["failed"], "reason": "lost by the city", "outcome": "resent to 370200",
                        "outcome_code": "audit.resent", "outcome_params": {"city": "370200"}}]
    text = run("audit", env_language="zh_CN").stdout  # said in the reader's language: Chinese by default ...
    assert "otto" in text and "lost by the city -> 已重发至 370200" in text
    text = run("audit", env_language="en").stdout  # ... English on request
    assert "lost by the city -> resent to 370200" in text


def test_inside_the_daemon_an_unreachable_drop_shows_on_its_city(setup) -> None:
    from datetime import datetime, timedelta, timezone

    from gateway.service.contacts import CityContact

    _, _, client = setup
    now = datetime.now(timezone.utc)
    board = {ZIBO: CityContact(ZIBO, last_success=now - timedelta(hours=2), failing_since=now - timedelta(minutes=30),
                               failures=7, last_error="370300: list /outbox: 370302195003041234 permission denied",
                               error_kind="TransportError"),
             JINAN: CityContact(JINAN, last_success=now)}
    client.app.contacts = lambda: board
    rows = dict(re.findall(r'data-city="(\d{6})">(.*?)</tr>', client.page("/"), re.S))
    assert re.search(r"unreachable for (30|31) min \(7 failures\)", rows[ZIBO]) and "permission denied" in rows[ZIBO]
    assert "370302195003041234" not in rows[ZIBO]
    assert "unreachable" not in rows[JINAN] and re.search(r"<td>\d+ s ago</td>", rows[JINAN])  # its last scan
    assert re.search(rf'<tr class="attn" data-city="{ZIBO}"', client.page("/"))
