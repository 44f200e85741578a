"""XML-DSig over a whole message: sign with a city's key, verify against that city's pinned certificates.

One shape only (gateway.documents.xmldsig checks it, whatever verifier runs): an enveloped ds:Signature as a
direct child of the root, exactly one Reference URI="" (the whole document), the enveloped transform then at
most one canonicalization, an algorithm of the allow-list, the signer's certificate in KeyInfo. Only
certificates pinned for the sender are trusted (the one inside the message only helps pick one during a key
rollover), and only what the signature covers is handed back: data outside it (an injected second Body,
comments) never reaches a check.

Who signs: our own signer (gateway.documents.xmldsig_signer), for every family.
Who verifies: our own verifier (gateway.documents.xmldsig_strict: lxml's c14n of the tree already parsed,
pyca/cryptography for RSA and ECDSA, GmSSL for SM2), for every family; it is the one path at run time.
libxmlsec1 (gateway.documents.xmldsig_xmlsec, the `xmlsec` binding) and signxml
(gateway.documents.xmldsig_signxml) verify the same RSA/ECDSA messages in the
tests, as cross-checks that must agree with ours, and in the benchmark; the environment variable
LTCGW_XMLDSIG_VERIFIER=xmlsec|signxml makes one of them verify RSA/ECDSA in a process (for comparing, not for
service). A city may be limited to some algorithm families ("rsa", "ecdsa", "sm2":
gateway.documents.keys.ALGORITHMS); a message in another one is refused.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from cryptography import x509
from lxml import etree

from gateway.documents import safe_xml, xmldsig, xmldsig_signer, xmldsig_strict
from gateway.documents.keys import Algorithm, SigningKey
from gateway.documents.sm2 import DEFAULT_USER_ID

DS = xmldsig.DS
VERIFIERS = ("strict", "xmlsec", "signxml")  # for RSA and ECDSA: ours, then the cross-checks
ENVIRONMENT = "LTCGW_XMLDSIG_VERIFIER"

_log = logging.getLogger("ltcgw.documents.signature")

# (bytes, their parsed root, its signature, the pinned certificates to try in order, the time checked)
#   -> (the signed content, the certificate that matched), or None when none did; Refused(sig.*) otherwise.
Verifier = Callable[
    [bytes, etree._Element, etree._Element, Sequence[x509.Certificate], datetime],
    Optional[tuple[etree._Element, x509.Certificate]],
]


def _strict(data, raw_root, signature, candidates, when):
    cert = xmldsig_strict.verify(raw_root, signature, candidates)
    return (raw_root, cert) if cert is not None else None


def _xmlsec(data, raw_root, signature, candidates, when):
    from gateway.documents import xmldsig_xmlsec  # only where asked for: not a dependency of the service

    return xmldsig_xmlsec.verify(data, raw_root, signature, candidates, when)


def _signxml(data, raw_root, signature, candidates, when):
    from gateway.documents import xmldsig_signxml  # likewise

    return xmldsig_signxml.verify(data, raw_root, signature, candidates, when)


_VERIFY: dict[str, Verifier] = {"strict": _strict, "xmlsec": _xmlsec, "signxml": _signxml}

@dataclass(frozen=True, slots=True)
class Verified:
    """What verification establishes: the signed content (only that) and the pinned certificate that matched."""

    root: etree._Element
    certificate: x509.Certificate


@functools.cache
def rsa_ecdsa_verifier() -> str:
    """Who verifies RSA and ECDSA in this process: ours ("strict"), unless LTCGW_XMLDSIG_VERIFIER names a
    cross-check ("xmlsec", "signxml") to compare with; chosen (and logged when not ours) once."""
    wanted = os.environ.get(ENVIRONMENT, "").strip().lower() or "strict"
    if wanted not in VERIFIERS:
        _log.warning("%s=%r is not one of %s: using our own verifier", ENVIRONMENT, wanted, ", ".join(VERIFIERS))
        return "strict"
    if wanted == "xmlsec":
        from gateway.documents import xmldsig_xmlsec

        if not xmldsig_xmlsec.available():
            _log.warning("XML-DSig: libxmlsec1 not usable (%s); RSA and ECDSA signatures are verified by our own "
                         "verifier", xmldsig_xmlsec.UNAVAILABLE)
            return "strict"
    if wanted == "signxml":
        try:
            from gateway.documents import xmldsig_signxml  # noqa: F401
        except ImportError as error:
            _log.warning("XML-DSig: signxml not usable (%s); RSA and ECDSA signatures are verified by our own "
                         "verifier", error)
            return "strict"
    if wanted != "strict":
        _log.info("XML-DSig: RSA and ECDSA signatures are verified with %s (%s), for comparison", wanted,
                     ENVIRONMENT)
    return wanted

def sign(root: etree._Element, key: SigningKey, cert: x509.Certificate) -> bytes:
    """The message `root` with an enveloped signature by `key`, as UTF-8 bytes ready to deliver."""
    return xmldsig_signer.sign(root, key, cert)


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
    verifier: str | None = None,
) -> Verified:
    """Like `verify`, also naming the certificate that matched.

    `tree` is `data` already parsed by safe_xml (the caller's, to save a parse). It is consumed: its root
    (without the signature) is returned once proven to be exactly the signed content, so that every later
    finding points at the line of the file as received. `algorithms` are the families the sender may sign
    with (None: any); `sm2_user_id` is the sender's SM2 signer id; `verifier` names who verifies RSA and
    ECDSA (default: `rsa_ecdsa_verifier()`).
    """
    if tree is None:
        tree = safe_xml.parse(data, max_bytes=max(len(data), safe_xml.DEFAULT_MAX))
    raw_root = tree.getroot()
    signature = xmldsig.check_shape(raw_root)
    family = xmldsig.check_family(signature, algorithms)
    when = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    candidates = xmldsig.candidates(signature, certificates, family, when)
    if family == "sm2":
        cert = xmldsig_strict.verify(raw_root, signature, candidates, sm2_user_id)
        matched = (raw_root, cert) if cert is not None else None
    else:
        matched = _VERIFY[verifier or rsa_ecdsa_verifier()](data, raw_root, signature, candidates, when)
    if matched is None:
        raise xmldsig.no_pinned_key(signature, certificates)
    return Verified(*matched)
