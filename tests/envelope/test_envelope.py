"""Header in and out of XML, packing, file names, message ids; keys on disk."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from gateway.documents.envelope import (
    ENVELOPE_NS,
    SETTLEMENT_NS,
    file_name,
    header_element,
    new_message_id,
    pack,
    read_header,
    reply_file_name,
)
from gateway.documents.keys import KeyFileError, generate_keys, load_certificates, load_private_key
from gateway.domain.envelope import MessageType
from gateway.domain.findings import Refused

from tests.envelope.helpers import CLAIM_BODY, claim_header


def message(header_xml: str) -> etree._Element:
    text = f'<Message xmlns="{ENVELOPE_NS}">\n<Header>\n{header_xml}</Header><Body/></Message>'
    return etree.fromstring(text.encode())


def test_header_round_trip_including_in_reply_to():
    header = claim_header(type=MessageType.ACK, reply_to="37030020261120093000ABCDEF01", reply_to_sha256="ab" * 32)
    root = etree.Element(f"{{{ENVELOPE_NS}}}Message")
    root.append(header_element(header))
    assert read_header(root) == header


def test_read_header_lists_every_problem_with_its_line():
    root = message(
        "<MessageId>ok-1</MessageId>\n<Type>A9</Type>\n<Sender>3703</Sender>\n<Receiver>370100</Receiver>\n"
        "<Period>2026-13</Period>\n<Serial>S1</Serial>\n<Revision>0</Revision>\n"
        "<Created>2026-11-20T09:30:00</Created>\n"
        '<InReplyTo sha256="XYZ"/>\n'
    )
    with pytest.raises(Refused) as caught:
        read_header(root)
    found = {(f.code, f.line) for f in caught.value.findings}
    assert found == {
        ("envelope.type", 4), ("envelope.area", 5), ("envelope.period", 7), ("envelope.revision", 9),
        ("envelope.created", 10), ("envelope.in_reply_to", 11),
    }


def test_read_header_names_missing_fields_and_a_wrong_root():
    with pytest.raises(Refused) as caught:
        read_header(message("<MessageId>x</MessageId>\n"))
    missing = [f.message for f in caught.value.findings if f.code == "envelope.missing"]
    assert len(missing) == 7 and any("Created" in m for m in missing)
    with pytest.raises(Refused) as caught:
        read_header(etree.fromstring(b"<Message/>"))
    assert caught.value.findings[0].code == "envelope.root"


def test_new_message_id_follows_the_platform_style_and_is_file_name_safe():
    moment = datetime(2026, 11, 25, 6, 41, 0, tzinfo=timezone.utc)  # 14:41 in Beijing
    first, second = new_message_id("370300", moment), new_message_id("370300", moment)
    assert re.fullmatch(r"37030020261125144100[0-9A-F]{8}", first)
    assert first != second


def test_file_names():
    header = claim_header(message_id="37030020261125144100A1B2C3D4", serial="ZB-1", revision=2)
    assert file_name(header) == "A3_370300_370100_2026-10_ZB-1_r2_37030020261125144100A1B2C3D4.xml"
    ack = claim_header(type=MessageType.ACK, reply_to="37030020261125144100A1B2C3D4", reply_to_sha256="c" * 64)
    assert file_name(ack) == "ACK_37030020261125144100A1B2C3D4.xml"
    assert reply_file_name(MessageType.NACK, None, "0123456789abcdef" * 4) == "NACK_0123456789abcdef.xml"
    with pytest.raises(ValueError):
        file_name(claim_header(serial="../../etc/passwd"))


def test_pack_refuses_a_body_that_is_not_the_types_document(parties):
    with pytest.raises(Refused) as caught:
        pack(etree.fromstring(CLAIM_BODY), claim_header(type=MessageType.A4), parties["zibo"].key, parties["zibo"].cert)
    assert caught.value.findings[0].code == "envelope.body"


def test_pack_accepts_bytes_and_keeps_values_as_they_are(parties):
    data = pack(CLAIM_BODY, claim_header(), parties["zibo"].key, parties["zibo"].cert)
    assert "居家护理 first line\nsecond line".encode() in data
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<Message")
    assert f'<CityClaim xmlns="{SETTLEMENT_NS}">'.encode() in data


# --- keys ---------------------------------------------------------------------------------------------------


def test_generated_key_is_private_and_the_certificate_names_the_area(tmp_path):
    key_path, cert_path = generate_keys("370300", tmp_path, algorithm="ecdsa", days=30)
    assert (key_path.name, cert_path.name) == ("370300.key.pem", "370300.crt.pem")
    assert os.stat(key_path).st_mode & 0o777 == 0o600
    (cert,) = load_certificates(cert_path)
    subject = cert.subject.rfc4514_string()
    assert "CN=370300" in subject and "淄博市" in subject
    assert timedelta(days=29) < cert.not_valid_after_utc - datetime.now(timezone.utc) <= timedelta(days=30)
    load_private_key(key_path)
    with pytest.raises(KeyFileError, match="already exists"):
        generate_keys("370300", tmp_path)


def test_readable_or_linked_private_keys_are_refused(tmp_path):
    key_path, _ = generate_keys("370100", tmp_path)
    os.chmod(key_path, 0o640)
    with pytest.raises(KeyFileError, match=rf"chmod 600 {re.escape(str(key_path))}"):
        load_private_key(key_path)
    os.chmod(key_path, 0o600)
    link = tmp_path / "link.pem"
    link.symlink_to(key_path)
    with pytest.raises(KeyFileError, match="not a regular file"):
        load_private_key(link)
    with pytest.raises(KeyFileError, match="cannot read"):
        load_private_key(tmp_path / "missing.pem")


def test_a_certificate_file_may_hold_several(tmp_path):
    _, first = generate_keys("370300", tmp_path / "old")
    _, second = generate_keys("370300", tmp_path / "new")
    both = tmp_path / "370300.pem"
    both.write_bytes(first.read_bytes() + second.read_bytes())
    assert len(load_certificates(both)) == 2
    (tmp_path / "empty.pem").write_text("nothing here")
    with pytest.raises(KeyFileError):
        load_certificates(tmp_path / "empty.pem")
