"""The replies port's adapter: the gateway's ACK/NACK signed with its own key (gateway.documents.replies).

To a city that requires SM2 (国密, `signature_algorithms`) replies are signed with the gateway's SM2 key: each
reply in the receiving city's first accepted family that the gateway holds a key for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gateway.documents.envelope import file_name
from gateway.documents.keys import key_algorithm, load_certificates, load_private_key
from gateway.documents.replies import ACCEPTED, make_ack, make_nack
from gateway.domain.envelope import Header
from gateway.domain.findings import Finding
from gateway.domain.notes import Note
from gateway.domain.register import warning_note
from gateway.domain.settlement import Receipt
from gateway.i18n import DEFAULT_LANGUAGE
from gateway.observability.masking import mask_text
from gateway.service.ports.checks import CheckOutcome


@dataclass(frozen=True)
class ReplySettings:
    """Where the gateway's keys are (read from their files by whoever signs: the engine, each pool worker)."""

    code: str
    key: Path
    certificate: Path
    sm2_key: Path | None = None
    sm2_certificate: Path | None = None
    sm2_user_id: bytes | None = None
    accepted: Mapping[str, Sequence[str]] = field(default_factory=dict)  # city -> signature families, preferred first
    languages: Mapping[str, str] = field(default_factory=dict)  # city -> language of its replies (absent: zh-CN)


class SignedReplies:
    def __init__(self, settings: ReplySettings) -> None:
        self.key = load_private_key(settings.key)
        self.cert = _current(load_certificates(settings.certificate))
        self.code = settings.code
        self._signers = {key_algorithm(self.key): (self.key, self.cert)}
        if settings.sm2_key is not None and settings.sm2_certificate is not None:
            sm2_key = load_private_key(settings.sm2_key).with_user_id(settings.sm2_user_id)
            self._signers["sm2"] = (sm2_key, _current(load_certificates(settings.sm2_certificate)))
        self._accepted = settings.accepted
        self._languages = settings.languages

    def signer(self, city: str) -> tuple[Any, Any]:
        """The key and certificate replies to `city` are signed with: its first accepted family we hold."""
        for family in self._accepted.get(city, ()):
            if family in self._signers:
                return self._signers[family]
        return self.key, self.cert  # config check makes sure a configured city never gets here

    def ack(self, answered: Header, sha256: str, now: datetime, note: Note | None = None,
            warned: Sequence[Finding] = ()) -> bytes:
        """The ACK goes to the sender: its note is said in the sender's language, heading and findings alike
        (a finding's values masked, as in a NACK)."""
        key, cert = self.signer(answered.sender)
        lang = self.language(answered.sender)
        said = note.text(lang) if note is not None else None
        if warned:
            said = warning_note([f.masked(mask_text) for f in warned], lang)
        return make_ack(answered, sha256, key=key, cert=cert, gateway_code=self.code, note=said, now=now)

    def nack(self, drop_city: str, answered: Header | None, sha256: str, findings: Sequence[Finding], now: datetime) -> bytes:
        # A NACK goes to another system: a finding quoting the document (a parser message, a file name) must
        # not carry a person's name or ID number with it. The templates are ours; the values are masked.
        findings = [f.masked(mask_text) for f in findings]
        if answered is not None and (answered.sender != drop_city or answered.type.is_reply):
            # Never address a NACK by a header we did not trust to another city: it goes back to the drop.
            answered = None
        key, cert = self.signer(drop_city)
        return make_nack(answered, sha256, findings, key=key, cert=cert, gateway_code=self.code,
                         sender=drop_city, period=None, now=now, lang=self.language(drop_city))

    def language(self, city: str) -> str:
        """The language replies to `city` are written in (a NACK's findings, an ACK's note): its `language`,
        zh-CN unless configured."""
        return self._languages.get(city, DEFAULT_LANGUAGE)

    def receipt_accepts(self, outcome: CheckOutcome) -> bool:
        document = outcome.document
        return not isinstance(document, Receipt) or document.status == ACCEPTED

    def file_name(self, header: Header) -> str:
        return file_name(header)


def _current(certs: list[Any]) -> Any:
    """The newest certificate valid now (during a rotation the PEM holds the old one too)."""
    now = datetime.now(timezone.utc)
    valid = [c for c in certs if c.not_valid_before_utc <= now <= c.not_valid_after_utc]
    return max(valid or certs, key=lambda c: c.not_valid_before_utc)
