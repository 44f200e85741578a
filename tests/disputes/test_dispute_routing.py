"""Which disputes the gateway passes on (gateway.domain.routing.decide_dispute, pure), and the envelope checks of
a signed dispute (gateway.documents.check.check_message, real keys and XML-DSig)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from gateway.documents.check import TrustStore, check_message
from gateway.documents.envelope import pack
from gateway.documents.keys import generate_keys, load_certificates, load_private_key
from gateway.documents.writer import document_xml
from gateway.domain.envelope import Header, MessageType
from gateway.domain.lifecycle import State
from gateway.domain.routing import Known, decide_dispute

from .test_dispute_documents import INSURED, PERIOD, RESIDENCE, a_dispute, header

OTHER = "370600"
CITIES = {RESIDENCE, INSURED, OTHER}
CLAIM_SHA, DISPUTE_SHA = "a" * 64, "b" * 64
CLAIM = Known(1, CLAIM_SHA, State.DELIVERED, 1, RESIDENCE, INSURED, "A3", "A3-SERIAL", PERIOD)
DISPUTE = Known(2, DISPUTE_SHA, State.ACKNOWLEDGED, 1, INSURED, RESIDENCE, "DISPUTE", "D-1", PERIOD)


def dispute_header(sender: str = INSURED, receiver: str = RESIDENCE, **changes) -> Header:
    values = dict(reply_to="370300A3", reply_to_sha256=CLAIM_SHA)
    values.update(changes)
    return header(MessageType.DISPUTE, sender, receiver, "D-1", **values)


def answer_header(sender: str = RESIDENCE, receiver: str = INSURED, **changes) -> Header:
    values = dict(reply_to="370100D", reply_to_sha256=DISPUTE_SHA)
    values.update(changes)
    return header(MessageType.DISPUTE_ANSWER, sender, receiver, "DA-1", **values)


def decide(head: Header, referenced: Known | None, names=None, same_document=()):
    return decide_dispute(head.sender, head, "c" * 64, CITIES, [], list(same_document), referenced, names)


@pytest.mark.parametrize(("sender", "receiver"), [(INSURED, RESIDENCE), (RESIDENCE, INSURED)])
def test_a_dispute_about_a_routed_document_goes_either_way(sender: str, receiver: str) -> None:
    decision = decide(dispute_header(sender, receiver), CLAIM, ("A3", "A3-SERIAL"))
    assert decision.route and decision.answers == CLAIM


def test_a_dispute_must_name_a_document_routed_between_the_same_two_cities() -> None:
    assert decide(dispute_header(), None).codes == ["route.unknown_reference"]
    assert decide(dispute_header(), replace(CLAIM, state=State.REJECTED)).codes == ["route.unknown_reference"]
    assert decide(dispute_header(reply_to_sha256="d" * 64), CLAIM).codes == ["route.unknown_reference"]
    assert decide(dispute_header(OTHER, RESIDENCE), CLAIM).codes == ["route.unknown_reference"]
    assert decide(dispute_header(), replace(CLAIM, type="RECEIPT")).codes == ["route.reference_type"]
    assert decide(dispute_header(), CLAIM, ("A4", "A3-SERIAL")).codes == ["route.reference_mismatch"]
    assert decide(dispute_header(), CLAIM, ("A3", "OTHER")).codes == ["route.reference_mismatch"]
    assert decide(dispute_header(period="2026-09"), CLAIM).codes == ["route.reference_mismatch"]


def test_an_answer_goes_back_about_a_dispute() -> None:
    assert decide(answer_header(), DISPUTE, ("DISPUTE", "D-1")).route
    assert decide(answer_header(INSURED, RESIDENCE), DISPUTE).codes == ["route.unknown_reference"]
    about_a_claim = decide(answer_header(reply_to_sha256=CLAIM_SHA), CLAIM).codes
    assert set(about_a_claim) == {"route.reference_type", "route.unknown_reference"}
    assert decide(answer_header(), DISPUTE, ("DISPUTE", "D-2")).codes == ["route.reference_mismatch"]


def test_revisions_and_ids_of_disputes_follow_the_attachments_rules() -> None:
    earlier = Known(5, "e" * 64, State.DELIVERED, 2, INSURED, RESIDENCE, "DISPUTE", "D-1", PERIOD)
    assert decide(dispute_header(), CLAIM, same_document=[earlier]).codes == ["envelope.stale_revision"]
    newer = decide(dispute_header(revision=3), CLAIM, same_document=[earlier])
    assert newer.route and newer.supersedes == (5,)


@pytest.fixture(scope="module")
def insured_city(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("keys")
    key, cert = generate_keys(INSURED, folder)
    return load_private_key(key), load_certificates(cert)[0]


def signed(head: Header, signer) -> bytes:
    return pack(document_xml(a_dispute()), head, *signer)


def test_a_signed_dispute_passes_the_whole_check(insured_city) -> None:
    dispute = a_dispute()
    head = replace(dispute_header(), serial=dispute.serial, created=datetime.now(timezone.utc).replace(microsecond=0))
    result = check_message(signed(head, insured_city), TrustStore({INSURED: [insured_city[1]]}))
    assert result.valid, result.findings
    assert result.header.type is MessageType.DISPUTE and result.document.disputed_serial == dispute.disputed_serial


def test_a_dispute_names_its_message_and_goes_city_to_city(insured_city) -> None:
    dispute = a_dispute()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    trust = TrustStore({INSURED: [insured_city[1]]})
    bare = replace(dispute_header(), serial=dispute.serial, created=now, reply_to=None, reply_to_sha256=None)
    assert "envelope.in_reply_to" in check_message(signed(bare, insured_city), trust).codes
    to_gateway = replace(dispute_header(), serial=dispute.serial, created=now, receiver="370000")
    assert "envelope.direction" in check_message(signed(to_gateway, insured_city), trust).codes
