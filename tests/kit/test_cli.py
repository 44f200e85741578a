"""The city kit from a newcomer's seat: keys, sample, pack, verify, receipt, with real files and exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.entrypoints.cli import main

HEADER_KEYS = {"id", "type", "sender", "receiver", "period", "serial", "revision", "ref"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def desk(tmp_path, monkeypatch, capsys):
    """A clerk's folder with keys for Zibo (RSA) and Jinan (ECDSA) and a sample A3 from Zibo to Jinan."""
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "keys", "370300", "-o", "keys")[0] == 0
    assert run(capsys, "keys", "370100", "-o", "keys", "--algorithm", "ecdsa")[0] == 0
    code, _, err = run(capsys, "sample", "A3", "--sender", "370300", "--receiver", "370100", "--period", "2026-10",
                       "--persons", "12", "--seed", "3", "-o", "a3.xml")
    assert code == 0, err
    return tmp_path


def pack(capsys, document: str = "a3.xml", *extra: str) -> Path:
    code, out, err = run(
        capsys, "pack", document, "--type", "A3", "--sender", "370300", "--receiver", "370100", "--period", "2026-10",
        "--key", "keys/370300.key.pem", "--cert", "keys/370300.crt.pem", *extra,
    )
    assert code == 0, err
    return Path(out.strip())


ZIBO = ("--cert", "keys/370300.crt.pem")


def test_keys_are_written_private(desk):
    assert os.stat(desk / "keys/370300.key.pem").st_mode & 0o777 == 0o600
    assert (desk / "keys/370100.crt.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_the_newcomer_story(desk, capsys):
    packed = pack(capsys)
    serial = re.search(r"<Serial>([^<]+)</Serial>", (desk / "a3.xml").read_text()).group(1)
    expected = rf"A3_370300_370100_2026-10_{re.escape(serial)}_r1_370300\d{{14}}[0-9A-F]{{8}}\.xml"
    assert re.fullmatch(expected, packed.name)

    code, out, _ = run(capsys, "verify", str(packed), *ZIBO)
    assert code == 0 and "valid A3 370300 -> 370100 2026-10" in out

    # A clerk changes one amount in the packed file: the signature says exactly that.
    data = packed.read_bytes()
    changed = re.sub(rb"<Claimed>(\d+)\.(\d\d)</Claimed>", rb"<Claimed>\g<1>9.\2</Claimed>", data, count=1)
    assert changed != data
    packed.write_bytes(changed)
    code, out, _ = run(capsys, "verify", str(packed), *ZIBO)
    assert code == 1
    errors = out.splitlines()[1:]
    assert len(errors) == 1 and errors[0].startswith("sig.digest - ")

    # Changed in the document and signed again: now the broken rule is named, with its line.
    document = (desk / "a3.xml").read_bytes()
    (desk / "wrong.xml").write_bytes(
        re.sub(rb"<TotalCost>(\d+)\.\d\d</TotalCost>", rb"<TotalCost>\1.01</TotalCost>", document, count=1)
    )
    resigned = pack(capsys, "wrong.xml", "-o", "resigned.xml")
    code, out, _ = run(capsys, "verify", str(resigned), *ZIBO)
    assert code == 1
    split = next(line for line in out.splitlines() if line.startswith("amount.total_split "))
    line = int(split.split()[1])
    assert "<Totals>" in resigned.read_text().splitlines()[line - 1]


def test_verify_json_has_exactly_the_documented_shape(desk, capsys):
    packed = pack(capsys, "a3.xml", "--revision", "2")
    code, out, _ = run(capsys, "verify", str(packed), *ZIBO, "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"valid", "header", "errors"} and result["valid"] is True and result["errors"] == []
    assert set(result["header"]) == HEADER_KEYS
    serial = re.search(r"<Serial>([^<]+)</Serial>", (desk / "a3.xml").read_text()).group(1)
    assert (result["header"]["revision"], result["header"]["serial"], result["header"]["ref"]) == (2, serial, None)

    # A --serial other than the document's own is packed as asked, and the check names the mismatch.
    other = pack(capsys, "a3.xml", "--serial", "ZB-OTHER-1", "-o", "other.xml")
    code, out, _ = run(capsys, "verify", str(other), *ZIBO, "--json")
    assert code == 1 and [e["code"] for e in json.loads(out)["errors"]] == ["envelope.serial"]

    code, out, _ = run(capsys, "verify", str(packed), "--cert", "keys/370100.crt.pem", "--json")
    result = json.loads(out)
    assert code == 1 and result["valid"] is False and result["header"] is None  # untrusted: not shown
    assert [set(e) for e in result["errors"]] == [{"code", "message", "line"}]
    assert result["errors"][0]["code"] == "sig.untrusted"


def test_receipt_answers_the_delivered_file(desk, capsys):
    packed = pack(capsys)
    code, out, err = run(capsys, "receipt", str(packed), "--key", "keys/370100.key.pem", "--cert",
                         "keys/370100.crt.pem", "--reject", "期间与协议不符")
    assert code == 0, err
    receipt = Path(out.strip())
    message_id = packed.stem.rsplit("_", 1)[1]
    assert receipt.name == f"RECEIPT_{message_id}.xml"
    code, out, _ = run(capsys, "verify", str(receipt), "--cert", "keys/370100.crt.pem", "--json")
    result = json.loads(out)
    assert code == 0, result
    assert (result["header"]["type"], result["header"]["ref"], result["header"]["receiver"]) == (
        "RECEIPT", message_id, "370300")


def test_verify_with_the_gateways_config(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "init", "ws", "--cities", "370100,370300")[0] == 0
    run(capsys, "sample", "A3", "--sender", "370300", "--receiver", "370100", "--period", "2026-10", "-o", "a3.xml")
    code, out, err = run(capsys, "pack", "a3.xml", "--type", "A3", "--sender", "370300", "--receiver", "370100",
                         "--period", "2026-10", "--key", "ws/keys/370300.key.pem", "--cert", "ws/keys/370300.crt.pem")
    assert code == 0, err
    packed = out.strip()
    assert run(capsys, "verify", packed, "-c", "ws/gateway.toml")[0] == 0
    # The gateway's own ACK verifies too: the config pins the gateway's certificate under its code.
    from gateway.documents.check import TrustStore, check_message
    from gateway.documents.keys import load_certificates, load_private_key
    from gateway.documents.replies import make_ack

    zibo = TrustStore({"370300": load_certificates("ws/keys/370300.crt.pem")})
    answered = check_message(Path(packed).read_bytes(), zibo)
    ack = make_ack(answered.header, answered.sha256, key=load_private_key("ws/keys/gateway.key.pem"),
                   cert=load_certificates("ws/keys/gateway.crt.pem")[0])
    Path("ack.xml").write_bytes(ack)
    code, out, _ = run(capsys, "verify", "ack.xml", "-c", "ws/gateway.toml", "--json")
    assert code == 0 and json.loads(out)["header"]["type"] == "ACK"
    # The same file claimed by a city whose certificate the gateway pinned differently is refused.
    forged = Path(packed).read_bytes().replace(b"<Sender>370300</Sender>", b"<Sender>370100</Sender>")
    Path("forged.xml").write_bytes(forged)
    code, out, _ = run(capsys, "verify", "forged.xml", "-c", "ws/gateway.toml")
    assert code == 1 and "sig." in out


def test_usage_and_io_errors_exit_2_with_a_clear_message(desk, capsys):
    code, _, err = run(capsys, "verify", "missing.xml", *ZIBO)
    assert code == 2 and "missing.xml" in err
    os.chmod("keys/370300.key.pem", 0o644)
    code, _, err = run(capsys, "pack", "a3.xml", "--type", "A3", "--sender", "370300", "--receiver", "370100",
                       "--period", "2026-10", "--key", "keys/370300.key.pem", "--cert", "keys/370300.crt.pem")
    assert code == 2 and "chmod 600 keys/370300.key.pem" in err
    os.chmod("keys/370300.key.pem", 0o600)
    code, _, err = run(capsys, "pack", "a3.xml", "--type", "A4", "--sender", "370300", "--receiver", "370100",
                       "--period", "2026-10", "--key", "keys/370300.key.pem", "--cert", "keys/370300.crt.pem")
    assert code == 2 and "envelope.body" in err
    code, _, err = run(capsys, "keys", "370300", "-o", "keys")
    assert code == 2 and "already exists" in err
    with pytest.raises(SystemExit) as exited:
        main(["verify", "x.xml"])  # neither --cert nor -c
    assert exited.value.code == 2


@pytest.mark.parametrize("command", ["keys", "sample", "pack", "verify", "receipt"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert "usage: ltcgw " + command in capsys.readouterr().out


def test_the_installed_command_runs(desk, capsys):
    packed = pack(capsys)
    ltcgw = Path(sys.executable).with_name("ltcgw")
    done = subprocess.run([str(ltcgw), "verify", str(packed), *ZIBO, "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["valid"] is True
