"""RSA and ECDSA through signxml: a cross-check of our own verifier in the tests and the bench;
not used by the service, which does not depend on signxml (our signer is gateway.documents.xmldsig_signer).

signxml verifies the raw bytes as received (re-serialising them would break the digest), parsing them again
itself, and hands back what the signature covers as `signed_data`; the checks then read our own tree, once
its canonical form is proven equal to those bytes (so that findings carry the lines of the file as received).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from cryptography import x509
from lxml import etree
from signxml import SignatureConfiguration, VerifyResult, XMLVerifier
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature, SignXMLException

from gateway.documents import xmldsig
from gateway.domain.findings import Finding, Refused

# The allow-lists are xmldsig's; naming them as signxml's enums also proves signxml knows each one.
_CONFIG = SignatureConfiguration(
    require_x509=True,
    location="./",  # the signature is a child of the root, nowhere else
    expect_references=1,
    signature_methods=frozenset(SignatureMethod(uri) for uri in xmldsig.SIGNATURE_METHODS),
    digest_algorithms=frozenset(DigestAlgorithm(uri) for uri in xmldsig.DIGEST_METHODS),
)


def verify(
    data: bytes,
    raw_root: etree._Element,
    signature: etree._Element,
    certificates: Sequence[x509.Certificate],
    when: datetime,
) -> tuple[etree._Element, x509.Certificate] | None:
    """The signed content and the certificate (of `certificates`, in order) whose key signed `data`; None when
    none did; Refused(sig.*) for changed content or a signature signxml cannot check."""
    config = replace(_CONFIG, verification_time=when)
    for cert in certificates:
        try:
            result = XMLVerifier().verify(data, x509_cert=cert, parser=_parser(), expect_config=config)
        except InvalidDigest:
            raise xmldsig.content_changed() from None
        except InvalidCertificate:  # before InvalidSignature, its base class
            raise xmldsig.certificate_not_valid() from None
        except InvalidSignature:
            continue  # not this certificate's key
        except InvalidInput as error:
            if "does not match specified signature algorithm" in str(error):
                continue  # a pinned key of the other kind (RSA vs ECDSA)
            raise Refused(Finding("sig.invalid", "the signature cannot be checked: {error}", error=error)) from None
        except (SignXMLException, etree.DocumentInvalid, ValueError) as error:
            raise xmldsig.malformed(error) from None
        return _signed_content(raw_root, signature, result), cert
    return None


def _parser() -> etree.XMLParser:
    # The bytes already passed safe_xml; this keeps signxml's own parses just as closed.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _signed_content(raw_root: etree._Element, signature: etree._Element, result: VerifyResult) -> etree._Element:
    """The signed content, preferably as the tree parsed from the file, so that lines are those received.

    signxml's `signed_xml` is re-parsed from the canonical form, whose lines differ from the file's (no XML
    declaration, tags joined). The raw tree, once its signature is set aside, is exactly what was signed when
    its canonical form equals the bytes whose digest matched: then it is used (and consumed) instead.
    """
    c14n, prefixes = xmldsig.reference_c14n(xmldsig.reference_of(signature))
    xmldsig.detach(signature)
    if _canonical(raw_root, c14n, prefixes) == result.signed_data:
        return raw_root
    # Not expected with the transforms allowed; the re-parsed content is as safe, only its lines differ.
    signed = result.signed_xml
    if signed is None or signed.tag != raw_root.tag:
        raise Refused(Finding("sig.references", "the signature does not cover the message's root element"))
    return signed


def _canonical(root: etree._Element, c14n: str, prefixes: list[str] | None) -> bytes:
    return xmldsig.canonical(root, c14n, prefixes)  # a seam: a test makes it disagree to reach the fallback
