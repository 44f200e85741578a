"""Our own verifier of our one XML-DSig shape, for every family: RSA and ECDSA over pyca/cryptography, SM2 over
GmSSL, the canonical forms by lxml (libxml2's c14n).

Why our own: the shape (gateway.documents.xmldsig, checked before this module is asked) leaves so little of
XML-DSig that what remains is two canonical forms, one hash and one public-key verification, and written here
they cost less than libxmlsec1's and much less than signxml's: the content is the whole document minus the
signature, so it is canonicalised in one pass of libxml2's fast path over the tree the checks read, where
libxmlsec1 walks the `URI=""` node-set through a callback per node and signxml re-parses and re-serialises
(docs/benchmarks.md). libxmlsec1 and signxml stay as cross-checks in the tests (tests/envelope).

What is verified, in order:
1. the Signature's own structure: SignedInfo, SignatureValue, at most a KeyInfo, nothing else (no Object,
   no second SignedInfo), SignedInfo holding its CanonicalizationMethod, SignatureMethod and one Reference;
2. SignedInfo, canonicalised with its CanonicalizationMethod, against its SignatureValue with each candidate
   pinned key in turn (KeyInfo is never read for a key: only the pinned certificates are tried);
3. the content: the signature detached as the enveloped transform does (the text after it stays), the
   document canonicalised as a whole, hashed with the DigestMethod and compared with the DigestValue. A
   difference is sig.digest (only named once a pinned key signed SignedInfo, so the DigestValue is genuine)
   and the signature is put back; on success the tree is left without it: exactly what was digested.

Canonical forms lxml computes exactly for this shape: exclusive c14n (with an InclusiveNamespaces
PrefixList) and C14N 1.0, without comments. C14N 1.1 differs from 1.0 only where an element's parent is left
out of the node-set: never in the content (the enveloped transform drops the Signature with all it holds),
and for SignedInfo only through xml:* attributes it would inherit from the Signature or the root, which is
why inclusive c14n of SignedInfo is refused when those carry any (lxml does not inherit them, so neither 1.0
nor 1.1 would be computed right). With that, RSA and ECDSA accept C14N 1.1 rendered as 1.0; SM2 keeps its
own profile (exclusive c14n or C14N 1.0: gateway.documents.xmldsig_sm2).

Signature values: RSA is PKCS#1 v1.5; ECDSA is the raw r||s of XML-DSig (each half the curve's size, turned
into DER for cryptography; DER itself is refused, as libxmlsec1 does); SM2 is raw r||s or DER.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from gateway.documents import sm2, xmldsig
from gateway.documents.xmldsig import C14N_10, EXC_C14N, NS, algorithm_of, ds
from gateway.domain.findings import Finding, Refused

XML_NS = "http://www.w3.org/XML/1998/namespace"

# The allow-lists' URIs, each with what computes it.
_SIGNATURE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": hashes.SHA512,
}
_DIGESTS: dict[str, str] = {
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
    **{uri: "sm3" for uri in xmldsig.SM2_DIGEST_METHODS},
}
assert set(_SIGNATURE_HASHES) == xmldsig.SIGNATURE_METHODS, "the allow-list and the verifier disagree"
assert set(_DIGESTS) == xmldsig.DIGEST_METHODS | xmldsig.SM2_DIGEST_METHODS, "the allow-list and the verifier disagree"

# SM2's profile has no C14N 1.1 (as China E-Port signs); RSA and ECDSA accept it (rendered as 1.0, see above).
_C14N = {"sm2": frozenset({EXC_C14N, C14N_10}), "rsa": xmldsig.C14N_METHODS, "ecdsa": xmldsig.C14N_METHODS}


class _Feed:
    """A file for lxml's write_c14n that hashes what it is given."""

    def __init__(self, hasher) -> None:
        self.write = hasher.update


@dataclass(frozen=True, slots=True)
class ContentDigest:
    """How the content of a signature's document is digested: its canonical form and its hash."""

    c14n: str
    prefixes: tuple[str, ...] | None  # exclusive c14n's InclusiveNamespaces PrefixList
    hash_name: str  # hashlib's name, or "sm3"

    def of(self, canonical: bytes) -> bytes:
        """The digest of the content's canonical form."""
        return sm2.sm3(canonical) if self.hash_name == "sm3" else hashlib.new(self.hash_name, canonical).digest()

    def of_document(self, root: etree._Element) -> bytes:
        """The digest of `root`'s whole document (its signature already detached), hashed as libxml2 writes
        the canonical form: a large claim's canonical copy is never held whole in memory."""
        if self.hash_name == "sm3":
            return self.of(self.canonical(root))
        hasher = hashlib.new(self.hash_name)
        exclusive = self.c14n == EXC_C14N
        root.getroottree().write_c14n(
            _Feed(hasher), exclusive=exclusive, with_comments=False,
            inclusive_ns_prefixes=list(self.prefixes) if exclusive and self.prefixes is not None else None,
        )
        return hasher.digest()

    def canonical(self, root: etree._Element) -> bytes:
        """The canonical form of `root`'s whole document (its signature already detached)."""
        return xmldsig.canonical_document(root, self.c14n, list(self.prefixes) if self.prefixes is not None else None)


def content_digest(signature: etree._Element) -> ContentDigest:
    """How the content of `signature` (which passed xmldsig.check_shape) is to be digested; Refused(sig.*)
    for what this verifier does not compute. For a caller that digests the content itself (a streamed check)
    before `verify_signed_info`."""
    _check_structure(signature)
    family = xmldsig.family(signature)
    reference = xmldsig.reference_of(signature)
    c14n, prefixes = xmldsig.reference_c14n(reference)
    if c14n not in _C14N[family]:
        raise _refuse(signature, "with {family} the reference's canonicalization must be exclusive c14n or "
                      "C14N 1.0, not {algorithm}", family=family.upper(), algorithm=repr(c14n))
    prefixes = _prefixes(signature, prefixes)
    digest_method = algorithm_of(reference.find("ds:DigestMethod", NS))
    return ContentDigest(c14n, tuple(prefixes) if prefixes is not None else None, _DIGESTS[digest_method])


def verify(
    raw_root: etree._Element,
    signature: etree._Element,
    candidates: Sequence[x509.Certificate],
    sm2_user_id: bytes = sm2.DEFAULT_USER_ID,
) -> x509.Certificate | None:
    """The certificate (of `candidates`, in order) whose key signed `signature`, a direct child of `raw_root`;
    None when none did; Refused(sig.*) for content changed after signing or a signature outside the profile.

    On success `raw_root` has had its signature removed and is exactly the signed content."""
    how = content_digest(signature)
    cert = signed_info_signer(signature, candidates, sm2_user_id)
    if cert is None:
        return None
    put_back = _detach(signature)
    if not hmac.compare_digest(how.of_document(raw_root), digest_value(signature)):
        put_back()
        raise xmldsig.content_changed()
    return cert


def verify_signed_info(
    signature: etree._Element,
    candidates: Sequence[x509.Certificate],
    digest: bytes,
    sm2_user_id: bytes = sm2.DEFAULT_USER_ID,
) -> x509.Certificate | None:
    """Like `verify` for a caller that computed the content's digest itself (as `content_digest` says, e.g.
    while streaming): the certificate whose key signed SignedInfo, None when none did, Refused(sig.digest)
    when one did and its DigestValue is not `digest`.

    `signature` must still stand where it was parsed, under its root (iterparse keeps it there): SignedInfo's
    canonical form takes the namespaces in scope there, and the xml:* attributes of the Signature and the root
    are looked at (`canonical_signed_info`). The pinned candidates come from xmldsig.candidates, as for
    `verify`."""
    content_digest(signature)  # the profile, whoever digested
    cert = signed_info_signer(signature, candidates, sm2_user_id)
    if cert is not None and not hmac.compare_digest(digest, digest_value(signature)):
        raise xmldsig.content_changed()
    return cert


def signed_info_signer(
    signature: etree._Element, candidates: Sequence[x509.Certificate], sm2_user_id: bytes = sm2.DEFAULT_USER_ID
) -> x509.Certificate | None:
    """The first of `candidates` whose key made the SignatureValue over the canonical SignedInfo, or None."""
    method = xmldsig.method_of(signature) or ""
    canonical = canonical_signed_info(signature)
    value = _base64(signature, "SignatureValue", signature.findtext("ds:SignatureValue", None, NS))
    family = xmldsig.family(signature)
    for cert in candidates:
        if _made_by(cert, family, method, canonical, value, sm2_user_id):
            return cert
    return None


def canonical_signed_info(signature: etree._Element) -> bytes:
    """SignedInfo in the canonical form its CanonicalizationMethod names: what the SignatureValue signs."""
    signed_info = signature.find("ds:SignedInfo", NS)
    method = signed_info.find("ds:CanonicalizationMethod", NS)
    c14n = algorithm_of(method)
    if c14n not in _C14N[xmldsig.family(signature)]:
        raise _refuse(signature, "with SM2 the canonicalization must be exclusive c14n or C14N 1.0, not "
                      "{algorithm}", algorithm=repr(c14n))
    if c14n != EXC_C14N:
        # Inclusive c14n makes SignedInfo inherit the xml:* attributes of its ancestors; lxml does not.
        for ancestor in (signature, *signature.iterancestors()):
            inherited = sorted(name for name in ancestor.attrib if name.startswith(f"{{{XML_NS}}}"))
            if inherited:
                raise _refuse(signature, "the signature's SignedInfo would inherit {attributes} from "
                              "<{element}> under inclusive canonicalization: sign with exclusive c14n",
                              attributes=", ".join("xml:" + name.split("}")[1] for name in inherited),
                              element=etree.QName(ancestor).localname)
    prefixes = _prefixes(signature, xmldsig.inclusive_prefixes(method))
    # Not lxml's c14n of the subtree: under inclusive c14n it writes xmlns="" on the children of a SignedInfo
    # whose default namespace is declared above it (<Signature xmlns="…xmldsig#">, as Java signers write).
    # Serialised alone (lxml declares there every namespace in scope) and parsed again, SignedInfo is a
    # document of its own, canonicalised whole: the same form as the subtree's, by libxml2's plain path.
    alone = etree.fromstring(etree.tostring(signed_info, with_tail=False), _PARSER)
    return xmldsig.canonical_document(alone, c14n, prefixes)


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _prefixes(signature: etree._Element, prefixes: list[str] | None) -> list[str] | None:
    """An exclusive c14n PrefixList lxml computes right: "#default" (the default namespace rendered as
    inclusive c14n would) it silently ignores, so it is refused rather than verified wrong."""
    if prefixes is not None and "#default" in prefixes:
        raise _refuse(signature, "the InclusiveNamespaces PrefixList {prefixes} names #default, which the gateway "
                      "does not accept: list only prefixes", prefixes=repr(" ".join(prefixes)))
    return prefixes


def digest_value(signature: etree._Element) -> bytes:
    reference = xmldsig.reference_of(signature)
    return _base64(signature, "DigestValue", reference.findtext("ds:DigestValue", None, NS))


# --- the pieces ------------------------------------------------------------------------------------------


def _made_by(cert: x509.Certificate, family: str, method: str, data: bytes, value: bytes, user_id: bytes) -> bool:
    if family == "sm2":
        public = sm2.public_key_of(cert)
        return public is not None and sm2.verify(public, data, value, user_id)
    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError):
        return False
    algorithm = _SIGNATURE_HASHES[method]()
    try:
        if family == "rsa" and isinstance(key, rsa.RSAPublicKey):
            key.verify(value, data, padding.PKCS1v15(), algorithm)
            return True
        if family == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            size = (key.curve.key_size + 7) // 8
            if len(value) != 2 * size:  # XML-DSig's r||s, each half the curve's size; never DER
                return False
            r, s = int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big")
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(algorithm))
            return True
    except InvalidSignature:
        return False
    return False


# Children of each element of the signature, in order: (tag, how many at least, at most).
_LAYOUT = {
    "Signature": (("SignedInfo", 1, 1), ("SignatureValue", 1, 1), ("KeyInfo", 0, 1)),
    "SignedInfo": (("CanonicalizationMethod", 1, 1), ("SignatureMethod", 1, 1), ("Reference", 1, 1)),
    "Reference": (("Transforms", 0, 1), ("DigestMethod", 1, 1), ("DigestValue", 1, 1)),
}


def _check_structure(signature: etree._Element) -> None:
    """Nothing in the signature beside what the shape reads: no Object, no second SignedInfo or value."""
    for element in (signature, signature.find("ds:SignedInfo", NS), xmldsig.reference_of(signature)):
        name = etree.QName(element).localname
        if not _laid_out(_LAYOUT[name], [child.tag for child in element if isinstance(child.tag, str)]):
            raise Refused(Finding("sig.invalid", "the signature is malformed: {error}", signature.sourceline,
                                  error=f"unexpected content in ds:{name}"))


def _laid_out(layout: tuple[tuple[str, int, int], ...], tags: list[str]) -> bool:
    at = 0
    for name, least, most in layout:
        count = 0
        while at < len(tags) and tags[at] == ds(name) and count < most:
            at, count = at + 1, count + 1
        if count < least:
            return False
    return at == len(tags)


def _detach(signature: etree._Element) -> Callable[[], None]:
    """Detach the signature as the enveloped transform does; the function returned puts it back as it was."""
    parent, index = signature.getparent(), signature.getparent().index(signature)
    previous = signature.getprevious()
    before = previous.tail if previous is not None else parent.text
    xmldsig.detach(signature)

    def put_back() -> None:
        if previous is not None:
            previous.tail = before
        else:
            parent.text = before
        parent.insert(index, signature)  # keeps its own tail

    return put_back


def _base64(signature: etree._Element, what: str, text: str | None) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise Refused(Finding("sig.invalid", "the signature's {element} is not base64", signature.sourceline,
                              element=what)) from None


def _refuse(signature: etree._Element, template: str, **values: object) -> Refused:
    return Refused(Finding("sig.algorithm", template, signature.sourceline, **values))
