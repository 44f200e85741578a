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
  comments. C14N 1.1 is not (E-Port does not use it; xmldsig_strict holds the list).
- SignatureValue: SM2 over the canonical SignedInfo with the signer id (default 1234567812345678), written as
  the raw 64 bytes r||s like E-Port; DER is accepted on verify (gateway.documents.sm2.to_der).

Verification is our one verifier's, for every family (gateway.documents.xmldsig_strict): the signature over
SignedInfo with each candidate pinned certificate first (that authenticates the DigestValue), then the digest
recomputed from the very tree the checks read afterwards.
"""

from __future__ import annotations

from cryptography import x509
from lxml import etree

from gateway.documents import sm2, xmldsig_signer
from gateway.documents.xmldsig import SM2_SM3, SM3

__all__ = ["SM2_SM3", "SM3", "sign"]


def sign(root: etree._Element, key: sm2.Sm2PrivateKey, cert: x509.Certificate) -> bytes:
    """`root` with an enveloped SM2-SM3 signature appended, as UTF-8 bytes (our one signer's:
    gateway.documents.xmldsig_signer)."""
    return xmldsig_signer.sign(root, key, cert)
