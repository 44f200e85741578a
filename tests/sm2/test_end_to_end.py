"""Two cities that require SM2 (国密) exchange a claim and its settlement through the real daemon (`ltcgw run
--once` on local drops, the SQLite ledger): every message and receipt SM2-signed, the gateway's ACKs to them
signed with its SM2 key, while a city on RSA beside them still gets RSA replies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.sqlite_ledger import SqliteLedger
from gateway.config import check_config, load_config
from gateway.workspace.city_system import CitySystem
from gateway.documents.check import check_message
from gateway.documents.envelope import file_name
from gateway.documents.keys import generate_keys
from gateway.documents.xmldsig_sm2 import SM2_SM3
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.entrypoints.cli import main
from gateway.workspace.layout import write_workspace

JINAN, ZIBO, YANTAI = "370100", "370300", "370600"  # 济南 and 淄博 on SM2, 烟台 on RSA
PERIOD = "2026-10"


def _workspace(root: Path, *, gateway_sm2: bool = True, workers: int = 1) -> Path:
    keys = root / "keys"
    for code in (JINAN, ZIBO):
        generate_keys(code, keys, algorithm="sm2")
    config = write_workspace(root, [JINAN, ZIBO, YANTAI], retry=["1h"], workers=workers)
    text = config.read_text(encoding="utf-8")
    if gateway_sm2:
        key, cert = generate_keys("370000", keys / "sm2", algorithm="sm2")
        text = text.replace('certificate = "keys/gateway.crt.pem"\n', 'certificate = "keys/gateway.crt.pem"\n'
                            f'sm2_key = "{key.relative_to(root)}"\nsm2_certificate = "{cert.relative_to(root)}"\n')
    for code in (JINAN, ZIBO):
        line = f'certificates = ["keys/{code}.crt.pem"]\n'
        text = text.replace(line, line + 'signature_algorithms = ["sm2"]\n')
    config.write_text(text, encoding="utf-8")
    return config


def _run(config: Path) -> None:
    assert main(["run", "-c", str(config), "--once", "--quiet"]) == 0


def _signed_sm2(data: bytes) -> bool:
    return f'SignatureMethod Algorithm="{SM2_SM3}"'.encode() in data


def test_two_sm2_cities_exchange_claim_and_settlement_end_to_end(tmp_path):
    config_path = _workspace(tmp_path)
    config = load_config(config_path)
    trust = config.trust_store()
    cities = {code: CitySystem(code, tmp_path / "keys", tmp_path / "drops" / code) for code in (JINAN, ZIBO, YANTAI)}
    zibo, jinan, yantai = cities[ZIBO], cities[JINAN], cities[YANTAI]

    claim, claim_bytes = zibo.send(MessageType.A3, JINAN, PERIOD, seed=1)
    rsa_claim, _ = yantai.send(MessageType.A3, JINAN, PERIOD, seed=2)
    assert _signed_sm2(claim_bytes)
    _run(config_path)
    assert (jinan.inbox / file_name(claim)).read_bytes() == claim_bytes
    ack = (zibo.inbox / f"ACK_{claim.message_id}.xml").read_bytes()
    assert _signed_sm2(ack)  # the gateway answers an SM2 city with its SM2 key
    checked = check_message(ack, trust)
    assert checked.valid and checked.header.type is MessageType.ACK
    rsa_ack = (yantai.inbox / f"ACK_{rsa_claim.message_id}.xml").read_bytes()
    assert not _signed_sm2(rsa_ack) and b"xmldsig-more#rsa-sha256" in rsa_ack  # and an RSA city with RSA
    assert check_message(rsa_ack, trust).valid

    settlement, settlement_bytes = jinan.send(MessageType.A4, ZIBO, PERIOD, seed=1)
    assert file_name(claim) in jinan.answer()  # Jinan's SM2-signed receipts for what it received
    _run(config_path)
    assert (zibo.inbox / file_name(settlement)).read_bytes() == settlement_bytes
    assert _signed_sm2((jinan.inbox / f"ACK_{settlement.message_id}.xml").read_bytes())
    forwarded = (zibo.inbox / f"RECEIPT_{claim.message_id}.xml").read_bytes()
    assert _signed_sm2(forwarded) and check_message(forwarded, trust).valid

    assert zibo.answer() == [file_name(settlement)]
    _run(config_path)
    assert _signed_sm2((jinan.inbox / f"RECEIPT_{settlement.message_id}.xml").read_bytes())

    ledger = SqliteLedger(config.ledger_path)
    try:
        states = {m.message_id: m.state for m in ledger.messages()}
    finally:
        ledger.close()
    assert states[claim.message_id] is State.ACKNOWLEDGED
    assert states[settlement.message_id] is State.ACKNOWLEDGED


def test_an_sm2_city_signing_with_rsa_is_refused_with_an_sm2_nack(tmp_path):
    config_path = _workspace(tmp_path)
    trust = load_config(config_path).trust_store()
    zibo = CitySystem(ZIBO, tmp_path / "keys", tmp_path / "drops" / ZIBO)
    rsa_key, rsa_cert = generate_keys(ZIBO, tmp_path / "rsa")  # a real key, but not what Zibo registered
    from gateway.documents.keys import load_certificates, load_private_key

    zibo.key, zibo.cert = load_private_key(rsa_key), load_certificates(rsa_cert)[0]
    header, _ = zibo.send(MessageType.A3, JINAN, PERIOD, seed=3)
    _run(config_path)
    nack = (zibo.inbox / f"NACK_{header.message_id}.xml").read_bytes()
    assert _signed_sm2(nack) and b"sig.algorithm" in nack
    assert check_message(nack, trust).valid
    assert not any((tmp_path / "drops" / JINAN / "inbox").iterdir())


def test_sm2_checks_in_the_process_pool(tmp_path):
    """With workers > 1 the checks run in spawned processes, each with its own copy of the trust store."""
    config_path = _workspace(tmp_path, workers=2)
    zibo = CitySystem(ZIBO, tmp_path / "keys", tmp_path / "drops" / ZIBO)
    claims = [zibo.send(MessageType.A3, JINAN, PERIOD, seed=seed)[0] for seed in (5, 6, 7)]
    _run(config_path)
    for claim in claims:
        assert _signed_sm2((zibo.inbox / f"ACK_{claim.message_id}.xml").read_bytes())
        assert (tmp_path / "drops" / JINAN / "inbox" / file_name(claim)).exists()


def test_config_demands_a_gateway_key_each_city_accepts(tmp_path):
    config_path = _workspace(tmp_path, gateway_sm2=False)
    config, problems = check_config(config_path)
    assert config is None
    where = sorted(p.where.split(":", 1)[1] for p in problems)
    assert where == [f"cities.{JINAN}.signature_algorithms", f"cities.{ZIBO}.signature_algorithms"]
    assert "sm2_key" in problems[0].message


@pytest.mark.parametrize(
    "edit, where",
    [
        (lambda t: t.replace(f'certificates = ["keys/{YANTAI}.crt.pem"]\n',
                             f'certificates = ["keys/{YANTAI}.crt.pem"]\nsignature_algorithms = ["sm2"]\n'),
         f"cities.{YANTAI}.signature_algorithms"),
        (lambda t: t.replace('signature_algorithms = ["sm2"]', 'signature_algorithms = ["gost"]', 1),
         f"cities.{JINAN}.signature_algorithms"),
        (lambda t: t.replace("sm2_certificate = ", 'sm2_user_id = ""\nsm2_certificate = '), "gateway.sm2_user_id"),
    ],
    ids=["rsa-certificate-for-sm2-city", "unknown-algorithm", "empty-user-id"],
)
def test_config_problems_of_the_signature_settings(tmp_path, edit, where):
    config_path = _workspace(tmp_path)
    config_path.write_text(edit(config_path.read_text(encoding="utf-8")), encoding="utf-8")
    _, problems = check_config(config_path)
    assert where in [p.where.split(":", 1)[1] for p in problems], [str(p) for p in problems]


def test_ltcgw_verify_with_the_config_checks_an_sm2_ack(tmp_path, capsys):
    config_path = _workspace(tmp_path)
    zibo = CitySystem(ZIBO, tmp_path / "keys", tmp_path / "drops" / ZIBO)
    claim, _ = zibo.send(MessageType.A3, JINAN, PERIOD, seed=4)
    _run(config_path)
    ack = zibo.inbox / f"ACK_{claim.message_id}.xml"
    capsys.readouterr()
    assert main(["verify", str(ack), "-c", str(config_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True
