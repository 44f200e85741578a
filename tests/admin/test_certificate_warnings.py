"""`config check` and `run --once` warn (exit 0) of certificates that expire within `[alerts] certificate_days`
(60 by default, as Domibus warns): a pinned city's and the gateway's own, unless a successor is in the file."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from gateway.documents.keys import generate_keys
from gateway.entrypoints.cli import main
from gateway.workspace.layout import write_workspace

JINAN, ZIBO = "370100", "370300"


def _pair(code: str, folder: Path, days: int) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return generate_keys(code, folder, days=days)


@pytest.fixture
def expiring(tmp_path) -> Path:
    """A workspace whose 淄博 certificate expires in 20 days and whose gateway certificate in 45."""
    path = write_workspace(tmp_path / "gw", [JINAN, ZIBO], retry=["1h"])
    keys = path.parent / "keys"
    _, city_cert = _pair(ZIBO, tmp_path / "soon-city", 20)
    shutil.copy(city_cert, keys / f"{ZIBO}.crt.pem")
    key, cert = _pair("370000", tmp_path / "soon-gateway", 45)
    shutil.copy(key, keys / "gateway.key.pem")
    shutil.copy(cert, keys / "gateway.crt.pem")
    return path


def test_config_check_warns_of_certificates_expiring_within_60_days(expiring: Path, capsys) -> None:
    assert main(["config", "check", "-c", str(expiring)]) == 0
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("warning: certificate of")]
    assert len(warnings) == 2, out
    city = next(w for w in warnings if f"of {ZIBO} 淄博市" in w)
    assert re.search(r"expires on \d{4}-\d\d-\d\d, in (19\.\d|20) days \(warned 60 days ahead\)", city), city
    assert f"keys/{ZIBO}.crt.pem" in city and "successor" in city
    assert any("of the gateway (" in w and re.search(r"in (44\.\d|45) days", w) for w in warnings), warnings
    assert JINAN not in " ".join(warnings)  # 825 days left: nothing to say

    assert main(["config", "check", "-c", str(expiring), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and len([w for w in report["warnings"] if w.startswith("certificate of")]) == 2


def test_the_window_is_the_configured_one(expiring: Path, capsys) -> None:
    expiring.write_text(expiring.read_text(encoding="utf-8") + "\n[alerts]\ncertificate_days = 30\n", encoding="utf-8")
    assert main(["config", "check", "-c", str(expiring)]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning: certificate")]
    assert len(warnings) == 1 and f"of {ZIBO} " in warnings[0] and "warned 30 days ahead" in warnings[0]


def test_a_successor_in_the_same_file_silences_the_warning(expiring: Path, tmp_path, capsys) -> None:
    _, successor = _pair(ZIBO, tmp_path / "next-city", 825)
    pem = expiring.parent / "keys" / f"{ZIBO}.crt.pem"
    pem.write_bytes(pem.read_bytes() + successor.read_bytes())  # old and new together, as a rotation does
    assert main(["config", "check", "-c", str(expiring)]) == 0
    out = capsys.readouterr().out
    assert f"of {ZIBO} " not in out and "of the gateway (" in out


def test_run_once_warns_on_stderr(expiring: Path, capsys) -> None:
    assert main(["run", "-c", str(expiring), "--once", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert f"ltcgw run --once: warning: certificate of {ZIBO} 淄博市" in captured.err
    assert "ltcgw run --once: warning: certificate of the gateway" in captured.err
    assert "warning: certificate" not in captured.out  # stdout stays the totals a script reads
