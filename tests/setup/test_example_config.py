"""config/gateway.toml, the documented example, is a valid config: as written, and with every optional
"# key = value" line uncommented, once the files it names exist (made by `ltcgw init`, as an operator would)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from adapters.ssh_keys import write_private_key
from gateway.config import check_config
from gateway.entrypoints import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "config"
OPTIONAL = re.compile(r"^# (\[[\w.]+\]|[a-z_0-9]+ = .*)$")  # a commented setting, not prose
SECTIONS = ("gateway", "ledger", "spool", "retry", "log", "metrics", "alerts", "health", "console", "settlement",
            "retention", "cities.370100", "cities.370200.transport", "cities.370600", "register")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The example's files where it names them (under ROOT instead of /): keys from `ltcgw init`."""
    root = tmp_path_factory.mktemp("example")
    assert cli.main(["init", str(root / "a"), "--cities", "370100,370300,370200"]) == 0
    assert cli.main(["init", str(root / "b"), "--cities", "370600,370700", "--algorithm", "sm2"]) == 0
    keys = root / "etc" / "ltc-gateway" / "keys"
    shutil.copytree(root / "a" / "keys", keys)
    for name in ("370600.crt.pem", "gateway_sm2.key.pem", "gateway_sm2.crt.pem"):
        shutil.copy2(root / "b" / "keys" / name, keys / name)
    write_private_key(keys / "gateway_ssh_ed25519", comment="ltc-gateway")
    public = (keys / "gateway_ssh_ed25519.pub").read_text().split()
    (keys / "known_hosts").write_text(f"sftp.qingdao.example {public[0]} {public[1]}\n")
    for code in ("370100", "370300", "370600"):
        for sub in ("outbox", "inbox"):
            (root / "srv" / "ltc-gateway" / "drops" / code / sub).mkdir(parents=True)
    (root / "var" / "log" / "ltc-gateway").mkdir(parents=True)
    shutil.copytree(EXAMPLE, root / "config")
    return root


def _example(root: Path, *, uncomment: bool) -> Path:
    lines = []
    for line in (EXAMPLE / "gateway.toml").read_text(encoding="utf-8").splitlines():
        if uncomment and OPTIONAL.match(line) and not line.startswith("# url = "):  # url: either it or path
            line = line[2:]
        lines.append(line.replace('"/', f'"{root}/'))
    path = root / "config" / "gateway.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_example_as_written_has_no_problem(installed: Path, capsys) -> None:
    path = _example(installed, uncomment=False)
    assert cli.main(["config", "check", "-c", str(path)]) == 0, capsys.readouterr()
    assert "OK (2 cities: 370100, 370300)" in capsys.readouterr().out


def test_every_optional_setting_of_the_example_is_valid(installed: Path, capsys) -> None:
    text = (EXAMPLE / "gateway.toml").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert re.search(rf"^(# )?\[{re.escape(section)}\]", text, re.M), section
    for key in ("sm2_key", "sm2_certificate", "sm2_user_id", 'signature_algorithms = ["sm2"]', "spool_days",
                "quarantine_days", "outbox_days", "users_file", "read_only", "language", "pairs", "warn_days", "holidays",
                "cross_checks", "key_file", "current_key", "register_days"):
        assert key in text, key
    path = _example(installed, uncomment=True)
    assert cli.main(["config", "check", "-c", str(path)]) == 0, capsys.readouterr()
    config, problems = check_config(path)
    assert not problems
    assert sorted(config.cities) == ["370100", "370200", "370300", "370600"]
    assert config.cities["370600"].signature_algorithms == ("sm2",)
    assert config.cities["370200"].transport.kind == "sftp"
    assert config.sm2_key is not None and config.console.enabled and not config.console.read_only
    assert (config.retention.spool_days, config.retention.quarantine_days, config.retention.outbox_days) == (400, 90, 400)
    assert config.metrics.enabled and config.log.path is not None and config.settlement.pairs
    assert config.lease_seconds == 30 and config.instance == "gw-a"
    assert config.register_settings().keyring.current == "k1" and config.retention.register_days == 800


def test_a_misspelt_optional_key_would_be_reported(installed: Path) -> None:
    path = _example(installed, uncomment=True)
    path.write_text(path.read_text(encoding="utf-8").replace("spool_days = 400", "spool_dayz = 400"), encoding="utf-8")
    _, problems = check_config(path)
    assert [p.where.split(":", 1)[1] for p in problems] == ["retention.spool_dayz"]
