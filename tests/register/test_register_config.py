"""`[register] key_file` and `[cities.CODE] cross_checks` (issue 12): read and checked like the other keys, every
problem named with its place; a purge forgets the register's old rows when `[retention] register_days` says."""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.config import check_config, load_config
from gateway.domain import register as reg
from gateway.service.retention import purge
from gateway.workspace.layout import write_workspace
from tests.support.fakes import FakeLedger, MemorySpool

JINAN, ZIBO = "370100", "370300"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return write_workspace(tmp_path_factory.mktemp("cfg") / "gw", [JINAN, ZIBO], algorithm="ecdsa")


def edited(workspace: Path, tmp_path: Path, old: str, new: str) -> Path:
    import shutil

    root = tmp_path / "gw"
    shutil.copytree(workspace.parent, root)
    path = root / "gateway.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def problems(path: Path) -> dict[str, str]:
    config, found = check_config(path)
    assert config is None
    out: dict[str, str] = {}
    for p in found:
        where = p.where.split(":", 1)[1]
        out[where] = f"{out[where]}; {p.message}" if where in out else p.message
    return out


def test_a_new_workspace_keeps_a_register_with_a_private_key(workspace: Path) -> None:
    config = load_config(workspace)
    key_file = workspace.parent / "keys" / "register.keys"
    assert config.register_key_file == key_file and os.stat(key_file).st_mode & 0o077 == 0
    settings = config.register_settings()
    assert settings.keyring.current == "k1" and settings.checks_of(JINAN) == reg.CrossChecks("warn")


def test_key_file_problems_are_named(workspace: Path, tmp_path: Path) -> None:
    path = edited(workspace, tmp_path, 'key_file = "keys/register.keys"', 'key_file = "keys/register.keys"\ncurrent_key = "k9"')
    assert "current key 'k9' is not in the file" in problems(path)["register.key_file"]
    key_file = path.parent / "keys" / "register.keys"
    os.chmod(key_file, 0o644)
    assert "chmod 600" in problems(path)["register.key_file"]
    os.chmod(key_file, 0o600)
    key_file.write_text("k1 abcd\n", encoding="utf-8")
    assert "at least 32 needed" in problems(path)["register.key_file"]
    key_file.unlink()
    assert "no such file" in problems(path)["register.key_file"]


def test_cross_checks_by_insured_city_and_by_check(workspace: Path, tmp_path: Path) -> None:
    path = edited(workspace, tmp_path, f'[cities.{JINAN}]\n', f'[cities.{JINAN}]\ncross_checks = {{ default = "refuse", '
                  'sex = "off", double_billing = "warn" }\n')
    checks = load_config(path).cities[JINAN].cross_checks
    assert checks.mode("cross.sex") == "off" and checks.mode("cross.double_billing") == "warn"
    assert checks.mode("cross.entitled") == "refuse"
    path.write_text(path.read_text(encoding="utf-8").replace('sex = "off"', 'gender = "maybe"'), encoding="utf-8")
    found = problems(path)
    assert "unknown check" in found[f"cities.{JINAN}.cross_checks.gender"]
    bad = edited(workspace, tmp_path / "b", f'[cities.{ZIBO}]\n', f'[cities.{ZIBO}]\ncross_checks = "sometimes"\n')
    assert "refuse, warn, off" in problems(bad)[f"cities.{ZIBO}.cross_checks"]


def test_a_purge_forgets_ended_entitlements_and_old_claims_after_register_days() -> None:
    from gateway.domain.retention import RetentionPolicy

    ledger = FakeLedger()
    old = reg.ArrangementRow(JINAN, ZIBO, "EN-1", 1, "h1", "k1", date(2025, 1, 1), date(2025, 3, 31), True, ("01",),
                             "L1", None, date(2025, 1, 1), "EN-1")
    live = reg.ArrangementRow(JINAN, ZIBO, "EN-2", 1, "h2", "k1", date(2026, 1, 1), date(2027, 12, 31), False, ("01",),
                              "L1", None, date(2026, 1, 1), "EN-2")
    with ledger.unit_of_work() as tx:
        tx.keep_arrangement(old)
        tx.keep_arrangement(live)
        tx.keep_claim(reg.ClaimRecord(JINAN, ZIBO, "2025-02", "A3-1", 1, Decimal("1.00")), [])
        tx.keep_claim(reg.ClaimRecord(JINAN, ZIBO, "2026-10", "A3-2", 1, Decimal("1.00")), [])
    now = datetime(2026, 11, 30, tzinfo=timezone.utc)
    assert purge(ledger, MemorySpool(), RetentionPolicy(), now).register_rows == 0  # off unless set
    report = purge(ledger, MemorySpool(), RetentionPolicy(register_days=365), now)
    assert report.register_rows == 2
    assert ledger.register_notices() == [live] and [c.serial for c in ledger.tables.claims] == ["A3-2"]


def test_the_kit_samples_a_nil_claim(tmp_path: Path, capsys) -> None:
    from gateway.documents import safe_xml, schema
    from gateway.documents.reader import read_document
    from gateway.domain.rules import check_document
    from gateway.entrypoints.cli import main

    target = tmp_path / "nil.xml"
    assert main(["sample", "A3", "--sender", ZIBO, "--receiver", JINAN, "--period", "2026-09", "--persons", "0",
                 "-o", str(target)]) == 0
    root = safe_xml.parse(target.read_bytes()).getroot()
    assert schema.validate(root) == [] and b"<Nil>true</Nil>" in target.read_bytes()
    claim = read_document(root)
    assert claim.nil and claim.statements == [] and check_document(claim) == []
    claim.totals.visits = 1
    assert "claim.nil" in {f.code for f in check_document(claim)}
