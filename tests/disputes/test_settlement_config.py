"""The `[settlement]` section: holidays folder, warn_days, expected pairs, read by `ltcgw config check`,
`ltcgw deadlines` and `ltcgw reconcile`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gateway.config import SettlementSettings, check_config, load_config
from gateway.entrypoints.cli import main

RESIDENCE, INSURED, OTHER = "370300", "370100", "370600"
HOLIDAYS = Path(__file__).parents[1] / "settlement" / "holidays"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cfg") / "gw"
    assert main(["init", str(root), "--cities", f"{INSURED},{RESIDENCE},{OTHER}"]) == 0
    # Without the register of entitlements (issue 12), deadlines expect every configured pair (with it: only the
    # pairs with somebody entitled, tests/register).
    config = root / "gateway.toml"
    text = config.read_text(encoding="utf-8")
    assert '\n[register]\nkey_file = "keys/register.keys"\n' in text
    config.write_text(text.replace('\n[register]\nkey_file = "keys/register.keys"\n', "\n"), encoding="utf-8")
    return root


def configured(workspace: Path, tmp_path: Path, section: str) -> Path:
    """A copy of the workspace with `section` appended to its config; the holiday files in days/ beside it."""
    root = tmp_path / "gw"
    shutil.copytree(workspace, root)
    shutil.copytree(HOLIDAYS, root / "days")
    path = root / "gateway.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + section, encoding="utf-8")
    return path


def test_defaults_when_the_section_is_absent(workspace: Path) -> None:
    assert load_config(workspace / "gateway.toml").settlement == SettlementSettings()


def test_the_section_is_read(workspace: Path, tmp_path: Path) -> None:
    path = configured(workspace, tmp_path, f'[settlement]\nholidays = "days"\nwarn_days = 5\n'
                                           f'pairs = ["{RESIDENCE}->{INSURED}"]\n')
    settings = load_config(path).settlement
    assert settings == SettlementSettings(path.parent / "days", 5, ((RESIDENCE, INSURED),))


@pytest.mark.parametrize(
    ("section", "where"),
    [
        ('holidays = "nowhere"', "settlement.holidays"),
        ("warn_days = -1", "settlement.warn_days"),
        ('warn_days = "3"', "settlement.warn_days"),
        (f'pairs = ["{RESIDENCE},{INSURED}"]', "settlement.pairs[0]"),
        (f'pairs = ["{RESIDENCE}->{RESIDENCE}"]', "settlement.pairs[0]"),
        (f'pairs = ["{RESIDENCE}->370200"]', "settlement.pairs[0]"),
        ("pairs = []", "settlement.pairs"),
        ("misspelt = 1", "settlement.misspelt"),
    ],
)
def test_every_problem_is_reported_with_its_place(workspace: Path, tmp_path: Path, section: str, where: str) -> None:
    _, problems = check_config(configured(workspace, tmp_path, f"[settlement]\n{section}\n"))
    assert any(p.where.endswith(f":{where}") for p in problems), problems


def test_deadlines_follow_the_configured_pairs_and_warn_days(workspace: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = configured(workspace, tmp_path, f'[settlement]\nholidays = "days"\nwarn_days = 30\n'
                                           f'pairs = ["{RESIDENCE}->{INSURED}"]\n')
    # 2026-12: its A4 is due in February 2027, which only the administrator's file (days/2027.toml) covers.
    assert main(["deadlines", "-c", str(path), "--period", "2026-12", "--today", "2027-01-02", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert {(i["residence"], i["insured"]) for i in items} == {(RESIDENCE, INSURED)}
    a4 = next(i for i in items if i["what"] == "A4")
    assert a4["status"] == "due_soon"  # within 30 working days: the configured warning
    assert main(["deadlines", "-c", str(path), "--period", "2026-12", "--today", "2027-01-02", "--json",
                 "--warn-days", "3"]) == 0
    a4 = next(i for i in json.loads(capsys.readouterr().out)["items"] if i["what"] == "A4")
    assert a4["status"] == "pending"  # the option wins over the file


def test_without_pairs_every_ordered_pair_is_expected(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deadlines", "-c", str(workspace / "gateway.toml"), "--period", "2026-08", "--today",
                 "2026-11-25", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert len({(i["residence"], i["insured"]) for i in items}) == 6


def test_reconcile_keeps_to_the_configured_pairs(workspace: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = configured(workspace, tmp_path, f'[settlement]\npairs = ["{OTHER}->{INSURED}"]\n')
    root = path.parent
    for kind, sender, receiver in (("A3", RESIDENCE, INSURED), ("A4", INSURED, RESIDENCE)):
        document = tmp_path / f"{kind}.xml"
        assert main(["sample", kind, "--sender", sender, "--receiver", receiver, "--period", "2026-01",
                     "--persons", "2", "-o", str(document)]) == 0
        assert main(["pack", str(document), "--type", kind, "--sender", sender, "--receiver", receiver, "--period",
                     "2026-01", "--key", str(root / "keys" / f"{sender}.key.pem"), "--cert",
                     str(root / "keys" / f"{sender}.crt.pem"), "-o",
                     str(root / "drops" / sender / "outbox" / f"{kind}.xml")]) == 0
    assert main(["run", "-c", str(path), "--once", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["reconcile", "-c", str(path), "--period", "2026-01"]) == 0
    out, err = capsys.readouterr()
    assert "nothing to reconcile" in out and f"not reconciled: {RESIDENCE}->{INSURED}" in err
    # asked for by name: reconciled all the same, and balanced (no [settlement] a5_pairs: it owes no A5)
    assert main(["reconcile", "-c", str(path), "--period", "2026-01", "--pair", f"{RESIDENCE},{INSURED}"]) == 0
    assert f"{RESIDENCE}->{INSURED}  claim A3-" in capsys.readouterr().out
