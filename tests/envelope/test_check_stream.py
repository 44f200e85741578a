"""The streamed check (gateway.documents.check_stream) gives check_message's very result, and decides the files it
is for: valid claims, claims with broken rules, tampered and wrongly signed ones. What it cannot decide
exactly it hands to the tree, and the answer is the tree's. (Every other envelope test's file is also checked
both ways: tests/envelope/differential.py.)"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from gateway.documents import check, check_stream
from gateway.documents.check import STREAM_FROM, TrustStore, check_tree
from gateway.documents.check_stream import check_streamed
from gateway.domain.settlement import CityClaim

from tests.envelope.differential import same
from tests.envelope.helpers import make_party, packed_sample


def both(data: bytes, trust: TrustStore, **options):
    tree = check_tree(data, trust, **options)
    streamed = check_streamed(data, trust, **options)
    return tree, streamed


@pytest.fixture(scope="module")
def sm2_city(tmp_path_factory):
    return make_party("370300", tmp_path_factory.mktemp("sm2"), "sm2")


@pytest.mark.parametrize("kind", ["A1", "A2", "A3", "A4", "A5"])
@pytest.mark.parametrize("who", ["zibo", "jinan", "sm2"])  # RSA, ECDSA, SM2
def test_valid_messages_of_every_kind_are_decided_streamed_with_the_trees_result(parties, trust, sm2_city, kind, who,
                                                                                tmp_path):
    party = sm2_city if who == "sm2" else parties[who]
    sender, receiver = (party.code, "370200") if party.code != "370200" else (party.code, "370300")
    if kind == "A4":
        sender, receiver = receiver, sender
        party = make_party(sender, tmp_path, "sm2" if who == "sm2" else "rsa")
    store = TrustStore({**{code: trust.certificates(code) for code in trust.areas}, party.code: [party.cert]})
    data = packed_sample(party, kind=kind, receiver=receiver, persons=7)
    tree, streamed = both(data, store)
    assert streamed is not None, "the stream deferred a valid message"
    assert tree.valid, tree.findings
    same(tree, streamed)


def test_a_claims_statements_are_read_as_they_stream(parties, trust):
    tree, streamed = both(packed_sample(parties["zibo"], persons=40), trust)
    assert isinstance(streamed.document, CityClaim) and len(streamed.document.statements) == 40
    assert streamed.document.facility_claims and streamed.document == tree.document


def test_broken_rules_far_down_a_large_claim_carry_the_same_lines(parties, trust):
    """2,800 persons: past line 65,535, where libxml2 lines need care."""

    def break_last_statement(document: bytes) -> bytes:
        at = document.rindex(b"<PersonStatement>")
        head, tail = document[:at], document[at:]
        return head + re.sub(rb"<FundPaid>(\d+)\.\d\d</FundPaid>", rb"<FundPaid>\1.01</FundPaid>", tail, count=1)

    data = packed_sample(parties["zibo"], persons=2800, edit=break_last_statement)
    assert data.count(b"\n") > 70_000
    tree, streamed = both(data, trust)
    assert streamed is not None and not tree.valid
    assert max(f.line or 0 for f in tree.findings) > 65_535
    same(tree, streamed)


def test_a_changed_figure_is_a_digest_failure_found_streamed(parties, trust):
    data = packed_sample(parties["jinan"], receiver="370300")
    tampered = re.sub(rb"<TotalCost>(\d+)\.(\d)(\d)</TotalCost>", rb"<TotalCost>\1.\g<2>9</TotalCost>", data, count=1)
    tree, streamed = both(tampered, trust)
    assert streamed is not None and streamed.codes == ["sig.digest"]
    same(tree, streamed)


def test_wrong_keys_and_times_are_refused_streamed_as_on_the_tree(parties, trust):
    forged = packed_sample(parties["attacker"])
    late = datetime(2100, 1, 1, tzinfo=timezone.utc)
    for data, store, options in [(forged, trust, {}), (packed_sample(parties["zibo"]), TrustStore(), {}),
                                 (packed_sample(parties["zibo"]), trust, {"now": late}),
                                 (packed_sample(parties["zibo"]), TrustStore({"370300": [parties["zibo"].cert]},
                                                                             algorithms={"370300": ["sm2"]}), {})]:
        tree, streamed = both(data, store, **options)
        assert streamed is not None and not tree.valid
        same(tree, streamed)


@pytest.mark.parametrize("edit", [
    pytest.param(lambda d: d.replace(b"<Sex>", b"<Sexx>", 1).replace(b"</Sex>", b"</Sexx>", 1), id="schema"),
    pytest.param(lambda d: d.replace(b"<Header>", b"<?pi x?><Header>", 1), id="instruction"),
    pytest.param(lambda d: d.replace(b"<?xml version='1.0' encoding='UTF-8'?>",
                                     b"<?xml version='1.0' encoding='UTF-8'?><!DOCTYPE m []>", 1), id="doctype"),
    pytest.param(lambda d: d.replace(b"</Header>", b"</Header", 1), id="syntax"),
    pytest.param(lambda d: d.replace(b"http://www.w3.org/2001/10/xml-exc-c14n#", b"http://www.w3.org/2006/12/xml-c14n11", 2), id="c14n-1.1"),
])
def test_what_the_stream_cannot_decide_the_tree_decides(parties, trust, edit):
    data = edit(packed_sample(parties["zibo"]))
    assert check_streamed(data, trust) is None
    same(check_tree(data, trust), check.check_message(data, trust, stream_from=0))


def test_check_message_streams_from_its_threshold(parties, trust, monkeypatch):
    calls = []
    real = check_stream.check_streamed
    monkeypatch.setattr(check_stream, "check_streamed", lambda data, *a, **k: calls.append(len(data)) or real(data, *a, **k))
    data = packed_sample(parties["zibo"])
    assert len(data) < STREAM_FROM
    small = check.check_message(data, trust)
    assert calls == []
    streamed = check.check_message(data, trust, stream_from=len(data))
    assert calls == [len(data)]
    same(small, streamed)
    too_large = check.check_message(data, trust, stream_from=0, max_bytes=len(data) - 1)
    assert calls == [len(data)] and too_large.codes == ["xml.too_large"]


@pytest.mark.parametrize("edit, codes", [
    pytest.param(None, ["xsd.unexpected"], id="schema"),
    pytest.param(lambda d: d.replace(b"<Header>", b"<?pi x?><Header>", 1), ["xml.instruction"], id="instruction"),
    pytest.param(lambda d: d.replace(b"<?xml version='1.0' encoding='UTF-8'?>",
                                     b"<?xml version='1.0' encoding='UTF-8'?><!DOCTYPE m []>", 1), ["xml.doctype"],
                 id="doctype"),
    pytest.param(lambda d: d.replace(b"</Header>", b"</Header", 1), ["xml.syntax"], id="syntax"),
    pytest.param(lambda d: d.replace(b"http://www.w3.org/2001/10/xml-exc-c14n#", b"http://www.w3.org/2006/12/xml-c14n11", 2), ["xml.too_large"], id="c14n-1.1"),
])
def test_above_the_trees_limit_the_stream_answers_alone(parties, trust, edit, codes, monkeypatch):
    """Past `tree_max` nothing is parsed whole: a file the stream cannot decide gets the stream's findings,
    the tree's own where the stream has them exactly (the line too)."""
    from gateway.documents import safe_xml

    if edit is None:  # signed as it is: the signature holds, the schema does not
        data = packed_sample(parties["zibo"], edit=lambda d: d.replace(b"<Sex>", b"<Sexx>", 1).replace(b"</Sex>",
                                                                                                        b"</Sexx>", 1))
    else:
        data = edit(packed_sample(parties["zibo"]))

    def no_tree(*args, **kwargs):
        raise AssertionError("parsed whole above the tree's limit")

    tree = check_tree(data, trust)
    monkeypatch.setattr(safe_xml, "parse", no_tree)
    result = check.check_message(data, trust, stream_from=0, tree_max=0)
    assert result.codes == codes and not result.valid
    if codes[0] in ("xml.instruction", "xml.doctype", "xml.syntax"):
        assert result.findings == tree.findings
    if codes == ["xsd.unexpected"]:
        assert tree.codes[0] == "xsd.unexpected" and result.header_trusted and result.certificate_sha256


def test_above_the_trees_limit_a_tampered_schema_invalid_file_is_a_signature_failure(parties, trust):
    data = packed_sample(parties["zibo"])
    data = data.replace(b"<Sex>", b"<Sexx>", 1).replace(b"</Sex>", b"</Sexx>", 1)  # after signing
    result = check.check_message(data, trust, stream_from=0, tree_max=0)
    assert result.codes == ["sig.digest"] == check_tree(data, trust).codes
