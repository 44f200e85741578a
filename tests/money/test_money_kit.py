"""The city kit for the money: `ltcgw sample PAYMENT|REFUND` and `pack` refuse what makes no sense, with a
clear line and exit status 2, and `ltcgw render` prints a bare payment."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.entrypoints.cli import main

RESIDENCE, INSURED = "370300", "370100"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_money_samples_and_their_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    payment = tmp_path / "payment.xml"
    code, _, err = run(capsys, "sample", "PAYMENT", "--sender", INSURED, "--receiver", RESIDENCE, "--period",
                       "2026-10", "--value-date", "2026-12-20", "-o", str(payment))
    assert code == 0, err
    assert "<ValueDate>2026-12-20</ValueDate>" in payment.read_text(encoding="utf-8")
    code, _, err = run(capsys, "sample", "PAYMENT", "--sender", INSURED)
    assert code == 2 and "--receiver" in err and "--period" in err
    code, _, err = run(capsys, "sample", "REFUND", "--ref", str(payment))
    assert code == 2 and "a sample REFUND follows the sample claim" in err
    keys = tmp_path / "keys"
    assert main(["keys", RESIDENCE, "-o", str(keys)]) == 0
    a3 = tmp_path / "a3.xml"
    assert main(["sample", "A3", "--sender", RESIDENCE, "--receiver", INSURED, "--period", "2026-10", "-o",
                 str(a3)]) == 0
    packed = tmp_path / "a3.signed.xml"
    assert main(["pack", str(a3), "--type", "A3", "--sender", RESIDENCE, "--receiver", INSURED, "--period",
                 "2026-10", "--key", str(keys / f"{RESIDENCE}.key.pem"), "--cert", str(keys / f"{RESIDENCE}.crt.pem"),
                 "-o", str(packed)]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "sample", "PAYMENT", "--ref", str(packed))
    assert code == 2 and "a PAYMENT pays a settlement (A4)" in err
    code, _, err = run(capsys, "pack", str(payment), "--type", "PAYMENT", "--sender", INSURED, "--receiver",
                       RESIDENCE, "--period", "2026-10", "--key", str(keys / f"{RESIDENCE}.key.pem"), "--cert",
                       str(keys / f"{RESIDENCE}.crt.pem"), "--ref", str(packed))
    assert code == 2 and "--ref is for disputes" in err
    code, out, err = run(capsys, "render", str(payment))
    assert code == 0 and "PAYMENT" in out and payment.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
