"""XML-DSig with SM2-SM3 in our one shape, written here because signxml knows no SM2.

The shape is the RSA/ECDSA one (gateway.documents.xmldsig checks it before this module is asked): an
enveloped ds:Signature, a direct child of the root, exactly one Reference URI="" covering the whole
document, its enveloped-signature transform then at most one canonicalization. What this module adds:

- SignatureMethod `http://www.w3.org/2000/09/xmldsig#sm2-sm3`, as China E-Port signs XML; the E-Port 2022
  spelling `http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3` is accepted too.
- DigestMethod SM3: no W3C or IETF URI exists for it (RFC 9231 lists none). We write
  `http://www.w3.org/2000/09/xmldsig#sm3`, the spelling of the same family as the SignatureMethod above, and
  accept the E-Port 2022 `http://www.chinaport.gov.cn/2022/04/xmldsig#sm3` and
  `http://www.w3.org/2007/05/xmldsig-more#sm3`. Older E-Port messages digest with SHA-1: refused.
- Canonicalization: we write exclusive c14n; exclusive c14n and C14N 1.0 (E-Port's) are accepted, without
  comments. C14N 1.1 is not: lxml has no 1.1, and a canonical form we cannot compute is one we cannot check.
- SignatureValue: SM2 over the canonical SignedInfo with the signer id (default 1234567812345678), written as
  the raw 64 bytes r||s like E-Port; DER is accepted on verify (gateway.documents.sm2.to_der).

Verification checks the signature over SignedInfo with each candidate pinned certificate first (that
authenticates the DigestValue), then recomputes the digest from the very tree it returns: what the checks
read afterwards is exactly what was digested, nothing re-parsed and nothing beside it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from gateway.documents import sm2
from gateway.documents.xmldsig import (
    C14N_10,
    ENVELOPED,
    EXC_C14N,
    NS,
    SM2_DIGEST_METHODS,
    SM2_SM3,
    SM3,
    algorithm_of,
    canonical,
    content_changed,
    detach,
    ds,
    inclusive_prefixes,
    reference_c14n,
)
from gateway.domain.findings import Finding, Refused

__all__ = ["SM2_SM3", "SM3", "sign", "verify"]

# lxml has no C14N 1.1, and a canonical form we cannot compute exactly is one we cannot check.
C14N_METHODS = frozenset({EXC_C14N, C14N_10})


def sign(root: etree._Element, key: sm2.Sm2PrivateKey, cert: x509.Certificate) -> bytes:
    """`root` with an enveloped SM2-SM3 signature appended, as UTF-8 bytes (the signature is checked once
    against `cert` before anything leaves: a key that does not match its certificate is an error here, not a
    NACK at the receiver)."""
    public = sm2.public_key_of(cert)
    if public is None:
        raise ValueError("an SM2 key signs with an SM2 certificate; this certificate's key is not SM2")
    digest = sm2.sm3(canonical(root, EXC_C14N))
    signature = etree.SubElement(root, ds("Signature"), nsmap={"ds": NS["ds"]})
    signed_info = etree.SubElement(signature, ds("SignedInfo"))
    etree.SubElement(signed_info, ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(signed_info, ds("SignatureMethod"), Algorithm=SM2_SM3)
    reference = etree.SubElement(signed_info, ds("Reference"), URI="")
    transforms = etree.SubElement(reference, ds("Transforms"))
    etree.SubElement(transforms, ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(transforms, ds("Transform"), Algorithm=EXC_C14N)
    etree.SubElement(reference, ds("DigestMethod"), Algorithm=SM3)
    etree.SubElement(reference, ds("DigestValue")).text = base64.b64encode(digest).decode("ascii")
    canonical_signed_info = canonical(signed_info, EXC_C14N)
    value = sm2.to_raw(key.sign(canonical_signed_info, public))
    if not sm2.verify(public, canonical_signed_info, value, key.user_id):
        root.remove(signature)
        raise ValueError("the SM2 key does not match the certificate it is paired with")
    etree.SubElement(signature, ds("SignatureValue")).text = base64.b64encode(value).decode("ascii")
    der = cert.public_bytes(serialization.Encoding.DER)
    x509_data = etree.SubElement(etree.SubElement(signature, ds("KeyInfo")), ds("X509Data"))
    etree.SubElement(x509_data, ds("X509Certificate")).text = base64.b64encode(der).decode("ascii")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def verify(
    raw_root: etree._Element,
    signature: etree._Element,
    certificates: Sequence[x509.Certificate],
    user_id: bytes = sm2.DEFAULT_USER_ID,
) -> x509.Certificate | None:
    """The certificate whose key made `signature` over `raw_root`, None when none of them did; Refused(sig.*)
    for a signature we do not accept or content changed after signing.

    On success `raw_root` has had its signature removed and is exactly the signed content.
    """
    line = signature.sourceline
    signed_info = signature.find("ds:SignedInfo", NS)
    reference = signed_info.find("ds:Reference", NS)
    method = signed_info.find("ds:CanonicalizationMethod", NS)
    c14n = algorithm_of(method)
    if c14n not in C14N_METHODS:
        raise Refused(Finding("sig.algorithm", "with SM2 the canonicalization must be exclusive c14n or C14N 1.0, "
                              "not {algorithm}", line, algorithm=repr(c14n)))
    if algorithm_of(reference.find("ds:DigestMethod", NS)) not in SM2_DIGEST_METHODS:
        raise Refused(Finding("sig.algorithm", "an SM2-SM3 signature digests with SM3", line))
    # Only the enveloped transform: XML-DSig turns the node-set into octets with C14N 1.0 (E-Port's shape).
    content_c14n, prefixes = reference_c14n(reference)
    if content_c14n not in C14N_METHODS:
        raise Refused(Finding("sig.algorithm", "with SM2 the reference's canonicalization must be exclusive "
                              "c14n or C14N 1.0, not {algorithm}", line, algorithm=repr(content_c14n)))
    value = _base64(signature.findtext("ds:SignatureValue", None, NS), "SignatureValue", line)
    expected = _base64(reference.findtext("ds:DigestValue", None, NS), "DigestValue", line)
    canonical_signed_info = canonical(signed_info, c14n, inclusive_prefixes(method))
    for cert in certificates:
        public = sm2.public_key_of(cert)
        if public is not None and sm2.verify(public, canonical_signed_info, value, user_id):
            break
    else:
        return None
    detach(signature)
    if not hmac.compare_digest(sm2.sm3(canonical(raw_root, content_c14n, prefixes)), expected):
        raise content_changed()
    return cert


def _base64(text: str | None, what: str, line: int | None) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise Refused(Finding("sig.invalid", "the signature's {element} is not base64", line, element=what)) from None
