"""A city's SFTP settings from its config table: every problem reported at once, keys checked up front."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import paramiko
import pytest

from adapters.sftp import SftpConfigError, SftpSettings
from adapters.ssh_keys import KeyProblem, load_private_key, parse_pinned_host_keys, write_private_key



@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """A client key (chmod 600) and a pinned server key file, as an operator keeps them beside the config."""
    client = tmp_path / "keys" / "gateway_ed25519"
    client.parent.mkdir()
    server = paramiko.ECDSAKey.generate()
    client_key = paramiko.ECDSAKey.generate()
    client_key.write_private_key_file(str(client))
    client.chmod(0o600)
    pins = tmp_path / "keys" / "known_hosts"
    pins.write_text(f"[sftp.jinan.example]:2222 {server.get_name()} {server.get_base64()}\n")
    return {"client": client, "pins": pins}


def table(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "host": "sftp.jinan.example",
        "port": 2222,
        "user": "ltcgw",
        "private_key": "keys/gateway_ed25519",
        "known_hosts": "keys/known_hosts",
        "outbox": "/drop/outbox",
        "inbox": "/drop/inbox",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def test_a_complete_table_gives_settings_with_paths_resolved_against_the_config_folder(keys, tmp_path):
    settings = SftpSettings.from_mapping(table(poll_interval=5, done_marker=".done"), tmp_path)
    assert settings.private_key == keys["client"] and settings.known_hosts == keys["pins"]
    assert (settings.port, settings.poll_interval, settings.stable_polls, settings.done_marker) == (
        2222, 5.0, 2, ".done",
    )


def test_every_problem_is_reported_together(keys, tmp_path):
    with pytest.raises(SftpConfigError) as caught:
        SftpSettings.from_mapping(
            table(host=None, port=70000, user="", inbox="/drop/../etc", stable_polls=1, done_marker="done",
                  poll_interval=0, colour="blue", known_hosts=None),
            tmp_path,
        )
    problems = "\n".join(caught.value.problems)
    for expected in ("'host' is required", "'port' must be between", "'user' must not be empty",
                     "'inbox' must be a plain path", "'stable_polls' must be at least 2", "'done_marker' must be",
                     "'poll_interval' must be greater than 0", "unknown key 'colour'", "pin the server's host key"):
        assert expected in problems
    with pytest.raises(SftpConfigError, match="'port' must be an integer"):
        SftpSettings.from_mapping(table(port="22"), tmp_path)


def test_a_private_key_others_can_read_is_refused(keys, tmp_path):
    keys["client"].chmod(0o640)
    with pytest.raises(SftpConfigError, match="mode 0640 lets group or others read or write it"):
        SftpSettings.from_mapping(table(), tmp_path)
    with pytest.raises(KeyProblem, match="chmod 600"):
        load_private_key(keys["client"])


def test_a_private_key_that_is_not_a_regular_file_is_refused(keys, tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir(mode=0o700)
    for name in ("folder", "fifo", "missing"):
        with pytest.raises(KeyProblem, match=f"private key {tmp_path / name}: (not a regular file|cannot be opened)"):
            load_private_key(tmp_path / name)
    with pytest.raises(SftpConfigError, match="not a regular file|cannot be opened"):
        SftpSettings.from_mapping(table(private_key=str(tmp_path / "folder")), tmp_path)


def test_a_private_key_with_a_passphrase_or_garbage_is_refused(keys, tmp_path):
    locked = tmp_path / "locked"
    paramiko.ECDSAKey.generate().write_private_key_file(str(locked), password="secret")
    locked.chmod(0o600)
    with pytest.raises(KeyProblem, match="passphrase"):
        load_private_key(locked)
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key\n")
    garbage.chmod(0o600)
    with pytest.raises(KeyProblem, match="not an Ed25519, ECDSA or RSA private key"):
        load_private_key(garbage)


def test_pinned_keys_must_name_this_server(keys, tmp_path):
    with pytest.raises(SftpConfigError, match=r"no host key pinned for \[sftp.jinan.example\]:2200\b"):
        SftpSettings.from_mapping(table(port=2200), tmp_path)  # the pin file names port 2222


def test_bare_public_keys_are_pinned_under_host_and_port_and_markers_are_refused(keys):
    server = paramiko.ECDSAKey.generate()
    bare = f"{server.get_name()} {server.get_base64()} root@jinan\n"
    pinned = parse_pinned_host_keys(bare, "10.0.0.5", 2222, "jinan.pub")
    assert pinned.lookup("[10.0.0.5]:2222")[server.get_name()] == server
    assert parse_pinned_host_keys(bare, "10.0.0.5", 22, "jinan.pub").lookup("10.0.0.5") is not None
    with pytest.raises(KeyProblem, match="markers such as @cert-authority are not supported"):
        parse_pinned_host_keys("@cert-authority * " + bare, "10.0.0.5", 2222, "pins")
    with pytest.raises(KeyProblem, match="pins line 2: not a host key line"):
        parse_pinned_host_keys(bare + "[10.0.0.5]:2222 ssh-ed25519 !!!\n", "10.0.0.5", 2222, "pins")


def test_settings_written_as_toml_read_back_the_same(keys, tmp_path):
    settings = SftpSettings.from_mapping(table(poll_interval=2.5, done_marker=".done", host_key=None), tmp_path)
    lines = settings.to_toml(tmp_path)
    assert lines[0] == 'kind = "sftp"' and 'private_key = "keys/gateway_ed25519"' in lines
    assert not any(line.startswith(("stable_polls", "io_timeout")) for line in lines)  # defaults stay implicit
    options = tomllib.loads("\n".join(lines[1:]))
    assert SftpSettings.from_mapping(options, tmp_path) == settings


def test_a_new_gateway_key_is_private_from_the_start_and_never_overwrites(tmp_path):
    line = write_private_key(tmp_path / "370100_sftp", comment="ltcgw 370100")
    assert (tmp_path / "370100_sftp").stat().st_mode & 0o777 == 0o600
    key = load_private_key(tmp_path / "370100_sftp")
    assert line == f"{key.get_name()} {key.get_base64()} ltcgw 370100"
    assert (tmp_path / "370100_sftp.pub").read_text().strip() == line
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(tmp_path / "370100_sftp")], capture_output=True, text=True)
    assert derived.stdout.split()[:2] == line.split()[:2]  # OpenSSH reads it as the same key
    with pytest.raises(FileExistsError):
        write_private_key(tmp_path / "370100_sftp")
