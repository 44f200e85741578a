"""Whether a pinned certificate's key made a kept ds:Signature's SignatureValue over its canonical SignedInfo.

The streamed check (gateway.documents.check_stream) computes the reference's digest itself while parsing and
keeps only the small ds:Signature; what is left is this one question, asked per candidate certificate. RSA
(PKCS#1 v1.5) and ECDSA (XML-DSig's raw r||s) through pyca/cryptography, SM2 through gateway.documents.sm2,
all over lxml's canonical form of SignedInfo (gateway.documents.xmldsig.canonical), as the tree path's
verifiers sign and check. One function, so that a shared RSA/ECDSA verifier can take its place.
"""

from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from gateway.documents import sm2, xmldsig

_HASHES = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": hashes.SHA512,
}
assert set(_HASHES) == xmldsig.SIGNATURE_METHODS, "the allow-list and the hashes here disagree"


class Unreadable(ValueError):
    """SignatureValue or DigestValue is not base64: the tree path names that (its verifiers differ on it)."""


def decoded(text: str | None) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise Unreadable("not base64") from None


def canonical_signed_info(signature: etree._Element) -> bytes:
    signed_info = signature.find("ds:SignedInfo", xmldsig.NS)
    method = signed_info.find("ds:CanonicalizationMethod", xmldsig.NS)
    return xmldsig.canonical(signed_info, xmldsig.algorithm_of(method) or "", xmldsig.inclusive_prefixes(method))


def signed_by(signature: etree._Element, cert: x509.Certificate, sm2_user_id: bytes = sm2.DEFAULT_USER_ID) -> bool:
    """Whether `cert`'s key signed `signature`'s SignedInfo (a signature that passed xmldsig.check_shape)."""
    value = decoded(signature.findtext("ds:SignatureValue", None, xmldsig.NS))
    message = canonical_signed_info(signature)
    method = xmldsig.method_of(signature) or ""
    if method in xmldsig.SM2_SIGNATURE_METHODS:
        public = sm2.public_key_of(cert)
        return public is not None and sm2.verify(public, message, value, sm2_user_id)
    key = cert.public_key()
    algorithm = _HASHES[method]()
    try:
        if isinstance(key, rsa.RSAPublicKey) and "rsa-" in method:
            key.verify(value, message, padding.PKCS1v15(), algorithm)
            return True
        if isinstance(key, ec.EllipticCurvePublicKey) and "ecdsa-" in method:
            size = (key.curve.key_size + 7) // 8
            if len(value) != 2 * size:
                return False
            r, s = int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big")
            key.verify(encode_dss_signature(r, s), message, ec.ECDSA(algorithm))
            return True
    except InvalidSignature:
        return False
    return False
