"""The console's WSGI application without a browser: pages, filters, the guards on resend and downloads,
against a ledger and spool that processed real traffic (tests/web/conftest.py)."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from urllib.parse import urlencode

import pytest

from adapters.spool import FolderSpool
from gateway.bootstrap import build_gateway
from gateway.config import ConsoleSettings, check_config
from gateway.domain.lifecycle import State
from gateway.service.resend import resend_by_hand
from gateway.web.app import ConsoleApp
from gateway.web.queries import finding_rows, masker
from gateway.web.security import read_token, TokenFileError

from .conftest import JINAN, QINGDAO, TOKEN, YANTAI, ZIBO

HOST = "127.0.0.1:8470"


class Client:
    def __init__(self, app: ConsoleApp) -> None:
        self.app = app

    def request(self, method: str, path: str, form: dict[str, str] | None = None, **headers: str):
        path, _, query = path.partition("?")
        body = urlencode(form or {}).encode()
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": HOST,
            "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
        environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
        seen = {}

        def start_response(status, headers):
            seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

        data = b"".join(self.app(environ, start_response))
        return seen["status"], seen["headers"], data

    def get(self, path: str, **headers: str):
        return self.request("GET", path, **headers)

    def page(self, path: str) -> str:
        status, _, data = self.get(path)
        assert status == 200, data
        return data.decode()

    def csrf(self, sha: str, form_id: str) -> str:
        html = self.page(f"/message/{sha}")
        form = html[html.index(f'id="{form_id}"'):]
        return re.search(r'name="csrf" value="([0-9a-f]+)"', form).group(1)


@pytest.fixture
def setup(traffic):
    config = traffic.config()
    gw = build_gateway(config, transports={})
    settings = ConsoleSettings(enabled=True, token_file=traffic.root / "console.token", read_only=False)
    app = ConsoleApp(gw.ledger, gw.spool, gw.log, policy=config.retry, cities={c: n.name for c, n in config.cities.items()},
                     settings=settings, resend=lambda message_id: resend_by_hand(gw, message_id, cause="operator: web console"))
    yield traffic, gw, Client(app)
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


def test_resend_needs_the_token_and_the_form_then_goes_through_the_service(setup) -> None:
    traffic, gw, client = setup
    sha = _sha(gw, traffic.ids["failed"])
    csrf = client.csrf(sha, "resend")
    state = lambda: gw.ledger.trace(traffic.ids["failed"])[0][0].state  # noqa: E731

    status, _, data = client.request("POST", f"/message/{sha}/resend", {"csrf": csrf})
    assert status == 403 and b"token is missing or wrong" in data
    status, _, _ = client.request("POST", f"/message/{sha}/resend", {"csrf": csrf, "token": TOKEN + "x"})
    assert status == 403
    status, _, data = client.request("POST", f"/message/{sha}/resend", {"csrf": "0" * 64, "token": TOKEN})
    assert status == 403 and b"form has expired" in data
    status, _, _ = client.request("POST", f"/message/{sha}/resend", {"csrf": client.csrf(sha, "download"), "token": TOKEN})
    assert status == 403  # a token for another action
    status, _, _ = client.request("POST", f"/message/{sha}/resend", {"csrf": csrf, "token": TOKEN}, origin="http://evil.example")
    assert status == 403
    assert client.request("GET", f"/message/{sha}/resend")[0] == 404
    assert state() is State.FAILED

    status, headers, _ = client.request("POST", f"/message/{sha}/resend", {"csrf": csrf, "token": TOKEN}, origin=f"http://{HOST}")
    assert status == 303 and headers["Location"].startswith(f"/message/{sha}?note=resent")
    assert state() is State.WAITING_FOR_RETRY
    record, transitions = gw.ledger.trace(traffic.ids["failed"])[0]
    assert transitions[-1].cause == "operator: web console"
    owed = [o for o in gw.ledger.outgoing(QINGDAO) if o.message_key == record.key and o.written_at is None]
    assert [o.kind for o in owed] == ["delivery"]
    assert "Resend requested" in client.page(headers["Location"])


def test_a_message_that_cannot_be_resent_is_refused(setup) -> None:
    traffic, gw, client = setup
    sha = _sha(gw, traffic.ids["acknowledged"])
    assert 'id="resend"' not in client.page(f"/message/{sha}")
    status, _, _ = client.request("POST", f"/message/{sha}/resend", {"csrf": client.app.csrf.issue("resend", sha), "token": TOKEN})
    assert status == 409


def test_download_returns_the_exact_bytes_with_the_token_only(setup) -> None:
    traffic, gw, client = setup
    record = gw.ledger.trace(traffic.ids["failed"])[0][0]
    csrf = client.csrf(record.sha256, "download")
    assert client.request("POST", f"/message/{record.sha256}/original", {"csrf": csrf})[0] == 403
    status, headers, data = client.request("POST", f"/message/{record.sha256}/original", {"csrf": csrf, "token": TOKEN})
    assert status == 200 and headers["Content-Disposition"] == f'attachment; filename="{traffic.ids["failed_name"]}"'
    delivered = traffic.root / "drops" / QINGDAO / "inbox" / traffic.ids["failed_name"]
    assert data == delivered.read_bytes() == FolderSpool(traffic.root / "spool").read("inbox", record.sha256)
    assert headers["Cache-Control"] == "no-store"


def test_a_read_only_console_offers_no_resend_and_refuses_one(setup) -> None:
    traffic, gw, client = setup
    client.app.resend = None  # `ltcgw console`: no daemon behind it
    sha = _sha(gw, traffic.ids["failed"])
    html = client.page(f"/message/{sha}")
    assert 'id="resend"' not in html and "read-only" in html
    status, _, data = client.request("POST", f"/message/{sha}/resend", {"csrf": client.app.csrf.issue("resend", sha), "token": TOKEN})
    assert status == 403 and b"refused: this console is read-only" in data
    client.app.settings = replace(client.app.settings, token_file=None)
    assert 'id="download"' not in client.page(f"/message/{sha}")
    status, _, _ = client.request("POST", f"/message/{sha}/original", {"csrf": client.app.csrf.issue("original", sha), "token": TOKEN})
    assert status == 403


def test_unexpected_host_headers_are_refused_on_loopback(setup) -> None:
    _, _, client = setup
    assert client.get("/", host="attacker.example:8470")[0] == 421  # DNS rebinding
    assert client.get("/", host="localhost:8470")[0] == 200


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


def test_token_file_rules(tmp_path) -> None:
    path = tmp_path / "token"
    path.write_text("short\n")
    path.chmod(0o600)
    with pytest.raises(TokenFileError, match="at least 16"):
        read_token(path)
    path.write_text(TOKEN + "\n")
    path.chmod(0o640)
    with pytest.raises(TokenFileError, match="chmod 600"):
        read_token(path)
    path.chmod(0o600)
    assert read_token(path) == TOKEN


def test_console_config_section(traffic) -> None:
    traffic.enable_console(8471)
    config = traffic.config()
    assert config.console == ConsoleSettings(True, "127.0.0.1", 8471, traffic.root / "console.token", False)
    text = traffic.config_path.read_text()
    traffic.config_path.write_text(text.replace('token_file = "console.token"', "").replace("port = 8471", "port = 70000\ncolour = 1"))
    _, problems = check_config(traffic.config_path)
    where = sorted(p.where.split(":", 1)[1] for p in problems)
    assert where == ["console.colour", "console.port", "console.read_only"]


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
