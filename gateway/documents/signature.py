"""XML-DSig over a whole message: sign with a city's key, verify against that city's pinned certificates.

One shape only, so that there is nothing to misread: an enveloped ds:Signature as the last child of the root,
exactly one Reference with URI="" (the whole document), exclusive c14n, SHA-256 digests, RSA-SHA256 or
ECDSA-P256-SHA256, the signer's certificate in KeyInfo. Verification demands that shape (other
algorithms from a short allow-list are accepted for interoperability), trusts only certificates pinned for the
sender (the certificate inside the message only helps pick one during a key rollover) and hands back only
what the signature covers, as signxml's `signed_xml`: data outside it (an injected second Body, comments)
never reaches a check. The raw bytes are verified as received: re-serialising them would break the digest.

SM2-SM3 (国密) signatures have the same shape; signxml has no SM2, so gateway.documents.xmldsig_sm2 signs and
verifies those, dispatched here by key type and SignatureMethod. A city may be limited to some algorithm
families ("rsa", "ecdsa", "sm2": gateway.documents.keys.ALGORITHMS); a message in another one is refused.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import SignatureConfiguration, VerifyResult, XMLSigner, XMLVerifier
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureConstructionMethod, SignatureMethod
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature, SignXMLException

from gateway.documents import safe_xml
from gateway.documents.keys import Algorithm, SigningKey, certificate_algorithm, certificate_fingerprint
from gateway.documents.sm2 import DEFAULT_USER_ID, Sm2PrivateKey
from gateway.domain.findings import Finding, Phrase, Refused, phrase

DS = "http://www.w3.org/2000/09/xmldsig#"
_NS = {"ds": DS}

SIGNATURE_METHODS = frozenset(
    {
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
    }
)
DIGEST_METHODS = frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512})
# Without comments only: comments are not content, and "WithComments" would let them change the digest.
C14N_METHODS = frozenset(
    {
        CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        CanonicalizationMethod.CANONICAL_XML_1_0,
        CanonicalizationMethod.CANONICAL_XML_1_1,
    }
)
_ENVELOPED = SignatureConstructionMethod.enveloped.value
_C14N_URIS = {method.value for method in C14N_METHODS}
_EXC_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value

_CONFIG = SignatureConfiguration(
    require_x509=True,
    location="./",  # the signature is a child of the root, nowhere else
    expect_references=1,
    signature_methods=SIGNATURE_METHODS,
    digest_algorithms=DIGEST_METHODS,
)


@dataclass(frozen=True, slots=True)
class Verified:
    """What verification establishes: the signed content (only that) and the pinned certificate that matched."""

    root: etree._Element
    certificate: x509.Certificate


def sign(root: etree._Element, key: SigningKey, cert: x509.Certificate) -> bytes:
    """The message `root` with an enveloped signature by `key`, as UTF-8 bytes ready to deliver."""
    if isinstance(key, Sm2PrivateKey):
        from gateway.documents import xmldsig_sm2

        return xmldsig_sm2.sign(root, key, cert)
    if isinstance(key, rsa.RSAPrivateKey):
        method = SignatureMethod.RSA_SHA256
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        method = SignatureMethod.ECDSA_SHA256
    else:
        raise TypeError(f"cannot sign with a {type(key).__name__}: use an RSA, ECDSA or SM2 key")
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=method,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(root, key=key, cert=[cert])
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def verify(
    data: bytes, certificates: Sequence[x509.Certificate], *, at: datetime | None = None
) -> etree._Element:
    """The signed content of `data` (the whole message root, without its signature), or Refused(sig.*).

    `certificates` are the ones pinned for the message's sender; each valid at `at` (default: now) is tried.
    """
    return verify_message(data, certificates, at=at).root


def verify_message(
    data: bytes,
    certificates: Sequence[x509.Certificate],
    *,
    at: datetime | None = None,
    tree: etree._ElementTree | None = None,
    algorithms: Collection[Algorithm] | None = None,
    sm2_user_id: bytes = DEFAULT_USER_ID,
) -> Verified:
    """Like `verify`, also naming the certificate that matched.

    `tree` is `data` already parsed by safe_xml (the caller's, to save a parse). It is consumed: when its
    content is proven to be exactly the signed content, its root (without the signature) is returned, so
    that every later finding points at the line of the file as received. `algorithms` are the families the
    sender may sign with (None: any); `sm2_user_id` is the sender's SM2 signer id.
    """
    if tree is None:
        tree = safe_xml.parse(data, max_bytes=max(len(data), safe_xml.DEFAULT_MAX))
    raw_root = tree.getroot()
    signature = _check_shape(raw_root)
    family = signature_algorithm(signature)
    if algorithms is not None and family not in algorithms:
        raise Refused(
            Finding(
                "sig.algorithm",
                "the file is signed with {family}, and the sender is registered for {registered}: "
                "sign with the algorithm agreed with the gateway operator",
                signature.sourceline,
                family=family, registered=", ".join(algorithms) or "-",
            )
        )
    when = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    if not certificates:
        raise Refused(Finding("sig.untrusted", "no certificate is pinned for the sender: ask the gateway operator"))
    valid = [cert for cert in certificates if cert.not_valid_before_utc <= when <= cert.not_valid_after_utc]
    if not valid:
        raise Refused(
            Finding(
                "sig.expired",
                "no certificate pinned for the sender is valid at {when} UTC: "
                "the sender must renew its certificate and have it pinned",
                when=f"{when:%Y-%m-%d %H:%M}",
            )
        )
    embedded = _embedded_certificate(signature)
    if embedded is not None:
        # During a rollover the message's own certificate says which pinned one to try first.
        valid.sort(key=lambda cert: cert != embedded)
    # Only certificates of the signature's family are tried: signxml cannot even load an SM2 key.
    valid = [cert for cert in valid if certificate_algorithm(cert) == family]
    if family == "sm2":
        from gateway.documents import xmldsig_sm2

        matched = xmldsig_sm2.verify(raw_root, signature, valid, sm2_user_id)
        if matched is not None:
            return Verified(raw_root, matched)
        valid = []  # none matched: say why below
    config = replace(_CONFIG, verification_time=when)
    for cert in valid:
        try:
            result = XMLVerifier().verify(data, x509_cert=cert, parser=_verifier_parser(), expect_config=config)
        except InvalidDigest:
            raise Refused(
                Finding(
                    "sig.digest",
                    "the content was changed after it was signed: whoever changes a figure must sign the file again",
                )
            ) from None
        except InvalidCertificate:  # before InvalidSignature, its base class
            raise Refused(Finding("sig.expired", "the pinned certificate is not valid at the time checked")) from None
        except InvalidSignature:
            continue  # not this certificate's key
        except InvalidInput as error:
            if "does not match specified signature algorithm" in str(error):
                continue  # a pinned key of the other kind (RSA vs ECDSA)
            raise Refused(Finding("sig.invalid", "the signature cannot be checked: {error}", error=error)) from None
        except (SignXMLException, etree.DocumentInvalid, ValueError) as error:
            raise Refused(Finding("sig.invalid", "the signature is malformed: {error}", error=error)) from None
        return Verified(_signed_content(raw_root, signature, result), cert)
    if embedded is not None and all(cert != embedded for cert in certificates):
        raise Refused(
            Finding(
                "sig.untrusted",
                "the file is signed with a certificate (SHA-256 {fingerprint}…) that is not pinned for the sender: "
                "sign with your registered key, or have the new certificate pinned",
                fingerprint=certificate_fingerprint(embedded)[:16],
            )
        )
    raise Refused(Finding("sig.invalid", "the signature does not match any certificate pinned for the sender"))


def _verifier_parser() -> etree.XMLParser:
    # The bytes already passed safe_xml; this keeps signxml's own parses just as closed.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _check_shape(root: etree._Element) -> etree._Element:
    """The one signature, directly under the root, in the only shape we accept; else Refused(sig.*)."""
    signatures = root.findall(".//ds:Signature", _NS)
    if not signatures:
        raise Refused(
            Finding("sig.missing", "the file is not signed: sign it with `ltcgw pack` or your system's signer")
        )
    if len(signatures) > 1:
        raise Refused(
            Finding(
                "sig.references", "the file has more than one signature; exactly one is allowed", signatures[1].sourceline
            )
        )
    signature = signatures[0]
    line = signature.sourceline

    def refuse(code: str, message: str) -> Refused:
        return Refused(Finding(code, message, line))

    if signature.getparent() is not root:
        raise refuse("sig.references", "the signature must be a direct child of the message's root element")
    references = signature.findall("ds:SignedInfo/ds:Reference", _NS)
    if len(references) != 1:
        count = len(references)
        raise Refused(Finding("sig.references", 'the signature has {count} references; exactly one (URI="") is allowed',
                              line, count=count))
    reference = references[0]
    if reference.get("URI") != "":
        raise refuse("sig.references", 'the signature must cover the whole document (Reference URI="")')
    from gateway.documents import xmldsig_sm2

    sm2_signed = _algorithm_of(signature) in xmldsig_sm2.SIGNATURE_METHODS
    _allowed(signature.find("ds:SignedInfo/ds:CanonicalizationMethod", _NS), _C14N_URIS, phrase("canonicalization"),
             line)
    methods = xmldsig_sm2.SIGNATURE_METHODS | {method.value for method in SIGNATURE_METHODS}
    _allowed(signature.find("ds:SignedInfo/ds:SignatureMethod", _NS), methods, phrase("signature method"), line)
    # SM2 goes with SM3 digests, RSA and ECDSA with SHA-2: no mixing (signxml could not compute SM3 anyway).
    digests = xmldsig_sm2.DIGEST_METHODS if sm2_signed else {method.value for method in DIGEST_METHODS}
    _allowed(reference.find("ds:DigestMethod", _NS), digests, phrase("digest method"), line)
    transforms = [node.get("Algorithm") for node in reference.findall("ds:Transforms/ds:Transform", _NS)]
    if transforms not in ([_ENVELOPED], *([_ENVELOPED, c14n] for c14n in _C14N_URIS)):
        raise refuse(
            "sig.algorithm",
            "the reference's transforms must be the enveloped-signature transform, then at most one "
            "canonicalization",
        )
    return signature


def _allowed(node: etree._Element | None, allowed: Collection[str], what: Phrase, line: int | None) -> None:
    algorithm = node.get("Algorithm") if node is not None else None
    if algorithm not in allowed:
        raise Refused(Finding("sig.algorithm", "the {what} {algorithm} is not accepted by the gateway", line,
                              what=what, algorithm=repr(algorithm)))


def _algorithm_of(signature: etree._Element) -> str | None:
    node = signature.find("ds:SignedInfo/ds:SignatureMethod", _NS)
    return node.get("Algorithm") if node is not None else None


def signature_algorithm(signature: etree._Element) -> Algorithm:
    """The family of an accepted signature's SignatureMethod: "rsa", "ecdsa" or "sm2"."""
    from gateway.documents import xmldsig_sm2

    method = _algorithm_of(signature) or ""
    if method in xmldsig_sm2.SIGNATURE_METHODS:
        return "sm2"
    return "ecdsa" if "ecdsa" in method else "rsa"


def _embedded_certificate(signature: etree._Element) -> x509.Certificate | None:
    node = signature.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS)
    if node is None or not node.text:
        return None
    try:
        pem = "-----BEGIN CERTIFICATE-----\n" + "".join(node.text.split()) + "\n-----END CERTIFICATE-----\n"
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        return None


def _signed_content(raw_root: etree._Element, signature: etree._Element, result: VerifyResult) -> etree._Element:
    """The signed content, preferably as the tree parsed from the file, so that lines are those received.

    signxml's `signed_xml` is re-parsed from the canonical form, whose lines differ from the file's (no XML
    declaration, tags joined). The raw tree, once its signature is set aside, is exactly what was signed when
    its canonical form equals the bytes whose digest matched: then it is used (and consumed) instead.
    """
    reference = signature.find("ds:SignedInfo/ds:Reference", _NS)
    c14n = CanonicalizationMethod.CANONICAL_XML_1_1  # signxml's default when the reference names none
    prefixes = None
    for transform in reference.findall("ds:Transforms/ds:Transform", _NS):
        if transform.get("Algorithm") in _C14N_URIS:
            c14n = CanonicalizationMethod(transform.get("Algorithm"))
            listed = transform.find("ec:InclusiveNamespaces", {"ec": _EXC_C14N})
            prefixes = listed.get("PrefixList", "").split() if listed is not None else None
    _detach(signature)
    if _canonical(raw_root, c14n, prefixes) == result.signed_data:
        return raw_root
    # Not expected with the transforms allowed; the re-parsed content is as safe, only its lines differ.
    signed = result.signed_xml
    if signed is None or signed.tag != raw_root.tag:
        raise Refused(Finding("sig.references", "the signature does not cover the message's root element"))
    return signed


def _canonical(root: etree._Element, c14n: CanonicalizationMethod, prefixes: list[str] | None) -> bytes:
    """The canonical form as signxml computes it (lxml's c14n; 1.1 is rendered like 1.0 for a whole document)."""
    exclusive = c14n is CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
    return etree.tostring(root, method="c14n", exclusive=exclusive, with_comments=False, inclusive_ns_prefixes=prefixes)


def _detach(signature: etree._Element) -> None:
    """Remove the signature as the enveloped-signature transform does: the text after it stays."""
    parent, tail = signature.getparent(), signature.tail
    previous = signature.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(signature)
