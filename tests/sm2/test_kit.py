"""The city kit with SM2: keys, pack, verify and receipt from the command line, with a non-default signer id."""

from __future__ import annotations

import json

from gateway.entrypoints.cli import main


def test_pack_verify_and_receipt_with_an_sm2_key(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["keys", "370300", "--algorithm", "sm2", "-o", "k"]) == 0
    assert main(["keys", "370100", "--algorithm", "sm2", "-o", "k"]) == 0
    assert main(["sample", "A3", "--sender", "370300", "--receiver", "370100", "--period", "2026-10", "-o", "a3.xml"]) == 0
    signer = ["--key", "k/370300.key.pem", "--cert", "k/370300.crt.pem"]
    route = ["--type", "A3", "--sender", "370300", "--receiver", "370100", "--period", "2026-10"]
    assert main(["pack", "a3.xml", *route, *signer, "--sm2-user-id", "ZB@370300", "-o", "msg.xml"]) == 0
    capsys.readouterr()

    assert main(["verify", "msg.xml", "--cert", "k/370300.crt.pem", "--json"]) == 1  # under the default id
    assert [e["code"] for e in json.loads(capsys.readouterr().out)["errors"]] == ["sig.invalid"]
    assert main(["verify", "msg.xml", "--cert", "k/370300.crt.pem", "--sm2-user-id", "ZB@370300", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True

    assert main(["receipt", "msg.xml", "--key", "k/370100.key.pem", "--cert", "k/370100.crt.pem", "-o", "r.xml"]) == 0
    capsys.readouterr()
    assert main(["verify", "r.xml", "--cert", "k/370100.crt.pem"]) == 0
    assert b"xmldsig#sm2-sm3" in (tmp_path / "r.xml").read_bytes()


def test_sm2_user_id_with_an_rsa_key_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["keys", "370300", "-o", "k"]) == 0
    assert main(["sample", "A3", "--sender", "370300", "--receiver", "370100", "--period", "2026-10", "-o", "a3.xml"]) == 0
    assert main(["pack", "a3.xml", "--type", "A3", "--sender", "370300", "--receiver", "370100", "--period",
                 "2026-10", "--key", "k/370300.key.pem", "--cert", "k/370300.crt.pem", "--sm2-user-id", "x"]) == 2
    assert "SM2 keys only" in capsys.readouterr().err
