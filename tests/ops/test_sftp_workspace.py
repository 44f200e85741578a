"""`ltcgw init --transport sftp` and `ltcgw config check --connect` against a real OpenSSH sshd; the city
worker polls an SFTP drop at its `poll_interval`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.sftp import DEFAULT_POLL_SECONDS
from gateway.bootstrap import build_gateway
from gateway.config import load_config
from gateway.service.daemon import Engine
from tests.observability.obs_support import JINAN, ZIBO, cli
from tests.support.sshd import SshdServer, keygen, serving


@pytest.fixture
def server() -> Iterator[SshdServer]:
    with serving(JINAN, ZIBO) as sshd:
        yield sshd


def test_an_sftp_workspace_is_written_connected_and_checked(tmp_path: Path, server: SshdServer) -> None:
    root = tmp_path / "gw"
    user = server.accounts[JINAN].user.replace(JINAN, "{code}")  # one account per city (as root) or a shared one
    result = cli("init", str(root), "--cities", f"{JINAN},{ZIBO}", "--transport", "sftp", "--sftp-host", server.host,
                 "--sftp-port", str(server.port), "--sftp-user", user, "--sftp-dir", f"{server.base}/drops/{{code}}")
    assert result.returncode == 0, result.stderr
    key = root / "keys" / "gateway_ssh_ed25519"
    assert key.stat().st_mode & 0o777 == 0o600
    public = Path(f"{key}.pub").read_text().strip()
    assert public in result.stdout and "ssh-keyscan" in result.stdout
    config = root / "gateway.toml"
    assert 'kind = "sftp"' in config.read_text() and not (root / "drops").exists()

    # Until the operator pins the server's host key, the config is not usable, and says so.
    check = cli("config", "check", "-c", str(config))
    assert check.returncode == 1 and "known_hosts" in check.stdout

    # The operator's two steps: the server authorizes the gateway's key, the gateway pins the server's.
    for account in server.accounts.values():
        (server.base / "authorized" / account.user).write_text(public + "\n")
    (root / "keys" / "known_hosts").write_text(server.known_hosts_line() + "\n")
    check = cli("config", "check", "--connect", "-c", str(config))
    assert check.returncode == 0, check.stdout + check.stderr
    for city in (JINAN, ZIBO):
        assert f"{city} " in check.stdout and f"{server.base}/drops/{city}/inbox: writable" in check.stdout
    assert check.stdout.count(": OK\n") == 2 and "connected to" in check.stdout

    # A server whose host key is not the pinned one is reported, and the check fails.
    other = keygen(tmp_path / "other_host_key")
    (root / "keys" / "known_hosts").write_text(f"[{server.host}]:{server.port} " + Path(f"{other}.pub").read_text())
    check = cli("config", "check", "--connect", "-c", str(config))
    assert check.returncode == 1
    assert check.stdout.count("PROBLEM") == 2 and "host key" in check.stdout and "refused" in check.stdout

    # The city worker polls at the transport's own pace, not at the gateway's rescan.
    gw = build_gateway(load_config(config))
    try:
        engine = Engine(gw, rescan_seconds=5)
        assert {w.rescan for w in engine.workers.values()} == {DEFAULT_POLL_SECONDS}  # SftpSettings' default
    finally:
        gw.ledger.close()
        gw.checker.close()


def test_config_check_connect_reports_an_unreachable_local_drop(tmp_path: Path) -> None:
    from tests.observability.obs_support import workspace

    config = workspace(tmp_path, [JINAN, ZIBO])
    ok = cli("config", "check", "--connect", "-c", str(config))
    assert ok.returncode == 0 and ok.stdout.count(": OK\n") == 2
    (tmp_path / "drops" / ZIBO / "outbox").rmdir()
    bad = cli("config", "check", "--connect", "-c", str(config))
    assert bad.returncode == 1  # the config itself names the missing folder
