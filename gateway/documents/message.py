"""Opening a message: the one place that turns bytes into a header and the model of the document it carries.

For the readers of documents that are not the daemon's check (the kit, reconciliation, rendering, the export,
the simulated cities): the bytes are parsed safely, the document is checked against its schema before it is
read, and the signature is not verified (the daemon's check does that, and `ltcgw verify` for a clerk).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from gateway.documents import safe_xml, schema
from gateway.documents.envelope import ENVELOPE_NS, body_of, read_header
from gateway.documents.reader import read_document
from gateway.domain.envelope import Header
from gateway.domain.findings import Refused


class NoDocument(ValueError):
    """A message whose Body carries no document."""


@dataclass(frozen=True)
class OpenedMessage:
    header: Header | None  # None: a bare document, not in an envelope
    document: Any  # gateway.domain.settlement.Document or an entitlement document
    sha256: str  # of the bytes as given


def open_message(data: bytes, *, max_bytes: int = safe_xml.DEFAULT_MAX) -> OpenedMessage:
    """A message or a bare document, read. Refused (with the schema's findings) when the document does not
    pass its schema; NoDocument when an envelope carries none; safe_xml's errors for what is not XML."""
    root = safe_xml.parse(data, max_bytes=max_bytes).getroot()
    header = None
    if root.tag == f"{{{ENVELOPE_NS}}}Message":
        header = read_header(root)
        body = body_of(root)
        if body is None:
            raise NoDocument("the message has no document in its Body")
        root = body
    findings = schema.validate(root)
    if findings:
        raise Refused(*findings)
    return OpenedMessage(header, read_document(root), hashlib.sha256(data).hexdigest())
