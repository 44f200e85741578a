"""The replies: the gateway's ACK and NACK to a sender, a receiving city's RECEIPT.

Each answers one message by its id and the SHA-256 of its bytes as received (Header InReplyTo), so that a
reply cannot be mistaken for the answer to another revision or a resend with different bytes. Replies are
signed messages like any other (ACK/NACK under the gateway's own area code), carry no personal data, and
are named after what they answer (envelope.file_name), so rewriting one after a crash lands on the same name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from hashlib import sha256

from cryptography import x509

from gateway.documents import safe_xml
from gateway.documents.envelope import CHINA_TIME, new_message_id, pack, read_header
from gateway.documents.keys import SigningKey
from gateway.documents.writer import document_xml
from gateway.domain.areas import GATEWAY_AREA
from gateway.domain.envelope import Header, MessageType
from gateway.domain.findings import Finding
from gateway.domain.settlement import Ack, Nack, NackError, Receipt
from gateway.i18n import DEFAULT_LANGUAGE

ACCEPTED, REJECTED = "accepted", "rejected"
NOTE_LIMIT = 1000  # replies.xsd Note
NACK_ERROR_LIMIT = 500  # a NACK lists this many errors, then says how many more there were


def _reply_header(
    kind: MessageType, sender: str, receiver: str, answered: Header | None, answered_sha256: str, *,
    period: str | None = None, now: datetime | None = None,
) -> Header:
    moment = now or datetime.now(timezone.utc)
    return Header(
        message_id=new_message_id(sender, moment),
        type=kind,
        sender=sender,
        receiver=receiver,
        period=answered.period if answered else (period or f"{moment.astimezone(CHINA_TIME):%Y-%m}"),
        serial=answered.serial if answered else answered_sha256[:16],
        revision=answered.revision if answered else 1,
        created=moment.astimezone(CHINA_TIME).replace(microsecond=0),
        reply_to=answered.message_id if answered else None,
        reply_to_sha256=answered_sha256,
    )


def _clip(text: str) -> str:
    return text if len(text) <= NOTE_LIMIT else text[: NOTE_LIMIT - 1] + "…"


def make_ack(
    answered: Header, answered_sha256: str, *, key: SigningKey, cert: x509.Certificate,
    gateway_code: str = GATEWAY_AREA, note: str | None = None, now: datetime | None = None,
) -> bytes:
    """The gateway's signed ACK: `answered` passed every check and goes to its receiver."""
    header = _reply_header(MessageType.ACK, gateway_code, answered.sender, answered, answered_sha256, now=now)
    body = Ack(delivered_to=answered.receiver, note=_clip(note) if note else None)
    return pack(document_xml(body), header, key, cert)


def make_nack(
    answered: Header | None, answered_sha256: str, findings: Sequence[Finding], *, key: SigningKey,
    cert: x509.Certificate, gateway_code: str = GATEWAY_AREA, original_name: str | None = None,
    sender: str | None = None, period: str | None = None, now: datetime | None = None, lang: str = DEFAULT_LANGUAGE,
) -> bytes:
    """The gateway's signed NACK listing every finding (capped at NACK_ERROR_LIMIT, then a count), each with its
    stable code and its message in `lang` (the receiving city's `language`: "zh-CN" or "en").

    `answered` is the header as far as it could be read (None for an unreadable file): then `sender` (the
    city whose drop the file came from) is the NACK's receiver and `period` its month (default: this month).
    """
    if answered is None and sender is None:
        raise ValueError("a NACK of an unreadable file needs the sender (the city whose drop it came from)")
    receiver = answered.sender if answered else sender
    assert receiver is not None
    header = _reply_header(
        MessageType.NACK, gateway_code, receiver, answered, answered_sha256, period=period, now=now
    )
    listed = list(findings[:NACK_ERROR_LIMIT]) or [Finding("check.failed", "the message was refused")]
    if len(findings) > NACK_ERROR_LIMIT:
        listed.append(Finding("nack.more", "{count} more errors are not listed", count=len(findings) - NACK_ERROR_LIMIT))
    body = Nack(
        errors=[NackError(f.code, _clip(f.text(lang)), f.line or None, f.path[:500] if f.path else None)
                for f in listed],
        original_name=original_name[:255] if original_name else None,
    )
    return pack(document_xml(body), header, key, cert)


def make_receipt(
    answered: bytes | Header, *, key: SigningKey, cert: x509.Certificate, reject_reason: str | None = None,
    answered_sha256: str | None = None, now: datetime | None = None,
) -> bytes:
    """A receiving city's signed RECEIPT for a delivered message: accepted, or rejected with a reason.

    `answered` is the delivered file's bytes (its header is read and its SHA-256 taken) or its header
    together with `answered_sha256`. The receipt goes from the answered message's receiver to its sender.
    """
    if isinstance(answered, bytes):
        answered_sha256 = sha256(answered).hexdigest()
        answered = read_header(safe_xml.parse(answered).getroot())
    if answered_sha256 is None:
        raise ValueError("a receipt for a header needs the SHA-256 of the answered bytes")
    header = _reply_header(
        MessageType.RECEIPT, answered.receiver, answered.sender, answered, answered_sha256, now=now
    )
    status = REJECTED if reject_reason else ACCEPTED
    body = Receipt(status=status, reason=_clip(reject_reason) if reject_reason else None)
    return pack(document_xml(body), header, key, cert)
