"""`ltcgw console`: the console alone over the ledger, behind the login, unable to resend, on loopback, served
by waitress and stopped by SIGTERM."""

from __future__ import annotations

import http.cookiejar
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .conftest import PASSWORD, free_port


class Session:
    """A cookie-keeping HTTP client that does not follow redirects (so the test sees them)."""

    def __init__(self, url: str) -> None:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  NoRedirect)

    def open(self, path: str, form: dict[str, str] | None = None) -> tuple[int, dict, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.url + path, data=data, timeout=10) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode()

    def csrf(self) -> str:
        return re.search(r'name="csrf" value="([0-9a-f]+)"', self.open("/login")[2]).group(1)

    def login(self, name: str) -> int:
        return self.open("/login", {"csrf": self.csrf(), "name": name, "password": PASSWORD})[0]


def _serve(traffic):
    port = free_port()
    ltcgw = Path(sys.executable).with_name("ltcgw")
    process = subprocess.Popen([str(ltcgw), "console", "-c", str(traffic.config_path), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process, port


def _failed_state(traffic):
    from adapters.sqlite_ledger import SqliteLedger

    ledger = SqliteLedger(traffic.root / "ledger.sqlite3")
    try:
        return ledger.trace(traffic.ids["failed"])[0][0].state, [(a.action, a.user) for a in ledger.audit()]
    finally:
        ledger.close()


def test_ltcgw_console_serves_pages_behind_the_login_read_only_by_default(traffic) -> None:
    from gateway.domain.lifecycle import State

    traffic.enable_console(free_port(), read_only=True)
    process, port = _serve(traffic)
    try:
        first = process.stdout.readline()
        assert first.strip() == f"console (read-only) on http://127.0.0.1:{port}"
        web = Session(f"http://127.0.0.1:{port}")
        status, headers, _ = web.open("/messages?state=FAILED")
        assert status == 303 and headers["Location"].startswith("/login")
        assert web.login("otto") == 303
        status, headers, html = web.open("/messages?state=FAILED")
        assert status == 200 and traffic.ids["failed"] in html and "只读" in html  # zh-CN by default
        assert "waitress" not in headers.get("Server", "")
        sha = re.search(r'/message/([0-9a-f]{64})', html).group(1)
        page = web.open(f"/message/{sha}")[2]
        assert 'id="resend"' not in page and 'id="download"' in page
        status, _, text = web.open(f"/message/{sha}/resend", {"csrf": web.csrf(), "reason": "the city lost it"})
        assert status == 403 and "已拒绝" in text
        assert _failed_state(traffic) == (State.FAILED, [("login", "otto")])
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0


def test_ltcgw_console_configured_to_resend_records_it_for_the_daemon(traffic) -> None:
    from gateway.domain.lifecycle import State

    traffic.enable_console(free_port(), read_only=False)
    process, port = _serve(traffic)
    try:
        assert "resend: the running daemon writes it at its next scan" in process.stdout.readline()
        web = Session(f"http://127.0.0.1:{port}")
        assert web.login("otto") == 303
        html = web.open("/messages?state=FAILED")[2]
        sha = re.search(r'/message/([0-9a-f]{64})', html).group(1)
        assert 'id="resend"' in web.open(f"/message/{sha}")[2]
        status, headers, _ = web.open(f"/message/{sha}/resend", {"csrf": web.csrf(), "reason": "the city lost it"})
        assert status == 303 and "note=resent" in headers["Location"]
        state, audit = _failed_state(traffic)
        assert state is State.WAITING_FOR_RETRY and audit[0] == ("resend", "otto")  # the daemon delivers it
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0


def test_config_check_warns_of_a_console_nobody_can_log_in_to(traffic) -> None:
    traffic.enable_console(free_port())
    ltcgw = [sys.executable, "-m", "gateway.entrypoints.cli"]
    check = lambda: subprocess.run([*ltcgw, "config", "check", "-c", str(traffic.config_path)],  # noqa: E731
                                   capture_output=True, text=True, timeout=60)
    assert "nobody can log in" not in check().stdout  # the workspace has its accounts
    (traffic.root / "console.users").unlink()
    done = check()
    assert done.returncode == 0 and "warning: console.users_file: no account in" in done.stdout
    assert "ltcgw user add NAME --role operator" in done.stdout
