"""`ltcgw console`: the console alone over the ledger, read-only, on loopback, stopped by SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from .conftest import TOKEN, free_port


def test_ltcgw_console_serves_read_only_pages(traffic) -> None:
    traffic.enable_console(free_port(), read_only=False)  # even so: alone, the console cannot resend
    port = free_port()
    ltcgw = Path(sys.executable).with_name("ltcgw")
    process = subprocess.Popen([str(ltcgw), "console", "-c", str(traffic.config_path), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = process.stdout.readline()
        assert first.strip() == f"console (read-only) on http://127.0.0.1:{port}"
        url = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(url + "/messages?state=FAILED", timeout=10) as response:
            html = response.read().decode()
        assert response.status == 200 and traffic.ids["failed"] in html and "read-only" in html
        sha = re.search(r'/message/([0-9a-f]{64})', html).group(1)
        with urllib.request.urlopen(f"{url}/message/{sha}", timeout=10) as response:
            page = response.read().decode()
        assert 'id="resend"' not in page and 'id="download"' in page
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        request = urllib.request.Request(f"{url}/message/{sha}/resend", data=f"csrf={csrf}&token={TOKEN}".encode(),
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            urllib.request.urlopen(request, timeout=10)
            raise AssertionError("a resend was taken by a read-only console")
        except urllib.error.HTTPError as exc:
            assert exc.code == 403 and b"refused:" in exc.read()
        from adapters.sqlite_ledger import SqliteLedger
        from gateway.domain.lifecycle import State

        ledger = SqliteLedger(traffic.root / "ledger.sqlite3")
        assert ledger.trace(traffic.ids["failed"])[0][0].state is State.FAILED
        ledger.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        process.stdout.close()
