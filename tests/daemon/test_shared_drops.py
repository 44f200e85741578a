"""Two cities on one drop folder are refused by `config check` and by a reload (issue 15): at run time both
would take each file, and the sender would get an ACK and a NACK for one message."""

from __future__ import annotations

import shutil
from pathlib import Path

import paramiko

from gateway.bootstrap import Daemon
from gateway.config import check_config, load_config
from gateway.entrypoints.cli import main
from gateway.workspace.layout import write_workspace

from .conftest import JINAN, ZIBO


def _workspace(tmp_path: Path, template: Path) -> Path:
    shutil.copytree(template, tmp_path / "keys")
    return write_workspace(tmp_path, [JINAN, ZIBO], retry=["10m", "1h"])


def _problems(path: Path) -> dict[str, str]:
    config, problems = check_config(path)
    assert config is None
    return {p.where: p.message for p in problems}


def test_two_cities_on_one_local_drop_are_refused_naming_both(tmp_path, _template, capsys) -> None:
    path = _workspace(tmp_path, _template)
    path.write_text(path.read_text().replace(f'drop = "drops/{ZIBO}"', f'drop = "./drops/../drops/{JINAN}/"'))
    assert main(["config", "check", "-c", str(path)]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith(f"gateway.toml:cities.{ZIBO}.transport.drop:"))
    assert JINAN in line and ZIBO in line and "ACK and a NACK" in line
    assert str((tmp_path / "drops" / JINAN / "outbox").resolve()) in line
    assert len(_problems(path)) == 1  # one problem for both folders


def test_a_link_to_another_citys_folder_is_the_same_folder(tmp_path, _template) -> None:
    path = _workspace(tmp_path, _template)
    (tmp_path / "elsewhere").symlink_to(tmp_path / "drops" / JINAN)
    path.write_text(path.read_text().replace(f'drop = "drops/{ZIBO}"', 'drop = "elsewhere"'))
    assert f"gateway.toml:cities.{ZIBO}.transport.drop" in _problems(path)

    # 淄博's outbox a link to 济南's inbox: 淄博 would send back what the gateway delivers to 济南.
    path.write_text(path.read_text().replace('drop = "elsewhere"', f'drop = "drops/{ZIBO}"'))
    outbox = tmp_path / "drops" / ZIBO / "outbox"
    outbox.rmdir()
    outbox.symlink_to(tmp_path / "drops" / JINAN / "inbox")
    [(where, message)] = _problems(path).items()
    assert where == f"gateway.toml:cities.{ZIBO}.transport.drop"
    assert f"{JINAN}'s inbox and {ZIBO}'s outbox" in message


def test_separate_drops_pass(tmp_path, _template) -> None:
    path = _workspace(tmp_path, _template)
    assert check_config(path)[1] == []


def _sftp_workspace(tmp_path: Path, template: Path, jinan: tuple[str, ...], zibo: tuple[str, ...]) -> Path:
    """Both cities on SFTP: (host, user, outbox, inbox) each; a valid client key and pinned host key."""
    path = _workspace(tmp_path, template)
    client = tmp_path / "keys" / "ssh_ecdsa"
    paramiko.ECDSAKey.generate().write_private_key_file(str(client))
    client.chmod(0o600)
    server = paramiko.ECDSAKey.generate()
    pin = f"[sftp.example]:2222,[SFTP.example]:2222 {server.get_name()} {server.get_base64()}"
    text = path.read_text()
    for code, (host, user, outbox, inbox) in ((JINAN, jinan), (ZIBO, zibo)):
        table = (f'kind = "sftp"\nhost = "{host}"\nport = 2222\nuser = "{user}"\nprivate_key = "keys/ssh_ecdsa"\n'
                 f'host_key = "{pin}"\noutbox = "{outbox}"\ninbox = "{inbox}"')
        text = text.replace(f'kind = "local"\ndrop = "drops/{code}"', table)
    path.write_text(text)
    return path


def test_two_cities_on_one_sftp_folder_are_refused(tmp_path, _template) -> None:
    # The same account, host (in other letters) and folder (with a trailing slash): one outbox.
    path = _sftp_workspace(tmp_path, _template, ("sftp.example", "ltcgw", "drop/outbox", "drop/inbox"),
                           ("SFTP.example", "ltcgw", "drop/outbox/", "other/inbox"))
    problems = _problems(path)
    assert list(problems) == [f"gateway.toml:cities.{ZIBO}.transport.outbox"]
    assert f"cities {JINAN} and {ZIBO} share one outbox" in problems[f"gateway.toml:cities.{ZIBO}.transport.outbox"]


def test_sftp_folders_of_different_accounts_are_different(tmp_path, _template) -> None:
    path = _sftp_workspace(tmp_path, _template, ("sftp.example", "ltcgw370100", "outbox", "inbox"),
                           ("sftp.example", "ltcgw370300", "outbox", "inbox"))
    assert check_config(path)[1] == []


def test_one_sftp_citys_outbox_and_inbox_must_differ(tmp_path, _template) -> None:
    path = _sftp_workspace(tmp_path, _template, ("sftp.example", "ltcgw370100", "outbox", "inbox"),
                           ("sftp.example", "ltcgw370300", "drop", "drop/"))
    problems = _problems(path)
    assert f"both {ZIBO}'s outbox and its inbox" in problems[f"gateway.toml:cities.{ZIBO}.transport.inbox"]


def test_a_reload_to_a_shared_drop_is_refused_and_the_old_config_kept(tmp_path, _template) -> None:
    path = _workspace(tmp_path, _template)
    config = load_config(path)
    daemon = Daemon(config)
    gw, engine = daemon.gw, daemon.engine
    daemon.supervision.start(serve=False)  # alerts recorded in the ledger
    try:
        path.write_text(path.read_text().replace(f'drop = "drops/{ZIBO}"', f'drop = "drops/{JINAN}"'))
        assert daemon.reload() is None
        assert daemon.config is config
        assert gw.transports[ZIBO].drop == tmp_path / "drops" / ZIBO and set(engine.workers) == {JINAN, ZIBO}
        assert daemon.supervision.sink.flush()
        [(_, _, _, alert)] = gw.ledger.recent_events("alert", 10)
        assert alert["kind"] == "config_refused"
        assert any(f"cities.{ZIBO}.transport.drop" in p and JINAN in p for p in alert["problems"])
    finally:
        engine.stopping.set()
        daemon.supervision.close()
        gw.ledger.close()
        gw.checker.close()
