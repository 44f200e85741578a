"""`ltcgw init` writes every section config/gateway.toml documents, with comments: what the workspace needs set,
the rest commented; the result passes `config check`, and so does every commented setting once uncommented."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from gateway.config import check_config
from gateway.entrypoints.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "gateway.toml"
OPTIONAL = re.compile(r"^# (\[[\w.]+\]|[a-z_0-9]+ = .*)$")  # a commented setting (as tests/setup reads the example)
SETTING = re.compile(r"^(?:# )?(\[[\w.]+\]|[a-z_0-9]+) = ?")
CITIES = "370100,370300,370600"
# What the example shows that a written workspace leaves out, and why.
LEFT_OUT = {
    ("ledger", "backend"),  # informative only: `url` or `path` decides
    ("ledger", "url"), ("ledger", "instance"), ("ledger", "lease_seconds"),  # with --ledger-url
    ("spool", "store"),  # with --ledger-url (or --spool-store)
    ("gateway", "sm2_key"), ("gateway", "sm2_certificate"), ("gateway", "sm2_user_id"),  # with --algorithm sm2
    ("cities", "sm2_user_id"),  # with --algorithm sm2
}


def _settings(text: str) -> set[tuple[str, str]]:
    """(section, key) of every setting, commented or not; a city's tables as `cities` and `cities.transport`."""
    found, section = set(), ""
    for line in text.splitlines():
        header = re.match(r"^(?:# )?\[([\w.]+)\]\s*$", line)
        if header:
            section = re.sub(r"^cities\.\d{6}", "cities", header.group(1))
            continue
        setting = re.match(r"^(?:# )?([a-z_0-9]+) = ", line)
        if setting and (not line.startswith("#") or OPTIONAL.match(line)):
            found.add((section, setting.group(1)))
    return found


def _uncommented(path: Path) -> Path:
    lines = [line[2:] if OPTIONAL.match(line) else line for line in path.read_text(encoding="utf-8").splitlines()]
    out = path.with_name("all.toml")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _init(tmp_path: Path, *extra: str, capsys=None) -> Path:
    assert main(["init", str(tmp_path / "gw"), "--cities", CITIES, *extra]) == 0
    return tmp_path / "gw" / "gateway.toml"


def test_init_writes_every_documented_section_and_key(tmp_path, capsys) -> None:
    path = _init(tmp_path)
    text = path.read_text(encoding="utf-8")
    example = _settings(EXAMPLE.read_text(encoding="utf-8"))
    written = _settings(text)
    local = {s for s in example if s[0] != "cities.transport" or s[1] in ("kind", "drop", "settle_seconds")}
    assert local - written - LEFT_OUT == set(), "documented in config/gateway.toml, not written by init"
    for section in ("gateway", "ledger", "spool", "retry", "log", "metrics", "alerts", "health", "console",
                    "settlement", "retention"):
        header = re.search(rf"^(# )?\[{section}\]$", text, re.M)
        assert header, section
        above = text[:header.start()].rstrip().splitlines()[-1]
        assert above.startswith("#") and not OPTIONAL.match(above), f"[{section}] has no comment above it"
    assert main(["config", "check", "-c", str(path)]) == 0
    assert "OK (3 cities" in capsys.readouterr().out


def test_every_commented_setting_is_valid_once_uncommented(tmp_path, capsys) -> None:
    path = _uncommented(_init(tmp_path))
    assert main(["config", "check", "-c", str(path)]) == 0, capsys.readouterr()
    config, problems = check_config(path)
    root = path.parent
    assert not problems
    assert config.log.path == root / "log" / "transfer.jsonl" and config.metrics.enabled
    assert config.alerts.webhook and config.alerts.certificate_days == 60
    assert config.console.enabled and not config.console.read_only and config.console.token_file.stat().st_mode & 0o077 == 0
    assert (config.retention.spool_days, config.retention.quarantine_days, config.retention.outbox_days) == (400, 90, 400)
    assert len(config.settlement.pairs) == 6 and config.settlement.holidays == root / "holidays"
    assert config.cities["370100"].unreachable_after.total_seconds() == 3600
    assert config.cities["370100"].transport.options["settle_seconds"] == 1.0


def test_an_sm2_workspace_too(tmp_path, capsys) -> None:
    path = _init(tmp_path, "--algorithm", "sm2")
    assert {("gateway", "sm2_key"), ("gateway", "sm2_user_id"), ("cities", "sm2_user_id")} <= _settings(path.read_text())
    assert main(["config", "check", "-c", str(_uncommented(path))]) == 0, capsys.readouterr()


def test_a_postgresql_workspace(tmp_path, capsys, postgres_server) -> None:
    url = postgres_server.new_database()
    path = _init(tmp_path, "--ledger-url", url)
    out = capsys.readouterr().out
    assert "the PostgreSQL database must exist" in out and "config check --connect" in out
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["ledger"] == {"url": url} and data["spool"] == {"dir": "spool", "store": "database"}
    assert main(["config", "check", "-c", str(_uncommented(path))]) == 0, capsys.readouterr()
    config, _ = check_config(path)
    assert config.ledger_url == url and config.spool_store == "database"

    assert main(["config", "check", "--connect", "-c", str(path)]) == 0
    assert "ledger: OK: PostgreSQL" in (out := capsys.readouterr().out) and "empty; the first `ltcgw run`" in out, out
    assert main(["run", "--once", "--quiet", "-c", str(path)]) == 0
    capsys.readouterr()
    assert main(["config", "check", "--connect", "-c", str(path)]) == 0
    assert re.search(r"ledger: OK: PostgreSQL [\d.]+.*: ledger schema version \d+", capsys.readouterr().out)

    gone = url.rsplit("/", 1)[0] + "/no_such_database"
    path.write_text(path.read_text(encoding="utf-8").replace(url, gone), encoding="utf-8")
    assert main(["config", "check", "--connect", "-c", str(path)]) == 1
    assert "ledger: PROBLEM: cannot reach the ledger's database" in capsys.readouterr().out


def test_a_postgresql_workspace_with_a_shared_spool_folder(tmp_path, capsys) -> None:
    path = _init(tmp_path, "--ledger-url", "postgresql://ltcgw@db.example/ltcgw", "--spool-store", "folder")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["spool"] == {"dir": "spool", "store": "folder"}
    assert "every instance mounts" in path.read_text(encoding="utf-8")
    assert main(["config", "check", "-c", str(path)]) == 0


@pytest.mark.parametrize(("args", "said"), [
    (["--ledger-url", "mysql://db/ltcgw"], "--ledger-url must be a PostgreSQL URL"),
    (["--spool-store", "database"], "give --ledger-url"),
])
def test_init_refuses_a_storage_it_cannot_write(tmp_path, capsys, args, said) -> None:
    assert main(["init", str(tmp_path / "gw"), "--cities", CITIES, *args]) == 2
    assert said in capsys.readouterr().err and not (tmp_path / "gw").exists()
