"""The envelope in XML: header in and out, packing a document into a signed message, and file names.

The header says who sends what to whom (gateway.domain.envelope.Header); the body is one settlement document
root; the signature covers both. The schema is xsd/envelope.xsd; docs/protocol.md is the prose version.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone

from cryptography import x509
from lxml import etree

from gateway.documents import safe_xml
from gateway.documents.keys import SigningKey
from gateway.documents.signature import sign
from gateway.domain.envelope import Header, MessageType
from gateway.domain.findings import Finding, Phrase, Refused, phrase

ENVELOPE_NS = "urn:ltcgw:envelope:1"
SETTLEMENT_NS = "urn:ltcgw:settlement:1"
CHINA_TIME = timezone(timedelta(hours=8), "CST")  # the platform's timestamps are Beijing time (no DST)

# The document root each message type carries in its Body.
BODY_ROOTS: dict[MessageType, str] = {
    MessageType.A1: "FacilityClaim",
    MessageType.A2: "PersonStatement",
    MessageType.A3: "CityClaim",
    MessageType.A4: "CitySettlement",
    MessageType.A5: "FacilitySettlement",
    MessageType.ACK: "Ack",
    MessageType.NACK: "Nack",
    MessageType.RECEIPT: "Receipt",
    MessageType.DISPUTE: "Dispute",
    MessageType.DISPUTE_ANSWER: "DisputeAnswer",
    MessageType.PAYMENT: "PaymentAdvice",
    MessageType.REFUND: "RecoveryRefund",
    # entitlement documents
    MessageType.ENTITLEMENT: "EntitlementNotice",
    MessageType.CHANGE_FILING: "ChangeFiling",
    MessageType.ASSESSMENT_REQUEST: "AssessmentRequest",
    MessageType.ASSESSMENT_RESULT: "AssessmentResult",
}

_FIELDS = ("MessageId", "Type", "Sender", "Receiver", "Period", "Serial", "Revision", "Created")
_SAFE_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z\-]{0,63}")
_SERIAL = re.compile(r"[0-9A-Za-z\-]{1,40}")
_AREA = re.compile(r"\d{6}")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _q(name: str) -> str:
    return f"{{{ENVELOPE_NS}}}{name}"


def new_message_id(sender: str, now: datetime | None = None) -> str:
    """A fresh id after the national platform's msgid: sender code + yyyyMMddHHmmss (Beijing time) + 8 random
    hex digits, e.g. 37030020261125144100A1B2C3D4. Letters and digits only, so it is safe in file names."""
    moment = (now or datetime.now(timezone.utc)).astimezone(CHINA_TIME)
    return f"{sender}{moment:%Y%m%d%H%M%S}{secrets.token_hex(4).upper()}"


def body_of(root: etree._Element) -> etree._Element | None:
    """The document root inside the message's Body (None when there is none)."""
    body = root.find(_q("Body"))
    if body is None:
        return None
    return next(iter(body.iterchildren(etree.Element)), None)


def read_header(root: etree._Element) -> Header:
    """The header of message `root`, or Refused with one envelope.* finding per problem found."""
    findings: list[Finding] = []

    def problem(code: str, template: str, node: etree._Element | None, /, **values) -> None:
        findings.append(Finding(code, template, (node if node is not None else root).sourceline, **values))

    if root.tag != _q("Message"):
        raise Refused(
            Finding(
                "envelope.root", "the root element must be Message in namespace {namespace}", line=root.sourceline,
                namespace=ENVELOPE_NS,
            )
        )
    header = root.find(_q("Header"))
    if header is None:
        raise Refused(Finding("envelope.header", "the message has no Header", line=root.sourceline))
    values: dict[str, str] = {}
    nodes: dict[str, etree._Element] = {}
    for name in _FIELDS:
        node = header.find(_q(name))
        if node is None or not (node.text or "").strip():
            problem("envelope.missing", "the Header has no {element}", node if node is not None else header, element=name)
            continue
        values[name], nodes[name] = node.text.strip(), node

    def check(name: str, pattern: re.Pattern[str], code: str, what: Phrase) -> None:
        if name in values and not pattern.fullmatch(values[name]):
            problem(code, "Header {element} must be {what}", nodes[name], element=name, what=what)

    check("MessageId", _SAFE_NAME, "envelope.message_id",
          phrase("letters, digits and '-' (at most 64), starting with one"))
    check("Sender", _AREA, "envelope.area", phrase("a six-digit area code"))
    check("Receiver", _AREA, "envelope.area", phrase("a six-digit area code"))
    check("Period", _MONTH, "envelope.period", phrase("a month written YYYY-MM"))
    check("Serial", _SERIAL, "envelope.serial", phrase("letters, digits and '-' (at most 40)"))
    kind = revision = created = None
    if "Type" in values:
        try:
            kind = MessageType(values["Type"])
        except ValueError:
            kinds = ", ".join(t.value for t in MessageType)
            problem("envelope.type", "Header Type must be one of {types}", nodes["Type"], types=kinds)
    if "Revision" in values:
        revision = int(values["Revision"]) if values["Revision"].isdigit() else 0
        if revision < 1:
            problem("envelope.revision", "Header Revision must be a whole number from 1", nodes["Revision"])
    if "Created" in values:
        created = _parse_moment(values["Created"])
        if created is None:
            problem("envelope.created", "Header Created must be a date and time with its offset, e.g. "
                    "2026-11-05T09:30:00+08:00", nodes["Created"])
    reply_to, reply_sha = _read_reply_to(header, problem)
    if findings:
        raise Refused(*findings)
    assert kind is not None and revision is not None and created is not None
    return Header(
        message_id=values["MessageId"],
        type=kind,
        sender=values["Sender"],
        receiver=values["Receiver"],
        period=values["Period"],
        serial=values["Serial"],
        revision=revision,
        created=created,
        reply_to=reply_to,
        reply_to_sha256=reply_sha,
    )


def _read_reply_to(header: etree._Element, problem) -> tuple[str | None, str | None]:
    node = header.find(_q("InReplyTo"))
    if node is None:
        return None, None
    answered, sha = node.get("id"), node.get("sha256")
    if answered is not None and not _SAFE_NAME.fullmatch(answered):
        problem("envelope.in_reply_to", "InReplyTo id must be a message id (letters, digits and '-')", node)
    if sha is None or not _SHA256.fullmatch(sha):
        problem("envelope.in_reply_to", "InReplyTo sha256 must be 64 lowercase hex digits", node)
    return answered, sha


def _parse_moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def header_lines(root: etree._Element) -> dict[str, int | None]:
    """The line of the Header and of each of its fields (by local name), to point findings at them."""
    header = root.find(_q("Header"))
    if header is None:
        return {}
    lines = {etree.QName(node).localname: node.sourceline for node in header.iterchildren(etree.Element)}
    return {"Header": header.sourceline, **lines}


def peek_sender(root: etree._Element) -> str | None:
    """The Sender written in an unverified message: only to pick whose pinned certificates to try."""
    node = root.find(f"{_q('Header')}/{_q('Sender')}")
    text = (node.text or "").strip() if node is not None else ""
    return text if _AREA.fullmatch(text) else None


def header_element(header: Header) -> etree._Element:
    """The Header element for `header` (in the envelope namespace)."""
    element = etree.Element(_q("Header"), nsmap={None: ENVELOPE_NS})
    created = header.created if header.created.tzinfo else header.created.replace(tzinfo=CHINA_TIME)
    for name, value in (
        ("MessageId", header.message_id),
        ("Type", header.type.value),
        ("Sender", header.sender),
        ("Receiver", header.receiver),
        ("Period", header.period),
        ("Serial", header.serial),
        ("Revision", str(header.revision)),
        ("Created", created.isoformat(timespec="seconds")),
    ):
        etree.SubElement(element, _q(name)).text = value
    if header.reply_to_sha256 is not None:
        reply = etree.SubElement(element, _q("InReplyTo"))
        if header.reply_to is not None:
            reply.set("id", header.reply_to)
        reply.set("sha256", header.reply_to_sha256)
    return element


def pack(
    document: etree._Element | etree._ElementTree | bytes, header: Header, key: SigningKey, cert: x509.Certificate
) -> bytes:
    """The signed message carrying `document` under `header`, as bytes ready to deliver.

    Refuses (envelope.body) a document whose root is not the one the header's Type carries. Rules and schema
    are the receiver's checks: a city may pack a faulty document and learn from the NACK what is wrong.
    """
    if isinstance(document, bytes):
        document = safe_xml.parse(document)
    if isinstance(document, etree._ElementTree):
        document = document.getroot()
    expected = BODY_ROOTS[header.type]
    if document.tag != f"{{{SETTLEMENT_NS}}}{expected}":
        raise Refused(
            Finding(
                "envelope.body",
                "a {type} message carries a {expected} document, not {found}",
                type=header.type.value, expected=expected, found=etree.QName(document).localname,
            )
        )
    message = etree.Element(_q("Message"), nsmap={None: ENVELOPE_NS})
    message.append(header_element(header))
    body = etree.SubElement(message, _q("Body"))
    body.append(_copy(document))
    etree.indent(message)  # only whitespace between elements changes; values stay as they are
    message[-1].tail = "\n"  # the signature goes on its own line
    return sign(message, key, cert)


def _copy(document: etree._Element) -> etree._Element:
    # A detached copy re-declares only the namespaces it uses (no leftovers from the document's own tree).
    return etree.fromstring(
        etree.tostring(document, with_tail=False), parser=etree.XMLParser(resolve_entities=False, no_network=True)
    )


def file_name(header: Header) -> str:
    """The canonical file name of a message, from its header alone (documented in docs/protocol.md).

    Attachments and disputes: TYPE_SENDER_RECEIVER_PERIOD_SERIAL_rREVISION_ID.xml, e.g.
    A3_370300_370100_2026-10_ZB202610001_r1_37030020261125144100A1B2C3D4.xml. Replies: see reply_file_name.
    """
    if header.type.is_reply:
        return reply_file_name(header.type, header.reply_to, header.reply_to_sha256)
    for value, pattern in (
        (header.sender, _AREA), (header.receiver, _AREA), (header.period, _MONTH), (header.serial, _SERIAL),
        (header.message_id, _SAFE_NAME),
    ):
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} cannot go into a file name")
    return (
        f"{header.type.value}_{header.sender}_{header.receiver}_{header.period}_{header.serial}"
        f"_r{header.revision}_{header.message_id}.xml"
    )


def reply_file_name(kind: MessageType, answered_id: str | None, answered_sha256: str | None) -> str:
    """A reply is named after what it answers, so that rewriting it after a crash lands on the same name:
    ACK_<answered id>.xml, RECEIPT_<answered id>.xml, NACK_<answered id>.xml, or NACK_<first 16 hex digits of
    the answered file's SHA-256>.xml when the answered file had no readable id."""
    answered = answered_id or (answered_sha256 or "")[:16]
    if not _SAFE_NAME.fullmatch(answered):
        raise ValueError("a reply's file name needs the answered message's id or SHA-256")
    return f"{kind.value}_{answered}.xml"
