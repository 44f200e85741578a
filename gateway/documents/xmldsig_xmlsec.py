"""RSA and ECDSA verified by libxmlsec1 (the `xmlsec` binding) on the tree the check already parsed.

Why: signxml parses the bytes again and serialises them several times (37% of a check's time, most of its
memory on a large claim); libxmlsec1 verifies the very tree the check holds, so the signed content the checks
read afterwards is that tree without its signature, nothing re-parsed (docs/benchmarks.md has the figures).

Now a cross-check of our own verifier (gateway.documents.xmldsig_strict) in the tests and the bench, not a
dependency of the service; it is loaded only where it is safe: the binding links its own copy of libxml2,
and when that is not the version lxml runs on, nodes of one are handed to the other: xmlsec >= 1.3.14 refuses
to load then (InternalError "lxml & xmlsec libxml2 library version mismatch"), older ones crash later. So the
binding is loaded once, here, only from 1.3.14 on and only when both report the same libxml2; otherwise
`UNAVAILABLE` says why.

The profile is xmldsig's, checked before this module is asked; libxmlsec1 is also held to it: the pinned
certificate's key is set on the context (KeyInfo is then never read for a key), and only the enveloped
transform, the c14n methods and the SHA-2 digests and signature methods of the allow-list are enabled.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Sequence
from datetime import datetime
from importlib import metadata
from types import ModuleType

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from gateway.documents import xmldsig
from gateway.domain.findings import Finding, Refused

FIRST_CHECKED = (1, 3, 14)  # the first xmlsec that refuses, at import, a libxml2 other than lxml's


def _load() -> tuple[ModuleType | None, str | None]:
    """The binding, or None and why it is not used."""
    try:
        version = metadata.version("xmlsec")
    except metadata.PackageNotFoundError:
        return None, "the xmlsec binding is not installed"
    if _version_tuple(version) < FIRST_CHECKED:
        return None, f"xmlsec {version} is older than 1.3.14 and cannot tell whether its libxml2 is lxml's"
    try:
        import xmlsec
    except Exception as error:  # xmlsec.InternalError on a libxml2 mismatch; an ImportError on a broken build
        return None, f"the xmlsec binding does not load: {error}"
    theirs, ours = tuple(xmlsec.get_libxml_version()), tuple(etree.LIBXML_VERSION)
    if theirs != ours:
        return None, f"xmlsec runs on libxml2 {_dotted(theirs)} and lxml on {_dotted(ours)}"
    return xmlsec, None


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


_xmlsec, UNAVAILABLE = _load()


def available() -> bool:
    return _xmlsec is not None


def verify(
    data: bytes,
    raw_root: etree._Element,
    signature: etree._Element,
    certificates: Sequence[x509.Certificate],
    when: datetime,
) -> tuple[etree._Element, x509.Certificate] | None:
    """The signed content and the certificate (of `certificates`, in order) whose key signed `raw_root`; None
    when none did; Refused(sig.digest) when one did but the content changed since.

    On success `raw_root` has had its signature removed and is exactly what was digested. (`data` and `when`
    are not needed: the tree is the bytes parsed, and the certificates passed are valid at `when`.)
    """
    if _xmlsec is None:
        raise RuntimeError(f"libxmlsec1 is not usable here: {UNAVAILABLE}")
    keys = [(cert, _key(cert)) for cert in certificates]
    for cert, key in keys:
        context = _context(key)
        try:
            context.verify(signature)
        except _xmlsec.Error:  # VerificationError (digest or signature value), or a key of another kind
            continue
        xmldsig.detach(signature)
        return raw_root, cert
    # libxmlsec1 says only "invalid". As signxml does, a changed content is named only when a pinned key
    # signed SignedInfo (the DigestValue is then genuine); otherwise the key is not one we trust.
    if any(_signed_info_by(signature, key) for _, key in keys):
        raise xmldsig.content_changed()
    return None


def _key(cert: x509.Certificate):
    try:
        return _xmlsec.Key.from_memory(
            cert.public_bytes(serialization.Encoding.PEM), _xmlsec.constants.KeyDataFormatCertPem
        )
    except _xmlsec.Error as error:
        raise Refused(
            Finding("sig.invalid", "libxmlsec1 cannot use the pinned certificate's key ({error}): tell the operator",
                    error=error)
        ) from None


def _context(key):
    transform = _xmlsec.Transform
    context = _xmlsec.SignatureContext()
    context.key = key  # set: KeyInfo is never read for a key, and nothing is looked up
    # The first call of each switches libxmlsec1 from "every transform" to only those enabled.
    for enabled in (transform.ENVELOPED, *_c14n(), transform.SHA256, transform.SHA384, transform.SHA512):
        context.enable_reference_transform(enabled)
    for enabled in (*_c14n(), *_methods().values()):
        context.enable_signature_transform(enabled)
    return context


def _c14n():
    transform = _xmlsec.Transform
    return transform.EXCL_C14N, transform.C14N, transform.C14N11


@functools.cache
def _methods() -> dict:
    transform = _xmlsec.Transform
    methods = {
        xmldsig.RSA_SHA256: transform.RSA_SHA256,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": transform.RSA_SHA384,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": transform.RSA_SHA512,
        xmldsig.ECDSA_SHA256: transform.ECDSA_SHA256,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": transform.ECDSA_SHA384,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": transform.ECDSA_SHA512,
    }
    assert set(methods) == xmldsig.SIGNATURE_METHODS, "the allow-list and libxmlsec1's transforms disagree"
    return methods


def _signed_info_by(signature: etree._Element, key) -> bool:
    """Whether `key` made the SignatureValue over the canonical SignedInfo (only to name a refusal)."""
    signed_info = signature.find("ds:SignedInfo", xmldsig.NS)
    method = signed_info.find("ds:CanonicalizationMethod", xmldsig.NS)
    canonical = xmldsig.canonical(signed_info, xmldsig.algorithm_of(method) or "", xmldsig.inclusive_prefixes(method))
    try:
        value = base64.b64decode("".join((signature.findtext("ds:SignatureValue", "", xmldsig.NS)).split()),
                                 validate=True)
    except (binascii.Error, ValueError):
        return False
    context = _xmlsec.SignatureContext()
    context.key = key
    try:
        context.verify_binary(canonical, _methods()[xmldsig.method_of(signature)], value)
    except _xmlsec.Error:
        return False
    return True
