"""The check of a large message in one streamed pass, in memory a few times the file instead of the tree's.

One lxml iterparse pass (safe_xml's parser settings) does what the tree path (gateway.documents.check) does on
the whole tree: the envelope schema validates as the elements arrive; the canonical form of everything but the
enveloped ds:Signature is written to the reference's digest as it is parsed (gateway.documents.c14n_stream);
each person statement (附件2 rows of an A3) and facility claim is read into the model as it ends and dropped
from the tree. What remains is a skeleton: the header, the document's own fields and the small ds:Signature,
whose SignedInfo is then verified against the pinned certificates (gateway.documents.xmldsig_strict, the tree's own verifier) and its
DigestValue compared with the digest computed. Only then is anything read from the content used, exactly as
the tree path uses it (check.finish): same findings, same model.

The digest's canonicalization and hash are named by the signature, which ends the file: they are guessed from
its last bytes before the pass and the guess is checked against the parsed signature after it. Whatever the
stream cannot decide exactly returns None and the caller checks the tree instead: a guess that was wrong, a
schema or syntax error (libxml2's streamed validation stops at the first, without the line and path the tree
gives), a processing instruction, a signature elsewhere than the root's direct child, an undecodable value.
tests/envelope/test_check_stream.py holds the two paths to the same result.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timezone
from hashlib import sha256 as sha256_of
from typing import Any

from lxml import etree

from gateway.documents import safe_xml, schema, xmldsig, xmldsig_strict
from gateway.documents.c14n_stream import CanonicalWriter, Unsupported
from gateway.documents.check_outcome import CheckResult, ServiceTypes, TrustStore, finish, header_or_findings
from gateway.documents.envelope import peek_sender
from gateway.documents.reader import NS as SETTLEMENT_NS
from gateway.documents.reader import read_document, read_facility_claim, read_statement
from gateway.domain.areas import GATEWAY_AREA
from gateway.domain.findings import Finding, Phrase, Refused, phrase
from gateway.domain import settlement as m

_S = "{" + SETTLEMENT_NS + "}"
SIGNATURE = xmldsig.ds("Signature")
# Records read as they end and dropped: (their tag, their list's tag, the document's tag) → reader.
_RECORDS = {
    (_S + "PersonStatement", _S + "PersonStatements", _S + "CityClaim"): read_statement,
    (_S + "FacilityClaim", _S + "FacilityClaims", _S + "CityClaim"): read_facility_claim,
}
_RECORD_TAGS = frozenset(tag for tag, _, _ in _RECORDS)
_RECORD_DEPTH = 4  # Message / Body / CityClaim / PersonStatements / PersonStatement

_HASHES = {
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
    **{uri: "sm3" for uri in xmldsig.SM2_DIGEST_METHODS},
}
_TAIL = 64 * 1024  # the signature is at the end; a certificate chain in KeyInfo stays well below this
_ALGORITHM = re.compile(rb"""<(?:[\w.-]+:)?(Transform|DigestMethod)\s[^>]*?Algorithm\s*=\s*["']([^"']*)["']""")
_PREFIX_LIST = re.compile(rb"""PrefixList\s*=\s*["']([^"']*)["']""")


@dataclass(frozen=True, slots=True)
class Profile:
    """How the reference's digest is computed: its canonicalization, PrefixList and hash."""

    c14n: str
    prefixes: tuple[str, ...] | None
    digest: str


def check_streamed(
    data: bytes,
    trust: TrustStore,
    *,
    now: datetime | None = None,
    service_types: ServiceTypes = None,
    known_areas: Collection[str] | None = None,
    gateway_code: str = GATEWAY_AREA,
) -> CheckResult | None:
    """The result `check_message` gives for `data`, found in one streamed pass; None when the tree must decide.

    The caller has checked the size against its limit."""
    profile = guess_profile(data)
    if profile is None:
        return None
    try:
        safe_xml.check_before_parsing(data, max_bytes=len(data))
        passed = _pass(data, profile)
    except (Refused, Unsupported, etree.XMLSyntaxError, ValueError, ArithmeticError, TypeError):
        return None  # a refusal, a schema error or a record the schema would refuse: the tree names it
    if passed is None:
        return None
    root, digest, records = passed
    result = CheckResult(valid=False, sha256=sha256_of(data).hexdigest(), size=len(data))
    try:
        certificate = _signer(result, root, digest, profile, trust, now)
    except _Answered:
        return result
    if certificate is None:
        return None

    def read(document: etree._Element) -> Any:
        model = read_document(document)
        if isinstance(model, m.CityClaim):
            model.statements = records[read_statement]
            model.facility_claims = records[read_facility_claim]
        return model

    return finish(result, root, certificate, [], read, service_types=service_types, known_areas=known_areas,
                  gateway_code=gateway_code)


def guess_profile(data: bytes) -> Profile | None:
    """The digest's canonicalization and hash as the signature at the end of `data` seems to name them (the
    parsed signature confirms it after the pass); None when nothing usable is there."""
    tail = data[-_TAIL:]
    found = [(kind, value.decode("ascii", "replace"), match.end()) for match in _ALGORITHM.finditer(tail)
             for kind, value in [match.groups()]]
    transforms = [(value, end) for kind, value, end in found if kind == b"Transform"]
    digests = [value for kind, value, _ in found if kind == b"DigestMethod"]
    if len(digests) != 1 or digests[0] not in _HASHES or not transforms or transforms[0][0] != xmldsig.ENVELOPED:
        return None
    if len(transforms) == 1:
        return Profile(xmldsig.C14N_10, None, digests[0])
    c14n, end = transforms[1]
    if c14n not in (xmldsig.EXC_C14N, xmldsig.C14N_10):
        return None  # C14N 1.1: lxml renders it as 1.0 and so would we; the tree path decides
    listed = _PREFIX_LIST.search(tail, end, tail.find(b"DigestMethod", end))
    prefixes = tuple(listed.group(1).decode("ascii", "replace").split()) if listed else None
    return Profile(c14n, prefixes if c14n == xmldsig.EXC_C14N else None, digests[0])


def verified_signature(data: bytes, trust: TrustStore, *, now: datetime | None = None):
    """Only the signature, streamed and without the schema: the certificate that signed `data`, Refused(sig.*)
    as signature.verify_message refuses, or None when the tree must decide (the differential tests hold it to
    every verifier on files whose bodies the schema would refuse)."""
    profile = guess_profile(data)
    if profile is None:
        return None
    try:
        safe_xml.check_before_parsing(data, max_bytes=len(data))
        passed = _pass(data, profile, validate=False)
        if passed is None or peek_sender(passed[0]) is None:
            return None
        return _verify(passed[0], passed[1], profile, trust, peek_sender(passed[0]), now)
    except (Unsupported, etree.XMLSyntaxError, ValueError, ArithmeticError, TypeError):
        return None


def _pass(data: bytes, profile: Profile, validate: bool = True) -> tuple[etree._Element, bytes, dict] | None:
    """Parse, validate, digest and read the records; the skeleton left, the digest and the records read.

    Without validation the records are dropped unread (the schema has not vouched for them)."""
    digest = hashlib.new(_HASHES[profile.digest])

    def enveloped(element: etree._Element) -> bool:
        parent = element.getparent()
        return element.tag == SIGNATURE and parent is not None and parent.getparent() is None

    def record(element: etree._Element) -> bool:
        return depth == _RECORD_DEPTH and element.tag in _RECORD_TAGS

    writer = CanonicalWriter(digest.update, exclusive=profile.c14n == xmldsig.EXC_C14N, prefixes=profile.prefixes,
                             skip=enveloped, whole=record)
    records: dict[Any, list] = {reader: [] for reader in _RECORDS.values()}
    shared: dict = {}  # one object per repeated value of the claim's statements (reader.read_statement)
    events = etree.iterparse(io.BytesIO(data), events=("start", "end", "pi"),
                             schema=schema.compiled("envelope") if validate else None,
                             **safe_xml.PARSER_OPTIONS)
    root = None
    depth = 0
    signatures = 0
    done: etree._Element | None = None  # a record read: dropped once the event after it has been written
    start, end = writer.start, writer.end
    for event, element in events:
        if event == "start":
            if root is None:
                root = element
            if element.tag == SIGNATURE:
                signatures += 1
            start(element)
            depth += 1
        elif event == "end":
            depth -= 1
            end(element)
        else:
            raise Refused(safe_xml.instruction_finding(element))
        if done is not None:
            done.getparent().remove(done)
            done = None
        if event == "end" and depth == _RECORD_DEPTH and element.tag in _RECORD_TAGS:
            parent = element.getparent()
            reader = _RECORDS.get((element.tag, parent.tag, parent.getparent().tag))
            if reader is not None:
                if validate:
                    records[reader].append(reader(element, shared) if reader is read_statement else reader(element))
                done = element
    writer.close()
    if root is None or signatures != 1:
        return None
    safe_xml.check_parsed(root.getroottree())
    return root, digest.digest(), records


class _Answered(Exception):
    """The result already holds the answer (a refused header or signature)."""


def _signer(result: CheckResult, root, digest: bytes, profile: Profile, trust: TrustStore, now: datetime | None):
    """The header read into `result`, and the pinned certificate that signed (None: the stream's guess of the
    profile was wrong, the tree decides); _Answered once `result` holds a refusal."""
    result.header, unsigned_findings = header_or_findings(root)
    sender = peek_sender(root)
    if sender is None:
        result.findings.extend(unsigned_findings or [Finding("envelope.missing", "the Header has no Sender")])
        raise _Answered
    try:
        return _verify(root, digest, profile, trust, sender, now)
    except Refused as refused:
        result.findings.extend(refused.findings)
        raise _Answered from None


def _verify(root, digest: bytes, profile: Profile, trust: TrustStore, sender: str, now: datetime | None):
    """The pinned certificate that signed the message, as signature.verify_message finds it; Refused(sig.*)
    as it refuses; None when the stream's guess was wrong (the tree decides)."""
    signature = xmldsig.check_shape(root)
    family = xmldsig.check_family(signature, trust.algorithms(sender))
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    pinned = trust.certificates(sender)
    candidates = xmldsig.candidates(signature, pinned, family, when)
    reference = xmldsig.reference_of(signature)
    c14n, prefixes = xmldsig.reference_c14n(reference)
    method = xmldsig.algorithm_of(reference.find("ds:DigestMethod", xmldsig.NS))
    if Profile(c14n, tuple(prefixes) if prefixes is not None else None, method or "") != profile:
        return None
    cert = xmldsig_strict.verify_signed_info(signature, candidates, digest, trust.sm2_user_id(sender))
    if cert is None:
        raise xmldsig.no_pinned_key(signature, pinned)
    xmldsig.detach(signature)
    return cert



def refusal(
    data: bytes,
    trust: TrustStore,
    *,
    now: datetime | None = None,
    service_types: ServiceTypes = None,
    known_areas: Collection[str] | None = None,
    gateway_code: str = GATEWAY_AREA,
) -> CheckResult:
    """The answer for a file too large for the tree that `check_streamed` could not decide, in bounded memory.

    The tree path's findings where the stream has them exactly (before parsing, a processing instruction, the
    signature's); else the stream's own: a syntax error (as safe_xml words it), the first schema error of a
    signed file (libxml2's streamed validation stops there, and gives no element path), or why the file
    cannot be streamed (xml.too_large: it is over the tree's limit)."""
    result = CheckResult(valid=False, sha256=sha256_of(data).hexdigest(), size=len(data))
    profile = guess_profile(data) or Profile(xmldsig.EXC_C14N, None, xmldsig.SHA256)
    try:
        safe_xml.check_before_parsing(data, max_bytes=len(data))
        passed = _pass(data, profile, validate=False)
    except Refused as refused:
        result.findings.extend(refused.findings)
        return result
    except etree.XMLSyntaxError as error:
        result.findings.append(safe_xml.syntax_finding(error))
        return result
    except (Unsupported, ValueError, ArithmeticError, TypeError):
        return _not_streamable(result, phrase("its content could not be read as it streams"))
    if passed is None:
        return _not_streamable(result, phrase("one ds:Signature, a direct child of the root, is expected"))
    root, digest, _ = passed
    try:
        certificate = _signer(result, root, digest, profile, trust, now)
    except _Answered:
        return result
    if certificate is None:
        return _not_streamable(result, phrase("its signature's canonicalization cannot be computed as it streams: "
                                              "sign with exclusive c14n or C14N 1.0"))
    findings = _first_schema_error(data)
    if not findings:
        return _not_streamable(result, phrase("its content could not be read as it streams"))
    return finish(result, root, certificate, findings, read_document, service_types=service_types,
                  known_areas=known_areas, gateway_code=gateway_code)


def _first_schema_error(data: bytes) -> list[Finding]:
    events = etree.iterparse(io.BytesIO(data), events=("end",), schema=schema.compiled("envelope"),
                             **safe_xml.PARSER_OPTIONS)
    try:
        for _, element in events:
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    except etree.XMLSyntaxError as error:
        entries = [entry for entry in error.error_log if entry.domain_name == "SCHEMASV"]
        # The log may hold earlier documents' errors too: the last is the one that stopped this parse.
        return [schema.finding_of(entries[-1])] if entries else [safe_xml.syntax_finding(error)]
    return []


def _not_streamable(result: CheckResult, why: Phrase) -> CheckResult:
    result.findings.append(Finding(
        "xml.too_large",
        "the file is too large to be checked whole, and cannot be checked as it streams: {why}; split the claim "
        "by month or by insured city",
        why=why,
    ))
    return result
