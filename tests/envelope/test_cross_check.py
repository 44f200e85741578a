"""Our verifier against libxmlsec1 and signxml, on the same bytes: messages signed by our signer, by signxml
and by libxmlsec1 in every variant of the profile verify under all three; every single-byte change of the
content fails under all three (or, where it does not change the canonical form, passes under all three);
and where our profile is stricter than XML-DSig, ours refuses on purpose (each case named here)."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as stdlib_etree

import pytest
import xmlsec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

from gateway.documents import safe_xml, xmldsig, xmldsig_strict
from gateway.documents.envelope import ENVELOPE_NS
from gateway.documents.signature import VERIFIERS, verify_message
from gateway.domain.findings import Refused

from tests.envelope.helpers import CLAIM_BODY, packed_sample, signed_claim

T = xmlsec.Transform


@pytest.fixture
def verifier() -> None:
    """Every test here runs all three verifiers itself (overrides the conftest's parametrized one)."""


def outcomes(data: bytes, party) -> dict[str, str]:
    """Each verifier's verdict on `data`: "ok" or the finding's code."""
    verdicts = {}
    for name in VERIFIERS:
        try:
            verify_message(data, [party.cert], verifier=name)
            verdicts[name] = "ok"
        except Refused as refused:
            verdicts[name] = refused.findings[0].code
    return verdicts


def agree(data: bytes, party) -> str:
    verdicts = outcomes(data, party)
    assert len(set(verdicts.values())) == 1, verdicts
    return verdicts["strict"]


def _message() -> etree._Element:
    return etree.fromstring(
        f'<Message xmlns="{ENVELOPE_NS}" xmlns:unused="urn:unused">\n  <Header><Sender>370300</Sender></Header>\n'
        f"  <Body>{CLAIM_BODY.decode()}</Body>\n</Message>".encode()
    )


def xmlsec_signed(party, *, c14n=T.EXCL_C14N, content_c14n=T.EXCL_C14N, method=None, digest=T.SHA256,
                  prefixes=None, ns="ds", root=None, root_attributes=None) -> bytes:
    """A message signed by libxmlsec1 from a template: the profile's variants another city's system may use."""
    root = _message() if root is None else root
    for name, value in (root_attributes or {}).items():
        root.set(name, value)
    method = method or (T.RSA_SHA256 if party.code == "370300" else T.ECDSA_SHA256)
    signature = xmlsec.template.create(root, c14n, method, ns=ns)
    root.append(signature)
    reference = xmlsec.template.add_reference(signature, digest, uri="")
    xmlsec.template.add_transform(reference, T.ENVELOPED)
    if content_c14n is not None:
        transform = xmlsec.template.add_transform(reference, content_c14n)
        if prefixes is not None:
            xmlsec.template.transform_add_c14n_inclusive_namespaces(transform, prefixes)
    if prefixes is not None and c14n == T.EXCL_C14N:
        xmlsec.template.transform_add_c14n_inclusive_namespaces(signature[0][0], prefixes)
    xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
    key = xmlsec.Key.from_file(str(party.key_path), xmlsec.constants.KeyDataFormatPem)
    key.load_cert_from_file(str(party.cert_path), xmlsec.constants.KeyDataFormatPem)
    context = xmlsec.SignatureContext()
    context.key = key
    context.sign(signature)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def signxml_signed(party, *, c14n=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0, digest="sha256",
                   prefixes=None) -> bytes:
    rsa = party.code == "370300"
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA512 if rsa else SignatureMethod.ECDSA_SHA384,
        digest_algorithm=DigestAlgorithm[digest.upper()],
        c14n_algorithm=c14n,
    )
    options = {"inclusive_ns_prefixes": prefixes} if prefixes else {}
    signed = signer.sign(_message(), key=party.key, cert=[party.cert], **options)
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


# --- what every one of them verifies ---------------------------------------------------------------------


VARIANTS = {
    "ours": lambda party: signed_claim(party),
    "ours-sample": lambda party: packed_sample(party, persons=3,
                                               receiver="370300" if party.code == "370100" else "370100"),
    "signxml-exc": lambda party: signxml_signed(party),
    "signxml-c14n10": lambda party: signxml_signed(party, c14n=CanonicalizationMethod.CANONICAL_XML_1_0,
                                                   digest="sha384"),
    "signxml-c14n11": lambda party: signxml_signed(party, c14n=CanonicalizationMethod.CANONICAL_XML_1_1,
                                                   digest="sha512"),
    "xmlsec-exc": lambda party: xmlsec_signed(party),
    "xmlsec-exc-prefix-list": lambda party: xmlsec_signed(party, prefixes=["unused", "ds"]),
    "xmlsec-c14n10": lambda party: xmlsec_signed(party, c14n=T.C14N, content_c14n=T.C14N),
    "xmlsec-c14n11": lambda party: xmlsec_signed(party, c14n=T.C14N11, content_c14n=T.C14N11, digest=T.SHA512),
    "xmlsec-enveloped-only": lambda party: xmlsec_signed(party, c14n=T.C14N, content_c14n=None),
    "xmlsec-sha512-method": lambda party: xmlsec_signed(
        party, method=T.RSA_SHA512 if party.code == "370300" else T.ECDSA_SHA512, digest=T.SHA384),
    "xmlsec-default-ds-namespace": lambda party: xmlsec_signed(party, ns=None, c14n=T.C14N, content_c14n=T.C14N),
    "xmlsec-default-ds-namespace-exc": lambda party: xmlsec_signed(party, ns=None),
    "xmlsec-xml-lang-exc": lambda party: xmlsec_signed(
        party, root_attributes={"{http://www.w3.org/XML/1998/namespace}lang": "zh"}),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("who", ["zibo", "jinan"])  # RSA, ECDSA
def test_every_variant_of_the_profile_verifies_under_all_three(parties, who, variant):
    party = parties[who]
    data = VARIANTS[variant](party)
    expected = {name: "ok" for name in VERIFIERS}
    if variant in SIGNXML_GAPS:
        expected["signxml"] = "sig.invalid"
    assert outcomes(data, party) == expected


# signxml canonicalises SignedInfo with lxml's subtree c14n, which writes xmlns="" on the children of a
# SignedInfo whose default namespace is declared above it (xmldsig_strict.canonical_signed_info says more):
# libxmlsec1 and ours verify such a signature, signxml refuses it; so it does an exclusive SignedInfo with an
# InclusiveNamespaces PrefixList. (signxml's own signer, given inclusive_ns_prefixes, makes signatures that
# libxmlsec1 and ours both refuse: not used.)
SIGNXML_GAPS = {"xmlsec-default-ds-namespace", "xmlsec-exc-prefix-list"}


def test_a_prefix_list_naming_default_is_refused_by_ours(parties):
    """lxml ignores "#default" in an exclusive c14n PrefixList: ours refuses it rather than verify it wrong."""
    party = parties["zibo"]
    data = xmlsec_signed(party, prefixes=["unused", "#default"])
    verify_message(data, [party.cert], verifier="xmlsec")
    assert strict_code(data, party) == "sig.algorithm"


@pytest.mark.parametrize("who", ["zibo", "jinan"])
def test_every_single_byte_change_of_the_content_fails_under_all_three(parties, who):
    party = parties[who]
    data = signed_claim(party)
    signature = re.search(rb"<ds:Signature.*</ds:Signature>", data, re.S)
    original = _independent_canonical(data)
    accepted = 0
    for at in [*range(signature.start()), *range(signature.end(), len(data))]:
        tampered = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]
        verdict = agree(tampered, party)
        if verdict == "ok":  # only a change the canonical form does not see: Python's own C14N 2.0 agrees
            accepted += 1
            assert _independent_canonical(tampered) == original, tampered[max(0, at - 20):at + 20]
    assert accepted < 5  # a few (e.g. "1.0" -> "1.1" in the XML declaration, ' for " ...), not content


def _independent_canonical(data: bytes) -> str:
    text = re.sub(rb"<ds:Signature.*</ds:Signature>", b"", data, flags=re.S)
    return stdlib_etree.canonicalize(text.decode("utf-8", "replace"), strip_text=False)


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data.replace(b'xmlns:unused="urn:unused"', b'xmlns:unused="urn:other"'),
        lambda data: data.replace(b"?>", b"?><?evil x?>", 1),  # a processing instruction before the root
        lambda data: data + b"<?evil x?>",  # and after it
        lambda data: data.replace(b"<Header>", b'<Header xmlns:extra="urn:extra">', 1),
        lambda data: data.replace(b"<Sender>", b'<Sender xml:lang="zh">', 1),
    ],
    ids=["changed-root-namespace", "pi-before-root", "pi-after-root", "namespace-added", "xml-lang-added"],
)
@pytest.mark.parametrize("c14n", [T.EXCL_C14N, T.C14N])
def test_namespaces_and_processing_instructions_added_after_signing(parties, change, c14n):
    party = parties["zibo"]
    data = xmlsec_signed(party, c14n=c14n, content_c14n=c14n)
    tampered = change(data)
    assert tampered != data
    agree(tampered, party)  # the verdict itself depends on the c14n; what matters is that all three agree


# --- where our profile is stricter, on purpose -----------------------------------------------------------


def strict_code(data: bytes, party) -> str:
    with pytest.raises(Refused) as caught:
        verify_message(data, [party.cert], verifier="strict")
    return caught.value.findings[0].code


@pytest.mark.parametrize("c14n", [T.C14N, T.C14N11])
@pytest.mark.parametrize("attribute", ["lang", "base", "id", "space"])
def test_inclusive_signed_info_under_an_inherited_xml_attribute_is_refused(parties, c14n, attribute):
    """lxml does not carry xml:* attributes of the ancestors into a SignedInfo canonicalised inclusively:
    rather than compute that form wrong, ours refuses it (libxmlsec1 computes it); exclusive c14n is fine."""
    party = parties["zibo"]
    value = {"lang": "zh", "base": "http://example.org/", "id": "m1", "space": "preserve"}[attribute]
    data = xmlsec_signed(party, c14n=c14n, content_c14n=c14n,
                         root_attributes={f"{{http://www.w3.org/XML/1998/namespace}}{attribute}": value})
    verify_message(data, [party.cert], verifier="xmlsec")
    assert strict_code(data, party) == "sig.algorithm"


def test_ecdsa_value_in_der_is_refused_as_libxmlsec1_refuses_it(parties):
    party = parties["jinan"]
    data = signed_claim(party)
    found = re.search(rb"<ds:SignatureValue>(.*?)</ds:SignatureValue>", data, re.S)
    raw = base64.b64decode(found.group(1))
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    assert decode_dss_signature(der) == (int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    tampered = data[:found.start(1)] + base64.b64encode(der) + data[found.end(1):]
    assert strict_code(tampered, party) == "sig.invalid"
    with pytest.raises(Refused):
        verify_message(tampered, [party.cert], verifier="xmlsec")


@pytest.mark.parametrize(
    "inside, extra",
    [
        (b"</ds:SignatureValue>", b"<ds:Object><Sender>370300</Sender></ds:Object>"),
        (b"</ds:SignatureValue>", b"<ds:SignatureValue>AAAA</ds:SignatureValue>"),
        (b"</ds:SignedInfo>", b"<ds:SignedInfo/>"),
        (b"</ds:DigestValue>", b"<ds:DigestValue>AAAA</ds:DigestValue>"),
    ],
    ids=["object", "second-value", "second-signed-info", "second-digest-value"],
)
def test_anything_in_the_signature_beside_what_the_shape_reads_is_refused(parties, inside, extra):
    party = parties["zibo"]
    data = signed_claim(party)
    tampered = data.replace(inside, inside + extra, 1)
    assert strict_code(tampered, party) in ("sig.invalid", "sig.references")


@pytest.mark.parametrize("uri", ["#xpointer(/)", "#m1", "#xpointer(id('m1'))"])
def test_a_reference_other_than_the_whole_document_is_refused_by_the_shape(parties, uri):
    """Even pointing at the root itself through xml:id: only URI="" is the whole document, comments excluded."""
    party = parties["zibo"]
    data = signed_claim(party).replace(b'URI=""', f'URI="{uri}"'.encode(), 1)
    data = data.replace(b"<Message ", b'<Message xml:id="m1" ', 1)
    assert strict_code(data, party) == "sig.references"


def test_content_changed_is_named_and_the_signature_put_back(parties):
    party = parties["zibo"]
    data = signed_claim(party).replace(b"1234.56", b"1234.57")
    root = safe_xml.parse(data).getroot()
    signature = xmldsig.check_shape(root)
    before = etree.tostring(root)
    with pytest.raises(Refused) as caught:
        xmldsig_strict.verify(root, signature, [party.cert])
    assert caught.value.findings[0].code == "sig.digest"
    assert etree.tostring(root) == before


def test_signed_info_verified_against_a_digest_computed_elsewhere(parties):
    """What a streamed check calls: it digests the content itself, as content_digest says."""
    party = parties["jinan"]
    data = signed_claim(party)
    root = safe_xml.parse(data).getroot()
    signature = xmldsig.check_shape(root)
    how = xmldsig_strict.content_digest(signature)
    elsewhere = safe_xml.parse(data).getroot()  # the content digested elsewhere, the signature left in place
    xmldsig.detach(elsewhere.find(f"{{{xmldsig.DS}}}Signature"))
    digest = how.of(how.canonical(elsewhere))
    assert digest == how.of_document(elsewhere)  # hashed as written out, or whole: the same
    kept = signature
    assert xmldsig_strict.verify_signed_info(kept, [parties["zibo"].cert], digest) is None
    assert xmldsig_strict.verify_signed_info(kept, [party.cert], digest) == party.cert
    with pytest.raises(Refused) as caught:
        xmldsig_strict.verify_signed_info(kept, [party.cert], bytes(len(digest)))
    assert caught.value.findings[0].code == "sig.digest"


# --- our signer: what it signs, libxmlsec1 and signxml verify ----------------------------------------------


@pytest.mark.parametrize("who", ["gateway", "jinan"])  # RSA (the gateway's ACKs), ECDSA
def test_acks_and_nacks_we_sign_verify_under_all_three(parties, who):
    from gateway.documents.envelope import read_header
    from gateway.documents.replies import make_ack, make_nack
    from gateway.domain.findings import Finding

    party = parties[who]
    answered = read_header(verify_message(signed_claim(parties["zibo"]), [parties["zibo"].cert]).root)
    ack = make_ack(answered, "ab" * 32, key=party.key, cert=party.cert, gateway_code=party.code, note="已送达")
    nack = make_nack(answered, "ab" * 32, [Finding("sig.digest", "changed", 3)], key=party.key, cert=party.cert,
                     gateway_code=party.code)
    for reply in (ack, nack):
        assert outcomes(reply, party) == {name: "ok" for name in VERIFIERS}
        if who == "jinan":  # ECDSA P-256: XML-DSig's raw r||s, 64 bytes
            value = re.search(rb"<ds:SignatureValue>(.*?)</ds:SignatureValue>", reply, re.S).group(1)
            assert len(base64.b64decode(value)) == 64


@pytest.mark.parametrize("who, other", [("zibo", "attacker"), ("jinan", "zibo"), ("zibo", "jinan")])
def test_a_key_that_does_not_match_its_certificate_cannot_sign(parties, who, other):
    from gateway.documents.signature import sign

    root = etree.fromstring(b"<Message xmlns='urn:x'><Body>1</Body></Message>")
    with pytest.raises(ValueError, match="does not match"):
        sign(root, parties[who].key, parties[other].cert)
    assert root.find(f"{{{xmldsig.DS}}}Signature") is None  # nothing half-signed is left behind


@pytest.mark.parametrize("c14n", [xmldsig.C14N_10, xmldsig.EXC_C14N])
@pytest.mark.parametrize(
    "opening",
    [f'<ds:Signature xmlns:ds="{xmldsig.DS}" xmlns="">',  # the root's default namespace undeclared
     f'<ds:Signature xmlns:ds="{xmldsig.DS}" xmlns:x="urn:x">'],  # one more namespace in SignedInfo's scope
    ids=["default-undeclared", "extra-namespace"],
)
def test_namespaces_declared_on_the_signature_itself(parties, c14n, opening):
    """What SignedInfo inherits from the Signature element, under inclusive and exclusive c14n."""
    party = parties["zibo"]
    algorithms = (f'<ds:CanonicalizationMethod Algorithm="{c14n}"/>'
                  f'<ds:SignatureMethod Algorithm="{xmldsig.RSA_SHA256}"/>')
    transforms = f'<ds:Transform Algorithm="{xmldsig.ENVELOPED}"/><ds:Transform Algorithm="{c14n}"/>'
    template = (
        f'<Message xmlns="{ENVELOPE_NS}" xmlns:q="urn:q"><Header><Sender>370300</Sender></Header><Body>1</Body>'
        f'{opening}<ds:SignedInfo>{algorithms}<ds:Reference URI=""><ds:Transforms>{transforms}</ds:Transforms>'
        f'<ds:DigestMethod Algorithm="{xmldsig.SHA256}"/><ds:DigestValue/></ds:Reference></ds:SignedInfo>'
        "<ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature></Message>"
    )
    root = etree.fromstring(template.encode())
    key = xmlsec.Key.from_file(str(party.key_path), xmlsec.constants.KeyDataFormatPem)
    key.load_cert_from_file(str(party.cert_path), xmlsec.constants.KeyDataFormatPem)
    context = xmlsec.SignatureContext()
    context.key = key
    context.sign(root[-1])
    assert outcomes(etree.tostring(root), party) == {name: "ok" for name in VERIFIERS}
