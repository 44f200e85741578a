"""`ltcgw init --algorithm sm2`: SM2 keys for the cities and the gateway, the matching config, and a real
exchange on it (SM2 signatures checked, SM2 replies)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from adapters.local import LocalTransport
from gateway.bootstrap import build_gateway
from gateway.config import load_config
from gateway.workspace.city_system import CitySystem
from gateway.documents.check import check_message
from gateway.documents.keys import certificate_algorithm, load_certificates
from gateway.documents.xmldsig_sm2 import SM2_SM3
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.entrypoints import cli
from gateway.service.daemon import run_once

JINAN, ZIBO = "370100", "370300"


def test_init_sm2_writes_sm2_keys_and_a_config_that_exchanges(tmp_path: Path, capsys) -> None:
    root = tmp_path / "ws"
    assert cli.main(["init", str(root), "--cities", f"{JINAN},{ZIBO}", "--algorithm", "sm2"]) == 0
    keys = root / "keys"
    for name in (JINAN, ZIBO, "gateway_sm2"):
        assert certificate_algorithm(load_certificates(keys / f"{name}.crt.pem")[0]) == "sm2", name
        assert (keys / f"{name}.key.pem").stat().st_mode & 0o077 == 0
    assert certificate_algorithm(load_certificates(keys / "gateway.crt.pem")[0]) == "rsa"
    data = tomllib.loads((root / "gateway.toml").read_text(encoding="utf-8"))
    assert data["gateway"]["sm2_key"] == "keys/gateway_sm2.key.pem"
    assert all(data["cities"][c]["signature_algorithms"] == ["sm2"] for c in (JINAN, ZIBO))
    assert cli.main(["config", "check", "-c", str(root / "gateway.toml")]) == 0
    capsys.readouterr()

    config = load_config(root / "gateway.toml")
    transports = {c: LocalTransport(c, root / "drops" / c, settle_seconds=0) for c in (JINAN, ZIBO)}
    gw = build_gateway(config, transports=transports)
    try:
        zibo, jinan = (CitySystem(c, keys, root / "drops" / c) for c in (ZIBO, JINAN))
        claim, _ = zibo.send(MessageType.A3, JINAN, "2026-10", seed=1)
        run_once(gw, settle_seconds=0)
        ack = (zibo.inbox / f"ACK_{claim.message_id}.xml").read_bytes()
        assert SM2_SM3.encode() in ack  # answered in the city's family
        assert check_message(ack, config.trust_store()).valid
        assert jinan.answer()
        run_once(gw, settle_seconds=0)
        record = next(m for m in gw.ledger.messages() if m.message_id == claim.message_id)
        assert record.state is State.ACKNOWLEDGED
    finally:
        gw.ledger.close()
        gw.checker.close()


def test_init_ecdsa_and_the_default(tmp_path: Path) -> None:
    assert cli.main(["init", str(tmp_path / "e"), "--cities", f"{JINAN},{ZIBO}", "--algorithm", "ecdsa"]) == 0
    assert certificate_algorithm(load_certificates(tmp_path / "e" / "keys" / f"{JINAN}.crt.pem")[0]) == "ecdsa"
    assert "sm2" not in (tmp_path / "e" / "gateway.toml").read_text()
    assert cli.main(["init", str(tmp_path / "r"), "--cities", f"{JINAN},{ZIBO}"]) == 0
    assert certificate_algorithm(load_certificates(tmp_path / "r" / "keys" / f"{JINAN}.crt.pem")[0]) == "rsa"
    assert not (tmp_path / "r" / "keys" / "gateway_sm2.key.pem").exists()
