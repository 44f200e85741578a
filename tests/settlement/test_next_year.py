"""Next year's calendar from 1 October: `ltcgw config check` warns (exit 0, a warning, not a problem) until the
administrator adds the year's holiday file; the decision is the domain's `calendar_missing`."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.entrypoints.cli import main
from gateway.entrypoints.operations import _calendar_warnings


@pytest.fixture
def workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["init", str(tmp_path / "gw"), "--cities", "370100,370300"]) == 0
    capsys.readouterr()
    return tmp_path / "gw"


def test_config_check_warns_from_1_october_until_the_year_is_added(workspace: Path, holidays_dir: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(workspace / "gateway.toml")
    assert _calendar_warnings(config, date(2026, 9, 30)) == []
    [warning] = _calendar_warnings(config, date(2026, 10, 1))
    assert "no working-day calendar for 2027" in warning and "2027.toml" in warning and "2026-12-01" in warning
    (workspace / "holidays").mkdir(exist_ok=True)
    shutil.copy(holidays_dir / "2027.toml", workspace / "holidays" / "2027.toml")
    assert _calendar_warnings(config, date(2026, 10, 1)) == []
    # whatever today is, a warning never fails the check
    assert main(["config", "check", "-c", str(workspace / "gateway.toml")]) == 0
    assert "OK" in capsys.readouterr().out


def test_a_broken_holiday_file_is_a_warning_naming_it(workspace: Path) -> None:
    (workspace / "holidays").mkdir(exist_ok=True)
    (workspace / "holidays" / "2027.toml").write_text("year = 2028\n", encoding="utf-8")
    [warning] = _calendar_warnings(load_config(workspace / "gateway.toml"), date(2026, 10, 1))
    assert "2027.toml" in warning and "2028" in warning
