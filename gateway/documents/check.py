"""The one check of a message, used by `ltcgw verify` and by the daemon alike.

Stages, each on what the previous one established: size → safe parse → the unsigned Sender (only to know
whose certificates to try) → signature against that sender's pinned certificates → header from the SIGNED
content → envelope schema → header consistency → document model → settlement rules. Every finding that can
be collected is (a clerk fixes a file in one round), but nothing is read from content the signature does not
cover: after a signature failure the unsigned header is returned only to address the NACK.

Large files are checked as they stream (gateway.documents.check_stream), in memory a few times the file,
with the same result; the rest of this note is the tree path (`check_tree`), which decides every other file.
The bytes are parsed once and every step shares that tree: our verifier digests it in place
(gateway.documents.xmldsig_strict), and what the signature covers is the same tree without its signature,
which the header, schema, reader and rules read.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from hashlib import sha256 as sha256_of

from gateway.documents import safe_xml, schema
from gateway.documents.check_outcome import CheckResult, ServiceTypes, TrustStore, finish, header_or_findings
from gateway.documents.envelope import peek_sender
from gateway.documents.reader import read_document
from gateway.documents.signature import verify_message
from gateway.domain.areas import GATEWAY_AREA
from gateway.domain.findings import Finding, Refused

__all__ = ["CheckResult", "ServiceTypes", "TrustStore", "check_message", "check_tree", "finish"]


# From this size on a file is checked as it streams (gateway.documents.check_stream): its memory stays a few
# times the file instead of growing with the parsed tree (docs/benchmarks.md, section 3, has the figures).
STREAM_FROM = 4 * 1024 * 1024
# A file the stream cannot decide exactly (a schema error, an unusual signature) goes to the tree up to this
# size, the limit of the tree path's days (its memory is ~12x the file); above it the stream answers alone.
TREE_MAX = 16 * 1024 * 1024
# The default size limit (gateway.config's too): a 100,000-person claim is 110 MB; checked as it streams, the
# check peaks near 2.3x the file and the whole gateway near 6.8x (docs/benchmarks.md, section 3).
MAX_MESSAGE = 128 * 1024 * 1024


def check_message(
    data: bytes,
    trust: TrustStore,
    *,
    now: datetime | None = None,
    max_bytes: int = MAX_MESSAGE,
    service_types: ServiceTypes = None,
    known_areas: Collection[str] | None = None,
    gateway_code: str = GATEWAY_AREA,
    stream_from: int = STREAM_FROM,
    tree_max: int = TREE_MAX,
) -> CheckResult:
    """Check one received file completely; never raises for anything wrong with the file itself.

    `now` is the moment certificates must be valid at (default: now; pass the receipt time to re-check an
    old message). `known_areas` defaults to the Shandong cities and the provincial pools. `service_types`
    is one list for every city, or a mapping residence city → its list (the catalogue is the residence
    city's, 居住地目录), None meaning every type the schema allows. `gateway_code` is the area ACK and NACK
    are signed under. A file of `stream_from` bytes or more is checked as it streams, with the same result;
    what the stream cannot decide exactly (a schema error, a signature in another shape, ...) the tree decides,
    up to `tree_max` bytes; above, the stream's own findings (check_stream.refusal) keep the memory bounded.
    """
    if stream_from <= len(data) <= max_bytes:
        from gateway.documents import check_stream

        options = dict(now=now, service_types=service_types, known_areas=known_areas, gateway_code=gateway_code)
        streamed = check_stream.check_streamed(data, trust, **options)
        if streamed is not None:
            return streamed
        if len(data) > tree_max:
            return check_stream.refusal(data, trust, **options)
    return check_tree(data, trust, now=now, max_bytes=max_bytes, service_types=service_types,
                      known_areas=known_areas, gateway_code=gateway_code)


def check_tree(
    data: bytes,
    trust: TrustStore,
    *,
    now: datetime | None = None,
    max_bytes: int = safe_xml.DEFAULT_MAX,
    service_types: ServiceTypes = None,
    known_areas: Collection[str] | None = None,
    gateway_code: str = GATEWAY_AREA,
) -> CheckResult:
    """`check_message` on the whole parsed tree: every file, whatever it holds."""
    result = CheckResult(valid=False, sha256=sha256_of(data).hexdigest(), size=len(data))
    try:
        tree = safe_xml.parse(data, max_bytes=max_bytes)
    except Refused as refused:
        result.findings.extend(refused.findings)
        return result
    raw_root = tree.getroot()
    result.header, unsigned_findings = header_or_findings(raw_root)
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
    schema_findings = schema.validate(signed, schema="envelope")
    return finish(result, signed, verified.certificate, schema_findings, read_document,
                  service_types=service_types, known_areas=known_areas, gateway_code=gateway_code)
