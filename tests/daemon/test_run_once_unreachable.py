"""`ltcgw run --once` (issue 15) exits 1, saying so on stderr, when no city's drop could be reached; when some
were, it exits 0 and names the unreachable ones. The unreachable drops are SFTP servers that refuse the
connection (a port nothing listens on)."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import paramiko
import pytest

from gateway.workspace.city_system import CitySystem
from gateway.domain.envelope import MessageType
from gateway.entrypoints.cli import main
from gateway.workspace.layout import write_workspace

from .conftest import JINAN, PERIOD, ZIBO


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on leaving: connections are refused


@pytest.fixture
def unreachable(tmp_path: Path, _template: Path):
    """A workspace, and a function putting a city's drop on an SFTP server that cannot be reached."""
    shutil.copytree(_template, tmp_path / "keys")
    path = write_workspace(tmp_path, [JINAN, ZIBO], retry=["10m", "1h"])
    client = tmp_path / "keys" / "ssh_ecdsa"
    paramiko.ECDSAKey.generate().write_private_key_file(str(client))
    client.chmod(0o600)
    port = _closed_port()
    server = paramiko.ECDSAKey.generate()

    def cut_off(code: str) -> None:
        table = (f'kind = "sftp"\nhost = "127.0.0.1"\nport = {port}\nuser = "ltcgw{code}"\n'
                 f'private_key = "keys/ssh_ecdsa"\nhost_key = "[127.0.0.1]:{port} {server.get_name()} '
                 f'{server.get_base64()}"\noutbox = "outbox"\ninbox = "inbox"\nconnect_timeout = 3')
        path.write_text(path.read_text().replace(f'kind = "local"\ndrop = "drops/{code}"', table))

    return path, cut_off


def test_no_city_reached_exits_1_and_says_so(unreachable, capsys) -> None:
    path, cut_off = unreachable
    cut_off(JINAN)
    cut_off(ZIBO)
    assert main(["run", "-c", str(path), "--once", "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert "unreachable=2" in out
    assert "no city's drop could be reached" in err and JINAN in err and ZIBO in err


def test_some_cities_reached_exit_0_naming_the_others(unreachable, capsys, tmp_path) -> None:
    path, cut_off = unreachable
    cut_off(ZIBO)
    jinan = CitySystem(JINAN, tmp_path / "keys", tmp_path / "drops" / JINAN)
    jinan.send(MessageType.A3, ZIBO, PERIOD, seed=41)
    assert main(["run", "-c", str(path), "--once", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "unreachable=1" in out and "captured=1" in out
    assert f"1 of 2 cities could not be reached:\n  {ZIBO} " in err and JINAN not in err
    assert len(jinan.replies("ACK")) == 1  # the reachable city was served


def test_all_reached_exit_0_quietly(unreachable, capsys) -> None:
    path, _ = unreachable
    assert main(["run", "-c", str(path), "--once", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "unreachable=0" in out and "could not be reached" not in err
