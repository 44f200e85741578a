"""Signing and verifying whole messages: any change is caught, only pinned certificates count, and no
signature-wrapping trick makes unsigned content reach the checks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod

from gateway.documents.envelope import ENVELOPE_NS, SETTLEMENT_NS
from gateway.documents.signature import DS, sign, verify, verify_message
from gateway.domain.findings import Refused

from tests.envelope.helpers import CLAIM_BODY, make_party, signed_claim

E = "{%s}" % ENVELOPE_NS
S = "{%s}" % SETTLEMENT_NS


def refused_code(data: bytes, certificates, **options) -> str:
    with pytest.raises(Refused) as caught:
        verify(data, certificates, **options)
    assert len(caught.value.findings) == 1
    return caught.value.findings[0].code


@pytest.mark.parametrize("who", ["zibo", "jinan"])  # RSA-SHA256 and ECDSA-P256-SHA256
def test_round_trip_returns_the_signed_message(parties, who):
    party = parties[who]
    data = signed_claim(party)
    algorithm = "rsa-sha256" if who == "zibo" else "ecdsa-sha256"
    assert f"xmldsig-more#{algorithm}".encode() in data
    root = verify(data, [party.cert])
    assert root.tag == E + "Message"
    assert root.findtext(f"{E}Header/{E}Sender") == party.code
    assert root.findtext(f"{E}Body/{S}CityClaim/{S}Total/{S}Claimed") == "1234.56"
    assert root.find(f"{{{DS}}}Signature") is None  # the signature itself is not content


def test_signed_content_carries_the_lines_of_the_file_as_received(parties):
    data = signed_claim(parties["zibo"])
    lines = data.decode().splitlines()
    root = verify(data, [parties["zibo"].cert])
    claimed = root.find(f"{E}Body/{S}CityClaim/{S}Total/{S}Claimed")
    assert "<Claimed>1234.56</Claimed>" in lines[claimed.sourceline - 1]
    receiver = root.find(f"{E}Header/{E}Receiver")
    assert "<Receiver>370100</Receiver>" in lines[receiver.sourceline - 1]


@pytest.mark.parametrize(
    "old, new",
    [
        (b"<Receiver>370100</Receiver>", b"<Receiver>370200</Receiver>"),  # header
        (b"<Claimed>1234.56</Claimed>", b"<Claimed>1234.57</Claimed>"),  # an amount in the body
        (b"first line\nsecond line", b"first line \nsecond line"),  # whitespace inside a text
        (b"\n      <Total>", b"\n       <Total>"),  # whitespace between elements
        (b"\xe5\xb1\x85\xe5\xae\xb6", b"\xe6\x9c\xba\xe6\x9e\x84"),  # a Chinese word (居家 -> 机构)
    ],
    ids=["header", "amount", "text-whitespace", "indentation", "chinese-text"],
)
def test_any_changed_byte_is_caught(parties, old, new):
    data = signed_claim(parties["zibo"])
    assert data.count(old) == 1
    assert refused_code(data.replace(old, new), [parties["zibo"].cert]) == "sig.digest"


def test_changed_signature_value_is_invalid(parties):
    data = signed_claim(parties["zibo"])
    value = re.search(rb"<ds:SignatureValue>(.)", data)
    flipped = b"A" if value.group(1) != b"A" else b"B"
    tampered = data[: value.start(1)] + flipped + data[value.end(1) :]
    assert refused_code(tampered, [parties["zibo"].cert]) == "sig.invalid"


def test_attacker_with_own_embedded_certificate_is_untrusted(parties):
    forged = signed_claim(parties["attacker"])  # claims to be 370300, signed with the attacker's key and cert
    assert refused_code(forged, [parties["zibo"].cert]) == "sig.untrusted"


def test_other_citys_key_is_untrusted(parties):
    forged = signed_claim(parties["jinan"], sender="370300")  # Jinan's real key, posing as Zibo
    assert refused_code(forged, [parties["zibo"].cert]) == "sig.untrusted"


def test_attacker_signature_under_the_pinned_certificate_is_invalid(parties):
    forged = signed_claim(parties["attacker"])
    genuine = signed_claim(parties["zibo"])
    cert = re.compile(rb"<ds:X509Certificate>.*?</ds:X509Certificate>", re.S)
    forged = cert.sub(lambda _: cert.search(genuine).group(0), forged)  # borrow Zibo's public certificate
    assert refused_code(forged, [parties["zibo"].cert]) == "sig.invalid"


def test_embedded_certificate_is_never_trusted_by_itself(parties):
    genuine = signed_claim(parties["zibo"])
    assert refused_code(genuine, []) == "sig.untrusted"  # nothing pinned: its own certificate is not enough


def test_rollover_tries_every_pinned_certificate(parties, tmp_path):
    new = make_party("370300", tmp_path, "ecdsa")
    data = signed_claim(new)
    verified = verify_message(data, [parties["zibo"].cert, new.cert])
    assert verified.certificate == new.cert


def test_expired_certificate_and_verification_at_an_earlier_time(parties, tmp_path):
    then = datetime.now(timezone.utc) - timedelta(days=30)
    old = make_party("370300", tmp_path, days=10, now=then)
    data = signed_claim(old)
    assert refused_code(data, [old.cert]) == "sig.expired"
    assert verify(data, [old.cert], at=then + timedelta(days=1)).tag == E + "Message"


def test_unsigned_message_is_missing_its_signature(parties):
    data = signed_claim(parties["zibo"])
    unsigned = re.sub(rb"<ds:Signature.*</ds:Signature>", b"", data, flags=re.S)
    assert refused_code(unsigned, [parties["zibo"].cert]) == "sig.missing"


@pytest.mark.parametrize(
    "old, new",
    [
        (b"xmldsig-more#rsa-sha256", b"xmldsig#rsa-sha1"),
        (b"xmlenc#sha256", b"xmldsig#sha1"),
        (b"xml-exc-c14n#\"/></ds:Transforms>", b"xml-exc-c14n#WithComments\"/></ds:Transforms>"),
        (b'<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>',
         b'<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/>'),
        (b'<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>',
         b'<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
         b'<ds:Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>'),
        (b'<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>', b""),
    ],
    ids=["rsa-sha1", "sha1-digest", "c14n-with-comments", "xslt-transform", "two-c14n", "not-enveloped"],
)
def test_algorithms_outside_the_allow_list(parties, old, new):
    data = signed_claim(parties["zibo"])
    assert old in data
    assert refused_code(data.replace(old, new, 1), [parties["zibo"].cert]) == "sig.algorithm"


# --- signature wrapping ------------------------------------------------------------------------------------


def test_injected_second_body_beside_the_signed_one(parties):
    data = signed_claim(parties["zibo"])
    evil = CLAIM_BODY.replace(b"1234.56", b"9999999.99")
    injected = data.replace(b"<Body>", b"<Body>" + evil + b"</Body>\n  <Body>", 1)
    assert refused_code(injected, [parties["zibo"].cert]) == "sig.digest"


def test_injected_second_header_after_the_signature(parties):
    data = signed_claim(parties["zibo"])
    evil = b"<Header><Sender>370300</Sender><Receiver>371700</Receiver></Header></Message>"
    injected = data.replace(b"</Message>", evil)
    assert refused_code(injected, [parties["zibo"].cert]) == "sig.digest"


def _message_with_ids() -> etree._Element:
    return etree.fromstring(
        f'<Message xmlns="{ENVELOPE_NS}"><Header Id="h"><Sender>370300</Sender></Header>'
        f'<Body Id="b">{CLAIM_BODY.decode()}</Body></Message>'.encode()
    )


def _signxml_sign(party, references) -> bytes:
    signer = XMLSigner(c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
    signed = signer.sign(_message_with_ids(), key=party.key, cert=[party.cert], reference_uri=references)
    return etree.tostring(signed)


def test_reference_to_an_element_with_an_id_is_refused(parties):
    data = _signxml_sign(parties["zibo"], "#h")  # a valid signature over the Header only
    assert refused_code(data, [parties["zibo"].cert]) == "sig.references"


def test_two_references_are_refused(parties):
    data = _signxml_sign(parties["zibo"], ["#h", "#b"])
    assert refused_code(data, [parties["zibo"].cert]) == "sig.references"


def test_signed_message_wrapped_inside_an_attacker_root(parties):
    genuine = signed_claim(parties["zibo"])
    inner = genuine.split(b"?>", 1)[1]
    wrapped = (
        f'<Message xmlns="{ENVELOPE_NS}"><Header><Sender>370300</Sender><Receiver>371700</Receiver></Header>'
        f"<Body/><Wrapper>"
    ).encode() + inner + b"</Wrapper></Message>"
    assert refused_code(wrapped, [parties["zibo"].cert]) == "sig.references"


def test_signature_moved_to_an_attacker_root_around_the_signed_content(parties):
    genuine = signed_claim(parties["zibo"])
    signature = re.search(rb"<ds:Signature.*</ds:Signature>", genuine, re.S).group(0)
    content = genuine.split(b"?>", 1)[1].replace(signature, b"")
    wrapped = (
        f'<Message xmlns="{ENVELOPE_NS}"><Header><Sender>370300</Sender></Header><Object>'.encode()
        + content + b"</Object>" + signature + b"</Message>"
    )
    assert refused_code(wrapped, [parties["zibo"].cert]) == "sig.digest"


def test_two_signatures_are_refused(parties):
    genuine = signed_claim(parties["zibo"])
    signature = re.search(rb"<ds:Signature.*</ds:Signature>", genuine, re.S).group(0)
    doubled = genuine.replace(b"</Message>", signature + b"</Message>")
    assert refused_code(doubled, [parties["zibo"].cert]) == "sig.references"


def test_comment_inside_a_value_does_not_change_what_was_signed(parties):
    # Comments are outside the signature (c14n without comments): they may appear, but are never content.
    data = signed_claim(parties["zibo"]).replace(b"1234.56", b"1234<!-- x -->.56")
    claimed = verify(data, [parties["zibo"].cert]).find(f"{E}Body/{S}CityClaim/{S}Total/{S}Claimed")
    assert claimed.text == "1234.56"


def test_signxml_falls_back_to_the_reparsed_signed_content(parties, monkeypatch):
    import gateway.documents.xmldsig_signxml as with_signxml

    monkeypatch.setattr(with_signxml, "_canonical", lambda *args: b"not what was signed")
    root = verify_message(signed_claim(parties["zibo"]), [parties["zibo"].cert], verifier="signxml").root
    assert root.findtext(f"{E}Body/{S}CityClaim/{S}Total/{S}Claimed") == "1234.56"
    assert root.find(f"{{{DS}}}Signature") is None


def test_sign_refuses_an_unsupported_key(parties):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    with pytest.raises(TypeError):
        sign(etree.fromstring(b"<a/>"), ed25519.Ed25519PrivateKey.generate(), parties["zibo"].cert)


def test_the_verifier_under_test_is_the_one_that_runs(parties, verifier, monkeypatch):
    import gateway.documents.signature as signature

    def not_me(*args):
        raise AssertionError("the other verifier ran")

    for name in signature.VERIFIERS:
        if name != verifier:
            monkeypatch.setitem(signature._VERIFY, name, not_me)
    assert verify_message(signed_claim(parties["jinan"]), [parties["jinan"].cert]).certificate == parties["jinan"].cert


def test_an_attackers_raw_key_in_key_info_is_never_used(parties):
    from cryptography.hazmat.primitives.asymmetric import rsa
    import base64

    forged = signed_claim(parties["attacker"])  # signed by the attacker, who offers its bare public key
    numbers = parties["attacker"].key.public_key().public_numbers()
    assert isinstance(parties["attacker"].key, rsa.RSAPrivateKey)

    def b64(number: int) -> str:
        return base64.b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).decode()

    key_value = (f"<ds:KeyInfo><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>{b64(numbers.n)}</ds:Modulus>"
                 f"<ds:Exponent>{b64(numbers.e)}</ds:Exponent></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo>").encode()
    forged = re.sub(rb"<ds:KeyInfo>.*</ds:KeyInfo>", key_value, forged, flags=re.S)
    assert refused_code(forged, [parties["zibo"].cert]) == "sig.invalid"


def test_key_info_is_never_dereferenced(parties):
    """A RetrievalMethod in KeyInfo is not fetched: the key is the pinned certificate's, set beforehand."""
    import http.server
    import threading

    asked = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/key"
        key_info = (f'<ds:KeyInfo><ds:RetrievalMethod URI="{url}" Type="{DS}X509Data"/>'
                    "<ds:KeyName>370300</ds:KeyName></ds:KeyInfo>").encode()
        data = re.sub(rb"<ds:KeyInfo>.*</ds:KeyInfo>", key_info, signed_claim(parties["zibo"]), flags=re.S)
        assert verify_message(data, [parties["zibo"].cert]).certificate == parties["zibo"].cert
    finally:
        server.shutdown()
    assert asked == []
