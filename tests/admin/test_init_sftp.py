"""`ltcgw init --transport sftp` against a real OpenSSH sshd: the commented SFTP settings are valid, `config check
--connect` creates each account's outbox/ and inbox/ where the account may (and says whom to ask where it may
not), and a file renamed into the outbox is taken within seconds at the default poll interval."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.sftp import DEFAULT_POLL_SECONDS
from gateway.bootstrap import build_gateway
from gateway.config import load_config
from gateway.entrypoints.cli import main
from gateway.service.daemon import Engine
from tests.admin.test_init import _uncommented
from tests.support.sshd import SshdServer, serving

JINAN, ZIBO = "370100", "370300"


@pytest.fixture
def server() -> Iterator[SshdServer]:
    with serving(JINAN, ZIBO) as sshd:
        yield sshd


def _ready(server: SshdServer, root: Path) -> None:
    """The operator's two steps `ltcgw init` prints: authorize the gateway's key, pin the server's."""
    public = (root / "keys" / "gateway_ssh_ed25519.pub").read_text().strip()
    for account in server.accounts.values():
        (server.base / "authorized" / account.user).write_text(public + "\n")
    (root / "keys" / "known_hosts").write_text(server.known_hosts_line() + "\n")


def test_connect_creates_the_drop_folders_the_account_may(tmp_path, server, capsys) -> None:
    root = tmp_path / "gw"
    user = server.accounts[JINAN].user.replace(JINAN, "{code}")
    assert main(["init", str(root), "--cities", f"{JINAN},{ZIBO}", "--transport", "sftp", "--sftp-host", server.host,
                 "--sftp-port", str(server.port), "--sftp-user", user,
                 "--sftp-dir", f"{server.base}/drops/{{code}}/exchange"]) == 0
    out = capsys.readouterr().out
    assert "creates each account's outbox/ and inbox/" in out and "ask the server's operator" in out
    config = root / "gateway.toml"
    assert f"# poll_interval = {DEFAULT_POLL_SECONDS:g}" in config.read_text()
    _ready(server, root)
    assert main(["config", "check", "-c", str(_uncommented(config))]) == 0, capsys.readouterr()

    # 济南's exchange folder may be made by its account; 淄博's is under a folder nobody but root may write.
    locked = server.base / "locked"
    locked.mkdir(mode=0o555)
    config.write_text(config.read_text().replace(f"{server.base}/drops/{ZIBO}/exchange", f"{locked}/{ZIBO}"))
    capsys.readouterr()
    assert main(["config", "check", "--connect", "-c", str(config)]) == 1
    out = capsys.readouterr().out
    for role in ("outbox", "inbox"):
        assert f"{role} {server.base}/drops/{JINAN}/exchange/{role}: created (it did not exist)" in out
        assert (server.base / "drops" / JINAN / "exchange" / role).is_dir()
        assert re.search(rf"problem: {ZIBO}: .*{locked}/{ZIBO}/{role} does not exist and \S+ may not create "
                         rf"{locked}/{ZIBO}: ask the server's operator to create it", out), out
    assert f"{JINAN} 济南市: OK" in out and f"{ZIBO} 淄博市: PROBLEM" in out

    assert main(["config", "check", "--connect", "-c", str(config)]) == 1  # a second look: found, not made again
    out = capsys.readouterr().out
    assert f"outbox {server.base}/drops/{JINAN}/exchange/outbox: 0 entries" in out and "created" not in out


def test_a_file_waits_seconds_at_the_default_poll_interval(tmp_path, server, capsys) -> None:
    root = tmp_path / "gw"
    user = server.accounts[JINAN].user.replace(JINAN, "{code}")
    assert main(["init", str(root), "--cities", f"{JINAN},{ZIBO}", "--transport", "sftp", "--sftp-host", server.host,
                 "--sftp-port", str(server.port), "--sftp-user", user, "--sftp-dir", f"{server.base}/drops/{{code}}"]) == 0
    _ready(server, root)
    gw = build_gateway(load_config(root / "gateway.toml"))
    engine = Engine(gw, rescan_seconds=5)
    assert {w.rescan for w in engine.workers.values()} == {DEFAULT_POLL_SECONDS} == {2.0}
    runner = threading.Thread(target=engine.run_forever, daemon=True)
    runner.start()
    try:
        outbox = server.accounts[ZIBO].outbox_dir
        time.sleep(DEFAULT_POLL_SECONDS + 1)  # the first listing (connect included) is behind us
        waits = []
        for i in range(3):
            part = outbox / f".A3_{i}.xml.part"
            part.write_bytes(b"<Message/>" * 50 + bytes([i]))
            part.rename(outbox / f"A3_{i}.xml")  # as a city's system does
            start = time.monotonic()
            while (outbox / f"A3_{i}.xml").exists() and time.monotonic() - start < 30:
                time.sleep(0.02)
            waits.append(time.monotonic() - start)
        # U(0, 2 s) until listed, then a second listing 1 s later; generous for a loaded machine, and far
        # under the 10 s poll_interval of before (up to 11 s).
        assert max(waits) < 6, waits
    finally:
        engine.stopping.set()
        engine.wake.set()
        runner.join(timeout=30)
        gw.ledger.close()
