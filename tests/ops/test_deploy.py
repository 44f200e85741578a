"""deploy/: the systemd unit verifies with systemd-analyze and keeps its hardening; the /etc example is a
config the gateway accepts once its keys are in place."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNIT = DEPLOY / "ltc-gateway.service"


def unit_options() -> dict[str, dict[str, list[str]]]:
    """Each section's options (a key may repeat in a unit file)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        assert current is not None, f"option outside a section: {line}"
        current.setdefault(key, []).append(value)
    return sections


def test_the_unit_runs_the_daemon_hardened() -> None:
    service = unit_options()["Service"]
    assert service["Type"] == ["notify"] and service["User"] == ["ltcgw"]
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert service["ExecStart"][0].endswith("ltcgw run --json-log --quiet")
    for option in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices"):
        assert service[option] == ["yes"], option
    assert service["ProtectSystem"] == ["strict"]
    writable = service["ReadWritePaths"][0].split()
    assert {"/var/lib/ltc-gateway", "/var/log/ltc-gateway"} <= set(writable)
    assert unit_options()["Install"]["WantedBy"] == ["multi-user.target"]


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    ltcgw = Path(sys.executable).with_name("ltcgw")
    unit = tmp_path / UNIT.name  # the installed path of the executable, as a package would set it
    unit.write_text(UNIT.read_text().replace("/opt/ltc-gateway/bin/ltcgw", str(ltcgw)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    broken = tmp_path / "broken.service"
    broken.write_text(unit.read_text().replace("NoNewPrivileges=", "NoNewPrivilege="))
    result = subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "NoNewPrivilege" in result.stderr  # the check does see a misspelt option


def test_the_etc_example_is_a_valid_config(tmp_path: Path) -> None:
    from gateway.config import check_config
    from gateway.documents.keys import generate_keys

    etc = tmp_path / "etc"
    shutil.copytree(DEPLOY / "etc" / "ltc-gateway", etc)
    text = (etc / "gateway.toml").read_text()
    for old in ("/var/lib/ltc-gateway", "/var/log/ltc-gateway", "/srv/drops"):
        text = text.replace(old, str(tmp_path / old.strip("/").replace("/", "_")))
    (etc / "gateway.toml").write_text(text)
    config, problems = check_config(etc / "gateway.toml")
    where = {p.where.split(":", 1)[1].split(".transport")[0] for p in problems}
    # Only what an operator supplies is missing: keys, certificates, folders, the SFTP key and pin.
    assert where <= {"gateway.key", "gateway.certificate", "ledger.path", "spool.dir", "log.path",
                     "cities.370100", "cities.370100.certificates[0]", "cities.370300",
                     "cities.370300.certificates[0]"}, problems
    keys = etc / "keys"
    key, cert = generate_keys("370000", keys)
    key.rename(keys / "gateway.key.pem")
    cert.rename(keys / "gateway.crt.pem")
    (keys / "cities").mkdir()
    for code in ("370100", "370300"):
        generate_keys(code, keys / "cities")
    (keys / "ssh").mkdir()
    from adapters.ssh_keys import write_private_key

    write_private_key(keys / "ssh" / "gateway_ed25519")
    (keys / "ssh" / "known_hosts").write_text(
        "sftp.jinan.example " + Path(f"{keys / 'ssh' / 'gateway_ed25519'}.pub").read_text().split(" ltcgw")[0] + "\n")
    for folder in ("var_lib_ltc-gateway/spool", "var_log_ltc-gateway", "srv_drops/370300/outbox", "srv_drops/370300/inbox"):
        (tmp_path / folder).mkdir(parents=True)
    config, problems = check_config(etc / "gateway.toml")
    assert not problems, problems
    assert config.metrics.enabled and config.metrics.host == "127.0.0.1"
    assert config.cities["370100"].unreachable_after.total_seconds() == 3600
    assert config.log.path == tmp_path / "var_log_ltc-gateway" / "transfer.jsonl"
    assert "u ltcgw" in (DEPLOY / "ltc-gateway.sysusers").read_text()
