"""Our signer of our one XML-DSig shape, for every family: RSA-SHA256, ECDSA-SHA256 and SM2-SM3.

Why our own: the gateway signs every ACK and NACK, and the shape is fixed (an enveloped ds:Signature appended
to the root, one Reference URI="" with the enveloped transform and exclusive c14n), so signing is two
canonical forms, one hash and one private-key operation, with nothing to configure; signxml did the same with
several serialisations more. libxmlsec1 and signxml verify what this signs (tests/envelope/test_cross_check.py).

Each signature is checked once against the certificate it is paired with before anything leaves: a key that
does not match its certificate is an error here, not a NACK at the receiver.
"""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from lxml import etree

from gateway.documents import sm2
from gateway.documents.keys import SigningKey
from gateway.documents.xmldsig import (
    DS, ECDSA_SHA256, ENVELOPED, EXC_C14N, RSA_SHA256, SHA256, SM2_SM3, SM3, canonical, ds,
)


def sign(root: etree._Element, key: SigningKey, cert: x509.Certificate) -> bytes:
    """`root` with an enveloped signature by `key` appended, as UTF-8 bytes ready to deliver."""
    if isinstance(key, sm2.Sm2PrivateKey):
        method, digest_method = SM2_SM3, SM3
        public = sm2.public_key_of(cert)
        if public is None:
            raise ValueError("an SM2 key signs with an SM2 certificate; this certificate's key is not SM2")
        digest = sm2.sm3(canonical(root, EXC_C14N))
    elif isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        method = RSA_SHA256 if isinstance(key, rsa.RSAPrivateKey) else ECDSA_SHA256
        digest_method = SHA256
        hasher = hashes.Hash(hashes.SHA256())
        hasher.update(canonical(root, EXC_C14N))  # the root as it is written out: exclusive c14n, no siblings
        digest = hasher.finalize()
    else:
        raise TypeError(f"cannot sign with a {type(key).__name__}: use an RSA, ECDSA or SM2 key")
    signature = etree.SubElement(root, ds("Signature"), nsmap={"ds": DS})
    signed_info = etree.SubElement(signature, ds("SignedInfo"))
    etree.SubElement(signed_info, ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(signed_info, ds("SignatureMethod"), Algorithm=method)
    reference = etree.SubElement(signed_info, ds("Reference"), URI="")
    transforms = etree.SubElement(reference, ds("Transforms"))
    etree.SubElement(transforms, ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(transforms, ds("Transform"), Algorithm=EXC_C14N)
    etree.SubElement(reference, ds("DigestMethod"), Algorithm=digest_method)
    etree.SubElement(reference, ds("DigestValue")).text = base64.b64encode(digest).decode("ascii")
    signed = canonical(signed_info, EXC_C14N)
    try:
        value = _signature_value(key, cert, signed)
    except ValueError:
        root.remove(signature)
        raise
    etree.SubElement(signature, ds("SignatureValue")).text = base64.b64encode(value).decode("ascii")
    der = cert.public_bytes(serialization.Encoding.DER)
    x509_data = etree.SubElement(etree.SubElement(signature, ds("KeyInfo")), ds("X509Data"))
    etree.SubElement(x509_data, ds("X509Certificate")).text = base64.b64encode(der).decode("ascii")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _signature_value(key: SigningKey, cert: x509.Certificate, signed: bytes) -> bytes:
    """The SignatureValue over the canonical SignedInfo, checked against `cert`; ValueError when it does not
    match."""
    mismatch = ValueError(f"the {_family(key)} key does not match the certificate it is paired with")
    if isinstance(key, sm2.Sm2PrivateKey):
        public = sm2.public_key_of(cert)
        value = sm2.to_raw(key.sign(signed, public))  # raw r||s, as China E-Port writes it
        if not sm2.verify(public, signed, value, key.user_id):
            raise mismatch
        return value
    certified = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPrivateKey):
            value = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
            if not isinstance(certified, rsa.RSAPublicKey):
                raise mismatch
            certified.verify(value, signed, padding.PKCS1v15(), hashes.SHA256())
            return value
        r, s = decode_dss_signature(key.sign(signed, ec.ECDSA(hashes.SHA256())))
        if not isinstance(certified, ec.EllipticCurvePublicKey):
            raise mismatch
        certified.verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise mismatch from None
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")  # XML-DSig's r||s, each half the curve's size


def _family(key: SigningKey) -> str:
    return "SM2" if isinstance(key, sm2.Sm2PrivateKey) else "RSA" if isinstance(key, rsa.RSAPrivateKey) else "ECDSA"
