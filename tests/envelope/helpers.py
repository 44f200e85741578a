"""Helpers of the envelope tests: real keys, hand-written and sample messages, really signed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from lxml import etree

from gateway.documents.envelope import SETTLEMENT_NS, new_message_id, pack
from gateway.documents.keys import SigningKey, generate_keys, load_certificates, load_private_key
from gateway.domain.envelope import Header, MessageType


@dataclass(frozen=True)
class Party:
    code: str
    key: SigningKey
    cert: x509.Certificate
    key_path: Path
    cert_path: Path


def make_party(code: str, folder: Path, algorithm: str = "rsa", **options) -> Party:
    key_path, cert_path = generate_keys(code, folder, algorithm=algorithm, **options)
    return Party(code, load_private_key(key_path), load_certificates(cert_path)[0], key_path, cert_path)


def claim_header(sender: str = "370300", receiver: str = "370100", **changes) -> Header:
    values = dict(
        message_id=new_message_id(sender),
        type=MessageType.A3,
        sender=sender,
        receiver=receiver,
        period="2026-10",
        serial="ZB202610-001",
        revision=1,
        created=datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc),
    )
    values.update(changes)
    return Header(**values)


# A hand-written stand-in for a city claim: the signature does not care whether the body is schema-valid.
CLAIM_BODY = f"""<CityClaim xmlns="{SETTLEMENT_NS}">
  <Serial>ZB202610-001</Serial>
  <Period>2026-10</Period>
  <Note>居家护理 first line
second line</Note>
  <Total><Claimed>1234.56</Claimed></Total>
</CityClaim>""".encode()


def signed_claim(party: Party, body: bytes = CLAIM_BODY, **header_changes) -> bytes:
    header = claim_header(**{"sender": party.code, **header_changes})
    return pack(etree.fromstring(body), header, party.key, party.cert)


def packed_sample(party: Party, *, persons: int = 15, edit=None, kind: str = "A3", receiver: str = "370100",
                  **header_changes) -> bytes:
    """A real sample document of `kind` from `party`, optionally edited (bytes -> bytes) before signing."""
    from gateway.documents.sample import sample_bytes

    document = sample_bytes(kind, party.code, receiver, "2026-10", persons=persons, seed=7)
    if edit is not None:
        document = edit(document)
    root = etree.fromstring(document)
    serial = root.findtext(f"{{{SETTLEMENT_NS}}}Serial")
    header = claim_header(
        **{"sender": party.code, "receiver": receiver, "type": MessageType(kind), "serial": serial, **header_changes}
    )
    return pack(root, header, party.key, party.cert)
