"""Signing keys and pinned certificates on disk.

Pilots and tests make their own self-signed pairs with `generate_keys`; a city in production may bring a
certificate from its own CA instead: the gateway only pins certificates, it never walks a chain. A PEM file of
certificates may hold several, so that a city can roll its key over with overlapping validity.

SM2 (国密) keys and certificates are read and made by gateway.documents.sm2: pyca/cryptography loads an SM2
certificate (validity and fingerprint are all pinning needs) but not an SM2 key.
"""

from __future__ import annotations

import functools
import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID

from gateway.documents import sm2
from gateway.domain.areas import area_name

Algorithm = Literal["rsa", "ecdsa", "sm2"]
ALGORITHMS: tuple[Algorithm, ...] = ("rsa", "ecdsa", "sm2")
SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | sm2.Sm2PrivateKey


class KeyFileError(ValueError):
    """A key or certificate file that cannot be used; the message names the path and the fix."""


def generate_keys(
    code: str, out_dir: str | Path, *, algorithm: Algorithm = "rsa", days: int = 825, now: datetime | None = None
) -> tuple[Path, Path]:
    """Write CODE.key.pem (mode 0600) and a self-signed CODE.crt.pem naming the area; return both paths.

    Refuses to overwrite an existing key: losing a city's key means re-pinning it everywhere.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = out / f"{code}.key.pem", out / f"{code}.crt.pem"
    if key_path.exists():
        raise KeyFileError(f"{key_path} already exists; move it away first if you really mean to replace the key")
    key: SigningKey
    start = (now or datetime.now(timezone.utc)) - timedelta(minutes=5)  # tolerate a slightly slow clock elsewhere
    if algorithm == "sm2":
        key = sm2.generate()
        subject = {"country_name": "CN", "organization_name": f"{area_name(code)} 医疗保障局",
                   "organizational_unit_name": "ltc-gateway", "common_name": code}
        certificate = sm2.self_signed_certificate(
            key, subject, start.replace(microsecond=0), start.replace(microsecond=0) + timedelta(days=days),
            x509.random_serial_number(),
        )
        return _write_pair(key_path, sm2.private_key_pem(key), cert_path, certificate)
    if algorithm == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif algorithm == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise KeyFileError(f"unknown algorithm {algorithm!r}: use rsa, ecdsa or sm2")
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{area_name(code)} 医疗保障局"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "ltc-gateway"),
            x509.NameAttribute(NameOID.COMMON_NAME, code),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return _write_pair(key_path, key_bytes, cert_path, cert)


def _write_pair(key_path: Path, key_bytes: bytes, cert_path: Path, cert: x509.Certificate) -> tuple[Path, Path]:
    # Created with 0600 from the start: no moment in which another user could read it.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def load_private_key(path: str | Path) -> SigningKey:
    """The private key in `path`, refusing files other users could read (or that are not plain files)."""
    path = Path(path)
    try:
        info = path.lstat()
    except OSError as error:
        raise KeyFileError(f"cannot read private key {path}: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(
            f"private key {path} is not a regular file (a link or device?): point to the key file itself"
        )
    if info.st_mode & 0o077:
        raise KeyFileError(
            f"private key {path} is readable by group or others (mode {stat.S_IMODE(info.st_mode):04o}); "
            f"run: chmod 600 {path}"
        )
    data = path.read_bytes()
    try:
        key: PrivateKeyTypes = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        try:
            return sm2.load_private_key(data)  # PEM or DER, PKCS#8 or GM/T 0010
        except sm2.Sm2KeyError:
            pass
        raise KeyFileError(f"{path} is not an unencrypted PEM private key: {error}") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise KeyFileError(f"{path} holds a {type(key).__name__}; the gateway signs with RSA, ECDSA or SM2 keys only")
    return key


def load_certificates(path: str | Path) -> list[x509.Certificate]:
    """Every certificate in a PEM file (several while a city rolls its key over), or the one of a DER file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise KeyFileError(f"cannot read certificate file {path}: {error.strerror}") from None
    try:
        if b"-----BEGIN" not in data:
            return [x509.load_der_x509_certificate(data)]
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise KeyFileError(f"{path} holds no PEM certificate: {error}") from None
    return certificates


@functools.lru_cache(maxsize=256)  # asked for each pinned certificate of every message checked
def certificate_algorithm(cert: x509.Certificate) -> Algorithm:
    """The family of the certificate's key: what it can verify."""
    if sm2.is_sm2_certificate(cert):
        return "sm2"
    try:
        return "rsa" if isinstance(cert.public_key(), rsa.RSAPublicKey) else "ecdsa"
    except UnsupportedAlgorithm:
        return "ecdsa"  # another curve: no ECDSA signature we accept verifies under it


def key_algorithm(key: SigningKey) -> Algorithm:
    if isinstance(key, sm2.Sm2PrivateKey):
        return "sm2"
    return "rsa" if isinstance(key, rsa.RSAPrivateKey) else "ecdsa"


def certificate_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate (hex): how operators and the ledger name a pinned certificate."""
    return cert.fingerprint(hashes.SHA256()).hex()
