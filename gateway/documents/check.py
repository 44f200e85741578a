"""The one check of a message, used by `ltcgw verify` and by the daemon alike.

Stages, each on what the previous one established: size → safe parse → the unsigned Sender (only to know
whose certificates to try) → signature against that sender's pinned certificates → header from the SIGNED
content → envelope schema → header consistency → document model → settlement rules. Every finding that can
be collected is (a clerk fixes a file in one round), but nothing is read from content the signature does not
cover: after a signature failure the unsigned header is returned only to address the NACK.

The bytes are parsed once and every step shares that tree: our verifier digests it in place
(gateway.documents.xmldsig_strict), and what the signature covers is the same tree without its signature,
which the header, schema, reader and rules read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256 as sha256_of
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from gateway.documents import safe_xml, schema
from gateway.documents.envelope import body_of, header_lines, peek_sender, read_header
from gateway.documents.keys import Algorithm, certificate_fingerprint, load_certificates
from gateway.documents.sm2 import DEFAULT_USER_ID
from gateway.documents.reader import read_document
from gateway.documents.signature import verify_message
from gateway.domain.areas import GATEWAY_AREA, KNOWN_AREAS, PROVINCIAL_POOLS
from gateway.domain.envelope import Header, MessageType
from gateway.domain.findings import Finding, Refused
from gateway.domain.rules import check_document


# Care-service types: one list for all, or per residence city; None: whatever the schema allows.
ServiceTypes = Collection[str] | Mapping[str, Collection[str] | None] | None


class TrustStore:
    """The certificates pinned for each area code (several during a key rollover); picklable for worker
    processes. Only these are ever trusted: a certificate inside a message is not.

    Per area also the signature algorithm families it may use (absent: any) and its SM2 signer id (absent:
    the standard 1234567812345678), both from the city's config."""

    def __init__(
        self,
        pinned: Mapping[str, Iterable[x509.Certificate]] | None = None,
        *,
        algorithms: Mapping[str, Iterable[Algorithm]] | None = None,
        sm2_user_ids: Mapping[str, bytes] | None = None,
    ) -> None:
        self._pinned: dict[str, tuple[x509.Certificate, ...]] = {}
        for area, certificates in (pinned or {}).items():
            self.add(area, certificates)
        self._algorithms = {area: tuple(names) for area, names in (algorithms or {}).items()}
        self._sm2_user_ids = dict(sm2_user_ids or {})

    @classmethod
    def from_files(cls, files: Mapping[str, str | Path | Iterable[str | Path]]) -> TrustStore:
        """From PEM files per area code (one path or several); each file may hold several certificates."""
        store = cls()
        for area, paths in files.items():
            for path in [paths] if isinstance(paths, (str, Path)) else paths:
                store.add(area, load_certificates(path))
        return store

    def add(self, area: str, certificates: Iterable[x509.Certificate]) -> None:
        known = self._pinned.get(area, ())
        self._pinned[area] = known + tuple(cert for cert in certificates if cert not in known)

    def certificates(self, area: str) -> tuple[x509.Certificate, ...]:
        return self._pinned.get(area, ())

    def algorithms(self, area: str) -> tuple[Algorithm, ...] | None:
        """The families `area` may sign with; None when not limited."""
        return self._algorithms.get(area)

    def sm2_user_id(self, area: str) -> bytes:
        return self._sm2_user_ids.get(area, DEFAULT_USER_ID)

    @property
    def areas(self) -> frozenset[str]:
        return frozenset(self._pinned)

    def __getstate__(self) -> dict[str, Any]:
        pinned = {
            area: [cert.public_bytes(serialization.Encoding.DER) for cert in certs]
            for area, certs in self._pinned.items()
        }
        return {"pinned": pinned, "algorithms": self._algorithms, "sm2_user_ids": self._sm2_user_ids}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._pinned = {
            area: tuple(x509.load_der_x509_certificate(der) for der in ders) for area, ders in state["pinned"].items()
        }
        self._algorithms = state["algorithms"]
        self._sm2_user_ids = state["sm2_user_ids"]

    def __repr__(self) -> str:
        return f"TrustStore({ {area: len(certs) for area, certs in self._pinned.items()} })"


@dataclass(slots=True)
class CheckResult:
    """Everything the check established about one file. Plain data (no lxml): picklable."""

    valid: bool
    sha256: str  # hex SHA-256 of the bytes as received
    size: int
    header: Header | None = None  # from the signed content when header_trusted; else best effort, or None
    header_trusted: bool = False  # False: use the header only to address a NACK
    findings: list[Finding] = field(default_factory=list)  # every problem, with its line where known
    document: Any = None  # the document model (A1–A5, or the Ack/Nack/Receipt of a reply)
    certificate_sha256: str | None = None  # the pinned certificate the signature matched
    summary: Any = None  # the register's compact view of the document (adapters/checker.py; no names, no ID numbers)

    @property
    def codes(self) -> list[str]:
        return [finding.code for finding in self.findings]


def check_message(
    data: bytes,
    trust: TrustStore,
    *,
    now: datetime | None = None,
    max_bytes: int = safe_xml.DEFAULT_MAX,
    service_types: ServiceTypes = None,
    known_areas: Collection[str] | None = None,
    gateway_code: str = GATEWAY_AREA,
) -> CheckResult:
    """Check one received file completely; never raises for anything wrong with the file itself.

    `now` is the moment certificates must be valid at (default: now; pass the receipt time to re-check an
    old message). `known_areas` defaults to the Shandong cities and the provincial pools. `service_types`
    is one list for every city, or a mapping residence city → its list (the catalogue is the residence
    city's, 居住地目录), None meaning every type the schema allows. `gateway_code` is the area ACK and NACK
    are signed under.
    """
    result = CheckResult(valid=False, sha256=sha256_of(data).hexdigest(), size=len(data))
    try:
        tree = safe_xml.parse(data, max_bytes=max_bytes)
    except Refused as refused:
        result.findings.extend(refused.findings)
        return result
    raw_root = tree.getroot()
    result.header, unsigned_findings = _header_or_findings(raw_root)
    sender = peek_sender(raw_root)
    if sender is None:
        result.findings.extend(unsigned_findings or [Finding("envelope.missing", "the Header has no Sender")])
        return result
    try:
        verified = verify_message(
            data, trust.certificates(sender), at=now, tree=tree, algorithms=trust.algorithms(sender),
            sm2_user_id=trust.sm2_user_id(sender),
        )
    except Refused as refused:
        result.findings.extend(refused.findings)
        return result
    del tree, raw_root  # from here on only the signed content counts
    signed = verified.root
    result.certificate_sha256 = certificate_fingerprint(verified.certificate)
    result.header, header_findings = _header_or_findings(signed)
    result.header_trusted = result.header is not None
    schema_findings = schema.validate(signed, schema="envelope")
    covered = {finding.line for finding in schema_findings}
    result.findings.extend(schema_findings)
    result.findings.extend(f for f in header_findings if f.line not in covered)
    if result.header is not None:
        areas = set(KNOWN_AREAS if known_areas is None else known_areas)
        result.findings.extend(_consistency(result.header, signed, areas, gateway_code))
    if not schema_findings and result.header is not None:
        result.document, document_findings = _read_and_check(signed, result.header, service_types, known_areas)
        result.findings.extend(document_findings)
    result.valid = not result.findings
    return result


def _header_or_findings(root: etree._Element) -> tuple[Header | None, list[Finding]]:
    try:
        return read_header(root), []
    except Refused as refused:
        return None, list(refused.findings)


def _consistency(header: Header, root: etree._Element, areas: set[str], gateway_code: str) -> list[Finding]:
    """What the schema cannot say about a header: its parties, their direction, InReplyTo on replies and
    disputes only.

    (Type against the body's root is the rules' envelope.type: they compare the document with its header.)
    """
    lines = header_lines(root)
    findings: list[Finding] = []

    def add(code: str, template: str, field: str, /, **values) -> None:
        findings.append(Finding(code, template, lines.get(field, lines.get("Header")), **values))

    if header.sender == header.receiver:
        add("envelope.same_area", "Sender and Receiver are the same area", "Receiver")
    for role, code in (("Sender", header.sender), ("Receiver", header.receiver)):
        if code not in areas and code != gateway_code:
            add("envelope.unknown_area", "{role} {code} is not an area the gateway serves", role, role=role, code=code)
    kind = header.type.value
    if header.type.is_city_document:  # an attachment (A1–A5), an entitlement document, a payment or refund
        if header.reply_to_sha256 is not None:
            add("envelope.in_reply_to", "only replies (ACK, NACK, RECEIPT) and disputes carry InReplyTo", "InReplyTo")
        if gateway_code in (header.sender, header.receiver):
            add("envelope.direction", "settlement documents go from city to city, not to or from the gateway", "Type")
        elif header.residence_city in PROVINCIAL_POOLS:
            role = "Sender" if header.residence_city == header.sender else "Receiver"
            add("envelope.direction", "an {type} has the residence city (居住地) as its {role}, and {city} is an "
                "insurance pool, not a city where care is given: check Sender, Receiver and Type", role, type=kind,
                role=role, city=header.residence_city)
        return findings
    if header.reply_to_sha256 is None:
        add("envelope.in_reply_to", "a {type} must name the message it answers (InReplyTo)", "Header", type=kind)
    if header.type.is_dispute or header.type.is_withdrawal:
        if gateway_code in (header.sender, header.receiver):
            add("envelope.direction", "a {type} goes from city to city, not to or from the gateway", "Type", type=kind)
        return findings
    from_gateway = header.type in (MessageType.ACK, MessageType.NACK)
    if from_gateway and header.sender != gateway_code:
        add("envelope.direction", "only the gateway ({gateway}) sends {type}", "Sender", gateway=gateway_code, type=kind)
    if not from_gateway and gateway_code in (header.sender, header.receiver):
        add("envelope.direction", "a RECEIPT goes from the receiving city to the sending city, not to or from "
            "the gateway", "Sender")
    return findings


def _read_and_check(
    root: etree._Element, header: Header, service_types: ServiceTypes, known_areas: Collection[str] | None
) -> tuple[Any, list[Finding]]:
    document = body_of(root)
    if document is None:
        return None, []
    try:
        model = read_document(document)
    except Refused as refused:
        return None, list(refused.findings)
    options: dict[str, Any] = {}
    if isinstance(service_types, Mapping):
        service_types = service_types.get(header.residence_city) if header.type.is_city_document else None
    if service_types is not None:
        options["service_types"] = service_types
    if known_areas is not None:
        options["known_areas"] = known_areas
    return model, list(check_document(model, header, **options))
