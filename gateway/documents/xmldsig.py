"""Our one XML-DSig shape and what every verifier shares: ours (xmldsig_strict) and the cross-checks alike.

The shape leaves nothing to misread: an enveloped ds:Signature as a direct child of the root, exactly one
Reference with URI="" (the whole document), its enveloped-signature transform then at most one
canonicalization (without comments), an algorithm from a short allow-list per family, the signer's
certificate in KeyInfo. This module checks that shape before any verifier sees the file, chooses the pinned
certificates to try (valid at the time checked, of the signature's family, the embedded one first during a
key rollover; the embedded one is never trusted by itself), and names the findings (sig.*) the same way
whichever verifier ran. It imports no verifier: they import it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from cryptography import x509
from lxml import etree

from gateway.documents.keys import Algorithm, certificate_algorithm, certificate_fingerprint
from gateway.domain.findings import Finding, Phrase, Refused, phrase

DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"ds": DS}

ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
# Without comments only: comments are not content, and "WithComments" would let them change the digest.
C14N_METHODS = frozenset({EXC_C14N, C14N_10, C14N_11})

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
# RSA and ECDSA: what we sign with (SHA-256) and, for interoperability, the stronger SHA-2 variants.
SIGNATURE_METHODS = frozenset(
    {
        RSA_SHA256,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        ECDSA_SHA256,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    }
)
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
DIGEST_METHODS = frozenset(
    {SHA256, "http://www.w3.org/2001/04/xmldsig-more#sha384", "http://www.w3.org/2001/04/xmlenc#sha512"}
)

# SM2-SM3 (国密), as China E-Port signs XML (gateway.documents.xmldsig_sm2 says why these spellings).
SM2_SM3 = "http://www.w3.org/2000/09/xmldsig#sm2-sm3"
SM3 = "http://www.w3.org/2000/09/xmldsig#sm3"
SM2_SIGNATURE_METHODS = frozenset({SM2_SM3, "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"})
SM2_DIGEST_METHODS = frozenset(
    {SM3, "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3", "http://www.w3.org/2007/05/xmldsig-more#sm3"}
)


def ds(name: str) -> str:
    """The Clark name of ds:`name`."""
    return f"{{{DS}}}{name}"


# --- the shape ---------------------------------------------------------------------------------------------


def check_shape(root: etree._Element) -> etree._Element:
    """The one signature, directly under the root, in the only shape we accept; else Refused(sig.*)."""
    signatures = list(root.iter(ds("Signature")))  # anywhere: a nested one is refused too
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
    references = signature.findall("ds:SignedInfo/ds:Reference", NS)
    if len(references) != 1:
        count = len(references)
        raise Refused(Finding("sig.references", 'the signature has {count} references; exactly one (URI="") is allowed',
                              line, count=count))
    reference = references[0]
    if reference.get("URI") != "":
        raise refuse("sig.references", 'the signature must cover the whole document (Reference URI="")')
    sm2_signed = method_of(signature) in SM2_SIGNATURE_METHODS
    _allowed(signature.find("ds:SignedInfo/ds:CanonicalizationMethod", NS), C14N_METHODS, phrase("canonicalization"),
             line)
    _allowed(
        signature.find("ds:SignedInfo/ds:SignatureMethod", NS),
        SM2_SIGNATURE_METHODS | SIGNATURE_METHODS,
        phrase("signature method"),
        line,
    )
    # SM2 goes with SM3 digests, RSA and ECDSA with SHA-2: no mixing.
    _allowed(reference.find("ds:DigestMethod", NS), SM2_DIGEST_METHODS if sm2_signed else DIGEST_METHODS,
             phrase("digest method"), line)
    if transforms_of(reference) not in ([ENVELOPED], *([ENVELOPED, c14n] for c14n in C14N_METHODS)):
        raise refuse(
            "sig.algorithm",
            "the reference's transforms must be the enveloped-signature transform, then at most one "
            "canonicalization",
        )
    return signature


def _allowed(node: etree._Element | None, allowed: Collection[str], what: Phrase, line: int | None) -> None:
    algorithm = algorithm_of(node)
    if algorithm not in allowed:
        raise Refused(Finding("sig.algorithm", "the {what} {algorithm} is not accepted by the gateway", line,
                              what=what, algorithm=repr(algorithm)))


def algorithm_of(node: etree._Element | None) -> str | None:
    return node.get("Algorithm") if node is not None else None


def method_of(signature: etree._Element) -> str | None:
    """The SignatureMethod's algorithm URI."""
    return algorithm_of(signature.find("ds:SignedInfo/ds:SignatureMethod", NS))


def reference_of(signature: etree._Element) -> etree._Element:
    """The one Reference of a signature that passed `check_shape`."""
    return signature.find("ds:SignedInfo/ds:Reference", NS)


def transforms_of(reference: etree._Element) -> list[str | None]:
    return [node.get("Algorithm") for node in reference.findall("ds:Transforms/ds:Transform", NS)]


def family(signature: etree._Element) -> Algorithm:
    """The family of an accepted signature's SignatureMethod: "rsa", "ecdsa" or "sm2"."""
    method = method_of(signature) or ""
    if method in SM2_SIGNATURE_METHODS:
        return "sm2"
    return "ecdsa" if "ecdsa" in method else "rsa"


def check_family(signature: etree._Element, algorithms: Collection[Algorithm] | None) -> Algorithm:
    """The signature's family, or Refused(sig.algorithm) when the sender is not registered for it."""
    kind = family(signature)
    if algorithms is not None and kind not in algorithms:
        raise Refused(
            Finding(
                "sig.algorithm",
                "the file is signed with {family}, and the sender is registered for {registered}: "
                "sign with the algorithm agreed with the gateway operator",
                signature.sourceline,
                family=kind, registered=", ".join(algorithms) or "-",
            )
        )
    return kind


# --- certificates ------------------------------------------------------------------------------------------


def candidates(
    signature: etree._Element, pinned: Sequence[x509.Certificate], kind: Algorithm, when: datetime
) -> list[x509.Certificate]:
    """The pinned certificates to try, in order: valid at `when`, of the signature's family, the one the
    message embeds first (it only says which to try during a rollover). Refused(sig.untrusted) when nothing is
    pinned, Refused(sig.expired) when nothing pinned is valid at `when`. May be empty (none of that family)."""
    if not pinned:
        raise Refused(Finding("sig.untrusted", "no certificate is pinned for the sender: ask the gateway operator"))
    valid = [cert for cert in pinned if cert.not_valid_before_utc <= when <= cert.not_valid_after_utc]
    if not valid:
        raise Refused(
            Finding(
                "sig.expired",
                "no certificate pinned for the sender is valid at {when} UTC: "
                "the sender must renew its certificate and have it pinned",
                when=f"{when:%Y-%m-%d %H:%M}",
            )
        )
    embedded = embedded_certificate(signature)
    if embedded is not None:
        valid.sort(key=lambda cert: cert != embedded)
    return [cert for cert in valid if certificate_algorithm(cert) == kind]


def embedded_certificate(signature: etree._Element) -> x509.Certificate | None:
    node = signature.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    if node is None or not node.text:
        return None
    try:
        pem = "-----BEGIN CERTIFICATE-----\n" + "".join(node.text.split()) + "\n-----END CERTIFICATE-----\n"
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        return None


# --- findings ----------------------------------------------------------------------------------------------


def content_changed() -> Refused:
    return Refused(
        Finding(
            "sig.digest",
            "the content was changed after it was signed: whoever changes a figure must sign the file again",
        )
    )


def certificate_not_valid() -> Refused:
    return Refused(Finding("sig.expired", "the pinned certificate is not valid at the time checked"))


def malformed(error: object) -> Refused:
    return Refused(Finding("sig.invalid", "the signature is malformed: {error}", error=error))


def no_pinned_key(signature: etree._Element, pinned: Sequence[x509.Certificate]) -> Refused:
    """Why no pinned certificate verified: the file names an unpinned one (sig.untrusted), or sig.invalid."""
    embedded = embedded_certificate(signature)
    if embedded is not None and all(cert != embedded for cert in pinned):
        return Refused(
            Finding(
                "sig.untrusted",
                "the file is signed with a certificate (SHA-256 {fingerprint}…) that is not pinned for the sender: "
                "sign with your registered key, or have the new certificate pinned",
                fingerprint=certificate_fingerprint(embedded)[:16],
            )
        )
    return Refused(Finding("sig.invalid", "the signature does not match any certificate pinned for the sender"))


# --- the signed content ------------------------------------------------------------------------------------


def reference_c14n(reference: etree._Element) -> tuple[str, list[str] | None]:
    """The reference's canonicalization and its InclusiveNamespaces prefixes. With the enveloped transform
    alone XML-DSig turns the node-set into octets with C14N 1.0."""
    transforms = reference.findall("ds:Transforms/ds:Transform", NS)
    if len(transforms) < 2:
        return C14N_10, None
    return transforms[1].get("Algorithm") or C14N_10, inclusive_prefixes(transforms[1])


def inclusive_prefixes(node: etree._Element | None) -> list[str] | None:
    """The InclusiveNamespaces PrefixList of an exclusive c14n transform or method, if any."""
    listed = node.find("ec:InclusiveNamespaces", {"ec": EXC_C14N}) if node is not None else None
    return listed.get("PrefixList", "").split() if listed is not None else None


def canonical(node: etree._Element, c14n: str, prefixes: list[str] | None = None) -> bytes:
    """`node` in canonical form, without comments. C14N 1.1 is rendered like 1.0 (lxml has no 1.1; for a whole
    document, or a SignedInfo, they differ only on xml:* attributes inherited from outside, which we do not
    have)."""
    exclusive = c14n == EXC_C14N
    return etree.tostring(
        node, method="c14n", exclusive=exclusive, with_comments=False,
        inclusive_ns_prefixes=prefixes if exclusive else None,
    )


def canonical_document(root: etree._Element, c14n: str, prefixes: list[str] | None = None) -> bytes:
    """The whole document of `root` in canonical form, without comments: what `URI=""` covers once the
    signature is detached (processing instructions beside the root included, as XML-DSig says). The document,
    not the root element: that is libxml2's one-pass path, and lxml's c14n of a root element with siblings
    (a processing instruction, a comment) is wrong under inclusive c14n (it writes xmlns="" on prefixed
    descendants)."""
    exclusive = c14n == EXC_C14N
    return etree.tostring(
        root.getroottree(), method="c14n", exclusive=exclusive, with_comments=False,
        inclusive_ns_prefixes=prefixes if exclusive else None,
    )


def detach(signature: etree._Element) -> None:
    """Remove the signature as the enveloped-signature transform does: the text after it stays."""
    parent, tail = signature.getparent(), signature.tail
    previous = signature.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(signature)
