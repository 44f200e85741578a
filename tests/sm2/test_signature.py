"""SM2-SM3 signatures hold to everything the RSA/ECDSA ones do (tests/envelope/test_signature.py): any change is
caught, only pinned certificates count, no wrapping trick lets unsigned content reach the checks; and a city
limited to some algorithms gets the others refused."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone

import pytest

from gateway.documents import sm2
from gateway.documents.check import TrustStore, check_message
from gateway.documents.envelope import ENVELOPE_NS, SETTLEMENT_NS
from gateway.documents.signature import DS, verify, verify_message
from gateway.documents.xmldsig_sm2 import SM2_SM3, SM3
from gateway.domain.findings import Refused

from tests.envelope.helpers import CLAIM_BODY, make_party, packed_sample, signed_claim

# The RSA/ECDSA tests of tampering, pinning and wrapping, run again here with SM2 parties (the `parties`
# fixture of tests/sm2/conftest.py): the same attacks, the same findings.
from tests.envelope.test_signature import (  # noqa: F401  (collected by pytest from this module)
    test_any_changed_byte_is_caught,
    test_attacker_signature_under_the_pinned_certificate_is_invalid,
    test_attacker_with_own_embedded_certificate_is_untrusted,
    test_changed_signature_value_is_invalid,
    test_comment_inside_a_value_does_not_change_what_was_signed,
    test_embedded_certificate_is_never_trusted_by_itself,
    test_injected_second_body_beside_the_signed_one,
    test_injected_second_header_after_the_signature,
    test_other_citys_key_is_untrusted,
    test_signature_moved_to_an_attacker_root_around_the_signed_content,
    test_signed_content_carries_the_lines_of_the_file_as_received,
    test_signed_message_wrapped_inside_an_attacker_root,
    test_two_signatures_are_refused,
    test_unsigned_message_is_missing_its_signature,
)

E = "{%s}" % ENVELOPE_NS
S = "{%s}" % SETTLEMENT_NS


def refused_code(data: bytes, certificates, **options) -> str:
    with pytest.raises(Refused) as caught:
        verify_message(data, certificates, **options)
    [finding] = caught.value.findings  # exactly one
    return finding.code


def test_the_mirrored_tests_really_use_sm2(parties):
    assert all(f'"{SM2_SM3}"'.encode() in signed_claim(party) for party in parties.values())


def test_round_trip_in_our_one_shape(sm2_parties):
    zibo = sm2_parties["zibo"]
    data = signed_claim(zibo)
    assert f'SignatureMethod Algorithm="{SM2_SM3}"'.encode() in data
    assert f'DigestMethod Algorithm="{SM3}"'.encode() in data
    assert data.count(b'<ds:Reference URI="">') == 1
    value = re.search(rb"<ds:SignatureValue>([^<]*)<", data).group(1)
    assert len(base64.b64decode(value)) == 64  # raw r||s, as China E-Port writes it
    verified = verify_message(data, [zibo.cert])
    assert verified.certificate == zibo.cert
    root = verified.root
    assert root.tag == E + "Message" and root[-1].tag == E + "Body"  # direct child of the root, set aside
    assert root.findtext(f"{E}Body/{S}CityClaim/{S}Total/{S}Claimed") == "1234.56"
    assert root.find(f"{{{DS}}}Signature") is None


def test_a_changed_digest_value_is_an_invalid_signature(sm2_parties):
    data = signed_claim(sm2_parties["zibo"])
    digest = re.search(rb"<ds:DigestValue>(.)", data)
    other = b"A" if digest.group(1) != b"A" else b"B"
    assert refused_code(data[: digest.start(1)] + other + data[digest.end(1):], [sm2_parties["zibo"].cert]) == "sig.invalid"


def test_a_second_reference_is_refused(sm2_parties):
    genuine = signed_claim(sm2_parties["zibo"])
    reference = re.search(rb"<ds:Reference URI=\"\">.*</ds:Reference>", genuine, re.S).group(0)
    doubled = genuine.replace(reference, reference + reference.replace(b'URI=""', b'URI="#h"'))
    assert refused_code(doubled, [sm2_parties["zibo"].cert]) == "sig.references"


def test_der_signature_values_are_accepted_too(sm2_parties):
    data = signed_claim(sm2_parties["zibo"])
    value = re.search(rb"<ds:SignatureValue>([^<]*)<", data)
    der = base64.b64encode(sm2.to_der(base64.b64decode(value.group(1))))
    assert verify(data.replace(value.group(1), der), [sm2_parties["zibo"].cert]).tag == E + "Message"


def test_an_rsa_certificate_pinned_beside_is_skipped_and_both_kinds_verify(sm2_parties):
    zibo, rsa = sm2_parties["zibo"], sm2_parties["rsa"]
    assert verify_message(signed_claim(zibo), [rsa.cert, zibo.cert]).certificate == zibo.cert
    assert verify_message(signed_claim(rsa), [zibo.cert, rsa.cert]).certificate == rsa.cert
    assert refused_code(signed_claim(zibo), [rsa.cert]) == "sig.untrusted"


def test_expired_sm2_certificate(tmp_path):
    then = datetime.now(timezone.utc) - timedelta(days=30)
    old = make_party("370300", tmp_path, "sm2", days=10, now=then)
    data = signed_claim(old)
    assert refused_code(data, [old.cert]) == "sig.expired"
    assert verify(data, [old.cert], at=then + timedelta(days=1)).tag == E + "Message"


def test_signer_id_other_than_the_default(sm2_parties):
    zibo = sm2_parties["zibo"]
    from lxml import etree

    from gateway.documents.envelope import pack
    from tests.envelope.helpers import claim_header

    data = pack(etree.fromstring(CLAIM_BODY), claim_header(), zibo.key.with_user_id(b"ZB@370300"), zibo.cert)
    assert refused_code(data, [zibo.cert]) == "sig.invalid"  # checked under the default id
    assert verify_message(data, [zibo.cert], sm2_user_id=b"ZB@370300").certificate == zibo.cert


def test_a_key_that_does_not_match_its_certificate_cannot_sign(sm2_parties):
    from lxml import etree

    from gateway.documents.signature import sign

    with pytest.raises(ValueError, match="does not match"):
        sign(etree.fromstring(b"<a/>"), sm2_parties["attacker"].key, sm2_parties["zibo"].cert)
    with pytest.raises(ValueError, match="not SM2"):
        sign(etree.fromstring(b"<a/>"), sm2_parties["zibo"].key, sm2_parties["rsa"].cert)


@pytest.mark.parametrize(
    "old, new",
    [
        (SM3.encode(), b"http://www.w3.org/2000/09/xmldsig#sha1"),  # older E-Port: SM2 over a SHA-1 digest
        (SM3.encode(), b"http://www.w3.org/2001/04/xmlenc#sha256"),
        (SM2_SM3.encode(), b"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"),  # RSA method, SM3 digest
        (b'<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>',
         b'<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>'),
        (b'<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>',
         b'<ds:Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>'),
        (b'<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>',
         b'<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"/>'),
        (b'<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>', b""),
    ],
    ids=["sha1-digest", "sha256-digest", "rsa-method", "c14n11", "c14n11-transform", "with-comments", "not-enveloped"],
)
def test_algorithms_outside_the_sm2_profile(sm2_parties, old, new):
    data = signed_claim(sm2_parties["zibo"])
    assert old in data
    assert refused_code(data.replace(old, new, 1), [sm2_parties["zibo"].cert]) == "sig.algorithm"


# --- per-city algorithms -----------------------------------------------------------------------------------


def test_a_city_limited_to_sm2_gets_rsa_refused_and_the_other_way_round(sm2_parties):
    zibo, rsa = sm2_parties["zibo"], sm2_parties["rsa"]
    certs = [zibo.cert, rsa.cert]
    assert refused_code(signed_claim(rsa), certs, algorithms=("sm2",)) == "sig.algorithm"
    assert refused_code(signed_claim(zibo), certs, algorithms=("rsa", "ecdsa")) == "sig.algorithm"
    assert verify_message(signed_claim(zibo), certs, algorithms=("sm2",)).certificate == zibo.cert


def test_the_whole_check_of_a_real_sample_with_per_city_policy(sm2_parties):
    zibo, rsa = sm2_parties["zibo"], sm2_parties["rsa"]
    trust = TrustStore({"370300": [zibo.cert, rsa.cert]}, algorithms={"370300": ("sm2",)})
    result = check_message(packed_sample(zibo), trust)
    assert result.valid, result.findings
    refused = check_message(packed_sample(rsa), trust)
    assert refused.codes == ["sig.algorithm"] and not refused.header_trusted
