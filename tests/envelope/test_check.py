"""The one check (`check_message`): every stage, every finding collected, nothing read from unsigned data."""

from __future__ import annotations

import hashlib
import pickle
import re

import pytest
from lxml import etree

from gateway.documents.check import CheckResult, TrustStore, check_message
from gateway.documents.envelope import ENVELOPE_NS, header_element
from gateway.documents.signature import sign
from gateway.domain.envelope import MessageType
from gateway.domain.settlement import CityClaim

from tests.envelope.helpers import claim_header, make_party, packed_sample


def line_of(data: bytes, needle: bytes, start: int = 0) -> int:
    return data.count(b"\n", 0, data.index(needle, start)) + 1


def test_a_valid_claim_passes_with_its_signed_header_and_model(parties, trust):
    data = packed_sample(parties["zibo"])
    result = check_message(data, trust)
    assert result.findings == []
    assert result.valid and result.header_trusted
    assert (result.header.type, result.header.sender, result.header.receiver) == (MessageType.A3, "370300", "370100")
    assert isinstance(result.document, CityClaim)
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.size == len(data)
    assert result.certificate_sha256 is not None


def test_result_and_trust_store_survive_pickling(parties, trust):
    # The daemon may run checks in a process pool: both cross the process boundary.
    result = check_message(packed_sample(parties["zibo"]), pickle.loads(pickle.dumps(trust)))
    assert result.valid
    again = pickle.loads(pickle.dumps(result))
    assert isinstance(again, CheckResult) and again.header == result.header and again.valid


def test_changed_amount_is_only_a_digest_failure_and_the_header_is_untrusted(parties, trust):
    data = packed_sample(parties["zibo"])
    tampered = re.sub(rb"<TotalCost>(\d+)\.(\d)(\d)</TotalCost>", rb"<TotalCost>\1.\g<2>9</TotalCost>", data, count=1)
    assert tampered != data
    result = check_message(tampered, trust)
    assert result.codes == ["sig.digest"]
    assert not result.valid and not result.header_trusted
    assert result.header.sender == "370300"  # best effort, only to address the NACK
    assert result.document is None


def test_resigned_wrong_amount_names_the_broken_rule_with_its_line(parties, trust):
    def break_total(document: bytes) -> bytes:
        return re.sub(rb"<TotalCost>(\d+)\.\d\d</TotalCost>", rb"<TotalCost>\1.01</TotalCost>", document, count=1)

    data = packed_sample(parties["zibo"], edit=break_total)
    result = check_message(data, trust)
    assert not result.valid and result.header_trusted
    assert "amount.total_split" in result.codes
    finding = next(f for f in result.findings if f.code == "amount.total_split")
    totals = line_of(data, b"<Totals>")
    assert finding.line is not None and totals <= finding.line <= line_of(data, b"<TotalCost>", data.index(b"<Totals>"))


def test_unknown_sender_and_a_city_posing_as_another(parties, trust):
    assert check_message(packed_sample(parties["zibo"]), TrustStore()).codes == ["sig.untrusted"]
    # Jinan's own pinned key, but the header says Zibo: certificates are pinned per sender.
    posing = packed_sample(parties["jinan"], sender="370300", receiver="370200")
    assert check_message(posing, trust).codes == ["sig.untrusted"]
    assert check_message(packed_sample(parties["attacker"]), trust).codes == ["sig.untrusted"]


def test_hostile_xml_is_refused_before_anything_else(trust):
    xxe = b'<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><Message xmlns="urn:ltcgw:envelope:1">&x;</Message>'
    assert check_message(xxe, trust).codes == ["xml.doctype"]
    assert check_message(b"<Message>" * 10, trust, max_bytes=50).codes == ["xml.too_large"]
    assert check_message(b"<Message>", trust).codes == ["xml.syntax"]


def test_unreadable_header_is_reported_without_trying_a_signature(trust):
    data = f'<Message xmlns="{ENVELOPE_NS}"><Header><Type>A3</Type></Header></Message>'.encode()
    result = check_message(data, trust)
    assert {"envelope.missing"} == set(result.codes)
    assert result.header is None


def _signed(party, header, body: etree._Element) -> bytes:
    """A message built by hand (pack would refuse some of these on purpose)."""
    message = etree.Element(f"{{{ENVELOPE_NS}}}Message", nsmap={None: ENVELOPE_NS})
    message.append(header_element(header))
    etree.SubElement(message, f"{{{ENVELOPE_NS}}}Body").append(body)
    etree.indent(message)
    return sign(message, party.key, party.cert)


def _claim_body(parties) -> etree._Element:
    from gateway.documents.sample import sample_bytes

    return etree.fromstring(sample_bytes("A3", "370300", "370100", "2026-10", persons=3, seed=7))


def test_header_schema_errors_are_all_listed_with_their_lines(parties, trust):
    header = claim_header(period="2026-13", serial="bad serial!", message_id="has space")
    data = _signed(parties["zibo"], header, _claim_body(parties))
    result = check_message(data, trust)
    assert not result.valid
    by_line = {f.line: f.code for f in result.findings}
    assert by_line[line_of(data, b"<Period>")] == "xsd.pattern"
    assert by_line[line_of(data, b"<Serial>")] == "xsd.pattern"
    assert by_line[line_of(data, b"<MessageId>")] == "xsd.pattern"
    assert result.document is None  # rules run on schema-valid documents only


def test_type_that_does_not_match_the_body(parties, trust):
    data = _signed(parties["zibo"], claim_header(type=MessageType.A5), _claim_body(parties))
    assert "envelope.type" in check_message(data, trust).codes


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"receiver": "370300"}, "envelope.same_area"),
        ({"receiver": "999999"}, "envelope.unknown_area"),
        ({"receiver": "370000"}, "envelope.direction"),
        ({"reply_to": "x1", "reply_to_sha256": "0" * 64}, "envelope.in_reply_to"),
    ],
)
def test_header_consistency(parties, trust, changes, code):
    data = _signed(parties["zibo"], claim_header(**changes), _claim_body(parties))
    result = check_message(data, trust)
    assert code in result.codes
    finding = next(f for f in result.findings if f.code == code)
    assert finding.line is not None and b"<" in data.splitlines()[finding.line - 1]


def test_a_claim_whose_residence_city_is_an_insurance_pool(parties, tmp_path):
    pool = make_party("379901", tmp_path)
    data = packed_sample(pool)
    result = check_message(data, TrustStore({"379901": [pool.cert]}))
    assert "envelope.direction" in result.codes


def test_service_types_per_residence_city(parties, trust):
    data = packed_sample(parties["zibo"])
    assert check_message(data, trust, service_types={"370300": {"99"}}).codes.count("codes.service_type") > 0
    assert check_message(data, trust, service_types={"370100": {"99"}}).valid  # another city's list


def test_trust_store_from_files_with_a_rollover_pem(parties, tmp_path):
    new = make_party("370300", tmp_path / "new", "ecdsa")
    both = tmp_path / "370300.pem"
    both.write_bytes(parties["zibo"].cert_path.read_bytes() + new.cert_path.read_bytes())
    store = TrustStore.from_files({"370300": both, "370100": [parties["jinan"].cert_path]})
    assert store.areas == {"370300", "370100"}
    assert store.certificates("370300") == (parties["zibo"].cert, new.cert)
    assert store.certificates("371700") == ()
    restored = pickle.loads(pickle.dumps(store))
    assert restored.certificates("370300") == store.certificates("370300")
    assert check_message(packed_sample(new), restored).valid  # signed with the new key
    assert check_message(packed_sample(parties["zibo"]), restored).valid  # and the old one still verifies
