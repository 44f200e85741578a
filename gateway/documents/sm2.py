"""SM2 with SM3 (国密, the national algorithms): keys, certificates and the signature primitive.

The algorithms come from gmssl-pyx (GmSSL 3 compiled into the extension: SM2 on the recommended curve
sm2p256v1, the signer's Z value, SM3). The ASN.1 of keys and certificates comes from asn1crypto, because
pyca/cryptography cannot load an SM2 key: it does load an SM2 certificate (validity, fingerprint, bytes are
all it needs to pin one) and only fails at its public key, which `public_key_of` reads instead.

Signature values: GmSSL signs to DER (SEQUENCE of r, s); China E-Port's XML signatures carry the raw 64
bytes r||s. `verify` takes either: 64 bytes is raw (a DER encoding is 8 to 72 bytes and is 64 only when both
integers are short by 3 bytes, about 2^-48 of signatures; such a one is read as raw and simply fails).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import gmssl_pyx
from asn1crypto import core, keys as asn1_keys, pem, x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

SM2_CURVE_OID = "1.2.156.10197.1.301"  # GM/T 0006: the SM2 curve (also used as a key algorithm on its own)
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"  # GM/T 0006: SM2 signature with SM3
DEFAULT_USER_ID = b"1234567812345678"  # GM/T 0009 default signer id, used when none is agreed
_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
_SIZE = 32

# asn1crypto must know the curve's size to write its keys; the name is the one GmSSL and OpenSSL use.
if SM2_CURVE_OID not in asn1_keys.NamedCurve._map:
    asn1_keys.NamedCurve.register("sm2p256v1", SM2_CURVE_OID, _SIZE)


class Sm2KeyError(ValueError):
    """Bytes that are not an SM2 key this module can use."""


@dataclass(frozen=True, slots=True)
class Sm2PrivateKey:
    """An SM2 signing key: the secret scalar, its public point (x||y) when the file carries it, the signer id."""

    secret: bytes = field(repr=False)
    public: bytes | None = None
    user_id: bytes = DEFAULT_USER_ID

    def sign(self, message: bytes, public: bytes | None = None) -> bytes:
        """DER signature of `message` (SM3 over Z || message, Z from the signer id and public point)."""
        point = public or self.public
        if point is None:
            raise Sm2KeyError("an SM2 signature needs the signer's public key (from the key file or certificate)")
        return gmssl_pyx.sm2_sign(self.secret, point, message, self.user_id)

    def with_user_id(self, user_id: bytes) -> Sm2PrivateKey:
        return Sm2PrivateKey(self.secret, self.public, user_id)


def generate() -> Sm2PrivateKey:
    public, secret = gmssl_pyx.sm2_key_generate()
    return Sm2PrivateKey(secret, public)


def sm3(data: bytes) -> bytes:
    return gmssl_pyx.sm3_hash(data)


def verify(public: bytes, message: bytes, signature: bytes, user_id: bytes = DEFAULT_USER_ID) -> bool:
    """Whether `signature` (raw r||s or DER) is `public`'s SM2 signature of `message` under `user_id`."""
    try:
        der = to_der(signature)
        return bool(gmssl_pyx.sm2_verify(public, message, der, user_id))
    except (ValueError, gmssl_pyx.GmsslInnerError):
        return False


def to_der(signature: bytes) -> bytes:
    """DER of a signature given raw (64 bytes) or DER (checked strictly: ValueError otherwise)."""
    if len(signature) == 2 * _SIZE:
        r, s = int.from_bytes(signature[:_SIZE], "big"), int.from_bytes(signature[_SIZE:], "big")
    else:
        r, s = decode_dss_signature(signature)
    return encode_dss_signature(r, s)


def to_raw(signature: bytes) -> bytes:
    """The 64-byte r||s of a DER signature, as China E-Port writes SignatureValue."""
    r, s = decode_dss_signature(signature)
    return r.to_bytes(_SIZE, "big") + s.to_bytes(_SIZE, "big")


# --- keys ----------------------------------------------------------------------------------------------------


def load_private_key(data: bytes) -> Sm2PrivateKey:
    """An SM2 key from PEM or DER: PKCS#8 (id-ecPublicKey or the SM2 OID, with the SM2 curve) or the
    GM/T 0010 / SEC1 EC private key structure ("EC PRIVATE KEY", "SM2 PRIVATE KEY"). Unencrypted only."""
    if pem.detect(data):
        label, _, der = pem.unarmor(data)
        if "ENCRYPTED" in label:
            raise Sm2KeyError("the SM2 key is encrypted; the gateway needs it unencrypted (protected by mode 0600)")
    else:
        der = data
    for parse in (_from_pkcs8, _from_ec_private_key):
        try:
            key = parse(der)
        except (ValueError, TypeError, KeyError):
            continue
        if key is not None:
            return key
    raise Sm2KeyError("not an SM2 private key (PKCS#8 or EC private key on curve 1.2.156.10197.1.301)")


class _AlgorithmIdentifier(core.Sequence):
    _fields = [("algorithm", core.ObjectIdentifier), ("parameters", core.Any, {"optional": True})]


class _PrivateKeyInfo(core.Sequence):
    """PKCS#8 read loosely enough for either SM2 spelling (asn1crypto's own refuses the SM2 OID as algorithm)."""

    _fields = [
        ("version", core.Integer),
        ("algorithm", _AlgorithmIdentifier),
        ("private_key", core.OctetString),
        ("attributes", core.Any, {"implicit": 0, "optional": True}),
        ("public_key", core.Any, {"implicit": 1, "optional": True}),
    ]


def _from_pkcs8(der: bytes) -> Sm2PrivateKey | None:
    info = _PrivateKeyInfo.load(der, strict=True)
    algorithm = info["algorithm"]
    oid = algorithm["algorithm"].dotted
    params = algorithm["parameters"]
    curve = core.ObjectIdentifier.load(params.dump()).dotted if params.native is not None else None
    if not (oid == SM2_CURVE_OID or (oid == _EC_PUBLIC_KEY and curve == SM2_CURVE_OID)):
        return None
    return _from_structure(asn1_keys.ECPrivateKey.load(info["private_key"].native, strict=True))


def _from_ec_private_key(der: bytes) -> Sm2PrivateKey | None:
    inner = asn1_keys.ECPrivateKey.load(der, strict=True)
    if _named_curve(inner["parameters"]) != SM2_CURVE_OID:
        return None
    return _from_structure(inner)


def _named_curve(params: object) -> str | None:
    if isinstance(params, core.Choice) and params.name == "named":
        return params.chosen.dotted
    return None


def _from_structure(inner: asn1_keys.ECPrivateKey) -> Sm2PrivateKey:
    secret = inner["private_key"].native
    secret_bytes = (secret if isinstance(secret, int) else int.from_bytes(secret, "big")).to_bytes(_SIZE, "big")
    point = inner["public_key"].native  # optional in both structures: then the certificate's is used
    return Sm2PrivateKey(secret_bytes, gmssl_pyx.normalize_sm2_public_key(point) if point else None)


def private_key_pem(key: Sm2PrivateKey) -> bytes:
    """PKCS#8 PEM as OpenSSL 3 writes an SM2 key (id-ecPublicKey with the SM2 curve, public point included)."""
    if key.public is None:
        raise Sm2KeyError("cannot write an SM2 key without its public point")
    inner = asn1_keys.ECPrivateKey(
        {
            "version": "ecPrivkeyVer1",
            "private_key": int.from_bytes(key.secret, "big"),
            "public_key": b"\x04" + key.public,
        }
    )
    info = asn1_keys.PrivateKeyInfo(
        {
            "version": 0,
            "private_key_algorithm": {"algorithm": _EC_PUBLIC_KEY, "parameters": _curve_parameters()},
            "private_key": inner,
        }
    )
    return pem.armor("PRIVATE KEY", info.dump())


def _curve_parameters() -> asn1_keys.ECDomainParameters:
    return asn1_keys.ECDomainParameters(name="named", value=SM2_CURVE_OID)


# --- certificates --------------------------------------------------------------------------------------------


def is_sm2_certificate(cert: x509.Certificate) -> bool:
    return public_key_of(cert) is not None


def public_key_of(cert: x509.Certificate) -> bytes | None:
    """The SM2 public point (x||y, 64 bytes) of `cert`, or None when its key is not an SM2 key."""
    return _public_key(cert.public_bytes(serialization.Encoding.DER))


@lru_cache(maxsize=256)
def _public_key(der: bytes) -> bytes | None:
    info = asn1_x509.Certificate.load(der)["tbs_certificate"]["subject_public_key_info"]
    algorithm = info["algorithm"]
    oid = algorithm["algorithm"].dotted
    if not (oid == SM2_CURVE_OID or (oid == _EC_PUBLIC_KEY and _named_curve(algorithm["parameters"]) == SM2_CURVE_OID)):
        return None
    try:
        return gmssl_pyx.normalize_sm2_public_key(info["public_key"].native)
    except (ValueError, gmssl_pyx.GmsslInnerError):
        return None  # not a point on the curve: no signature can verify under it


def self_signed_certificate(
    key: Sm2PrivateKey, subject: dict[str, str], not_before: datetime, not_after: datetime, serial: int
) -> x509.Certificate:
    """A self-signed X.509 v3 certificate for `key`, signed SM2-with-SM3 (GM/T 0015 shape) under the default id.

    `subject` uses asn1crypto's attribute names (country_name, organization_name, common_name...).
    """
    if key.public is None:
        raise Sm2KeyError("cannot certify an SM2 key without its public point")
    name = asn1_x509.Name.build(subject, use_printable=False)
    algorithm = {"algorithm": SM2_WITH_SM3_OID}
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial,
            "signature": algorithm,
            "issuer": name,
            "validity": {"not_before": _time(not_before), "not_after": _time(not_after)},
            "subject": name,
            "subject_public_key_info": {
                "algorithm": {"algorithm": _EC_PUBLIC_KEY, "parameters": _curve_parameters()},
                "public_key": b"\x04" + key.public,
            },
            "extensions": [
                {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
                {"extn_id": "key_usage", "critical": True,
                 "extn_value": {"digital_signature", "non_repudiation"}},
            ],
        }
    )
    # Certificates are signed under the default id whatever id the key signs messages with (GM/T 0015).
    signature = key.with_user_id(DEFAULT_USER_ID).sign(tbs.dump())
    cert = asn1_x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": signature})
    return x509.load_der_x509_certificate(cert.dump())


def _time(moment: datetime) -> asn1_x509.Time:
    # RFC 5280: UTCTime through 2049, GeneralizedTime from 2050 on.
    return asn1_x509.Time(name="utc_time" if moment.year < 2050 else "general_time", value=moment)
