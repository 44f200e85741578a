"""SM2 keys and certificates on disk: ours (ltcgw keys --algorithm sm2) and OpenSSL's, PEM and DER, PKCS#8 and
the EC private key structure; the pinned-certificate model takes SM2 certificates beside RSA ones."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization

from gateway.documents import sm2
from gateway.documents.keys import (
    KeyFileError,
    certificate_algorithm,
    certificate_fingerprint,
    generate_keys,
    load_certificates,
    load_private_key,
)
from gateway.entrypoints.cli import main


def _run(*args: str, cwd=None) -> None:
    subprocess.run(args, check=True, capture_output=True, cwd=cwd)


def test_ltcgw_keys_writes_an_sm2_pair_that_openssl_accepts(tmp_path, openssl):
    assert main(["keys", "370300", "--algorithm", "sm2", "-o", str(tmp_path), "--days", "30"]) == 0
    key_path, cert_path = tmp_path / "370300.key.pem", tmp_path / "370300.crt.pem"
    assert key_path.stat().st_mode & 0o777 == 0o600
    key = load_private_key(key_path)
    [cert] = load_certificates(cert_path)
    assert isinstance(key, sm2.Sm2PrivateKey) and key.public == sm2.public_key_of(cert)
    assert certificate_algorithm(cert) == "sm2"
    assert cert.signature_algorithm_oid.dotted_string == sm2.SM2_WITH_SM3_OID
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=30)
    assert len(certificate_fingerprint(cert)) == 64
    # OpenSSL checks the self-signature (SM2 with SM3, default id) and reads the key as an SM2 key.
    _run(openssl, "verify", "-CAfile", str(cert_path), str(cert_path))
    text = subprocess.run([openssl, "x509", "-in", str(cert_path), "-noout", "-text"], check=True,
                          capture_output=True, text=True).stdout
    assert "SM2-with-SM3" in text and "ASN1 OID: SM2" in text and "CN = 370300" in text
    _run(openssl, "pkey", "-in", str(key_path), "-noout")


@pytest.mark.parametrize("form", ["pkcs8-pem", "pkcs8-der", "ec-pem", "ec-der"])
def test_openssl_keys_in_every_usual_form(tmp_path, openssl, form):
    pem = tmp_path / "key.pem"
    _run(openssl, "genpkey", "-algorithm", "SM2", "-out", str(pem))
    target = tmp_path / "key"
    if form == "pkcs8-pem":
        target = pem
    elif form == "pkcs8-der":
        _run(openssl, "pkey", "-in", str(pem), "-outform", "DER", "-out", str(target))
    else:  # GM/T 0010 / SEC1 ECPrivateKey, as `openssl ec` writes it ("SM2 PRIVATE KEY")
        _run(openssl, "ec", "-in", str(pem), "-outform", "PEM" if form == "ec-pem" else "DER", "-out", str(target))
    os.chmod(target, 0o600)
    key = load_private_key(target)
    reference = load_private_key(pem) if target != pem else key
    assert isinstance(key, sm2.Sm2PrivateKey) and key == reference and len(key.secret) == 32
    cert = tmp_path / "cert.pem"
    _run(openssl, "req", "-new", "-x509", "-key", str(pem), "-sm3", "-subj", "/CN=370300", "-days", "10",
         "-sigopt", "distid:1234567812345678", "-out", str(cert))
    [loaded] = load_certificates(cert)
    assert sm2.public_key_of(loaded) == key.public
    der = tmp_path / "cert.der"
    _run(openssl, "x509", "-in", str(cert), "-outform", "DER", "-out", str(der))
    assert load_certificates(der) == [loaded]


def test_sm2_keys_readable_by_others_or_encrypted_are_refused(tmp_path, openssl):
    key_path, _ = generate_keys("370300", tmp_path / "a", algorithm="sm2")
    os.chmod(key_path, 0o640)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_private_key(key_path)
    encrypted = tmp_path / "enc.pem"
    _run(openssl, "genpkey", "-algorithm", "SM2", "-aes-128-cbc", "-pass", "pass:secret", "-out", str(encrypted))
    os.chmod(encrypted, 0o600)
    with pytest.raises(KeyFileError):
        load_private_key(encrypted)
    with pytest.raises(sm2.Sm2KeyError, match="encrypted"):
        sm2.load_private_key(encrypted.read_bytes())


def test_a_p256_key_is_not_taken_for_an_sm2_key(tmp_path, openssl):
    path = tmp_path / "p256.pem"
    _run(openssl, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(path))
    with pytest.raises(sm2.Sm2KeyError):
        sm2.load_private_key(path.read_bytes())
    os.chmod(path, 0o600)
    assert not isinstance(load_private_key(path), sm2.Sm2PrivateKey)


def test_trust_store_pins_sm2_beside_rsa_and_pickles(sm2_parties):
    import pickle

    from gateway.documents.check import TrustStore

    zibo, rsa = sm2_parties["zibo"], sm2_parties["rsa"]
    store = TrustStore({"370300": [rsa.cert, zibo.cert]}, algorithms={"370300": ["sm2"]},
                       sm2_user_ids={"370300": b"ZIBO"})
    copy = pickle.loads(pickle.dumps(store))
    assert copy.certificates("370300") == (rsa.cert, zibo.cert)
    assert [certificate_algorithm(c) for c in copy.certificates("370300")] == ["rsa", "sm2"]
    assert copy.algorithms("370300") == ("sm2",) and copy.algorithms("370100") is None
    assert copy.sm2_user_id("370300") == b"ZIBO" and copy.sm2_user_id("370100") == sm2.DEFAULT_USER_ID


def test_expired_sm2_certificates_are_seen_as_expired(tmp_path):
    then = datetime.now(timezone.utc) - timedelta(days=30)
    _, cert_path = generate_keys("370300", tmp_path, algorithm="sm2", days=10, now=then)
    [cert] = load_certificates(cert_path)
    assert cert.not_valid_after_utc < datetime.now(timezone.utc)
    assert cert.public_bytes(serialization.Encoding.PEM) == cert_path.read_bytes()


def test_pkcs8_with_the_sm2_oid_as_algorithm_and_without_public_point(tmp_path, sm2_parties):
    """Some GM/T tools name the key algorithm by the SM2 OID itself and leave the public point out: the key
    then signs with the point of its certificate."""
    from asn1crypto import core, keys as asn1_keys

    from tests.envelope.helpers import signed_claim
    from gateway.documents.signature import verify_message

    class Algorithm(core.Sequence):
        _fields = [("algorithm", core.ObjectIdentifier)]

    class Pkcs8(core.Sequence):
        _fields = [("version", core.Integer), ("algorithm", Algorithm), ("private_key", core.OctetString)]

    zibo = sm2_parties["zibo"]
    inner = asn1_keys.ECPrivateKey({"version": "ecPrivkeyVer1", "private_key": int.from_bytes(zibo.key.secret, "big")})
    der = Pkcs8({"version": 0, "algorithm": {"algorithm": sm2.SM2_CURVE_OID}, "private_key": inner.dump()}).dump()
    path = tmp_path / "zibo.der"
    path.write_bytes(der)
    os.chmod(path, 0o600)
    key = load_private_key(path)
    assert key.secret == zibo.key.secret and key.public is None
    from dataclasses import replace

    data = signed_claim(replace(zibo, key=key))
    assert verify_message(data, [zibo.cert]).certificate == zibo.cert
