"""A city's legacy system as the exchange sees it, simulated: a key, and a drop with outbox/ and inbox/.

It writes `NAME.part` and renames it into its outbox, reads its inbox, answers each delivery with a signed
receipt, and disputes (第三十一条) or answers a dispute of a document delivered to it. The demo, the tests and the
benchmark drive the real daemon with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from gateway.documents import safe_xml
from gateway.documents.envelope import SETTLEMENT_NS, file_name, new_message_id, pack
from gateway.documents.keys import load_certificates, load_private_key
from gateway.documents.message import open_message
from gateway.documents.replies import make_receipt
from gateway.documents.sample import sample_bytes, sample_dispute, sample_dispute_answer
from gateway.documents.writer import to_bytes
from gateway.domain.envelope import Header, MessageType

DELIVERED_PREFIXES = ("A1_", "A2_", "A3_", "A4_", "A5_", "DISPUTE_",  # DISPUTE_ANSWER_ too
                      "ENTITLEMENT_", "CHANGE_FILING_", "ASSESSMENT_")


def _serial_of(document_xml: bytes) -> str:

    node = safe_xml.parse(document_xml).getroot().find(f"{{{SETTLEMENT_NS}}}Serial")
    return node.text.strip()


@dataclass
class CitySystem:
    """A city's legacy system, as far as the exchange sees it: a key, and a drop with outbox/ and inbox/."""

    code: str
    keys: Path
    drop: Path
    answered: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:

        self.key = load_private_key(self.keys / f"{self.code}.key.pem")
        self.cert = load_certificates(self.keys / f"{self.code}.crt.pem")[0]
        self.outbox = self.drop / "outbox"
        self.inbox = self.drop / "inbox"

    def pack(self, kind: MessageType | str, receiver: str, period: str, *, seed: int = 0, persons: int = 5,
             revision: int = 1, message_id: str | None = None, document: bytes | None = None,
             about: tuple[str, str] | None = None) -> tuple[Header, bytes]:
        """A signed message as this city's system would produce it; `about`: (id, SHA-256) of the message a
        dispute (or its answer) is about."""

        kind = MessageType(kind)
        document = document or sample_bytes(kind, self.code, receiver, period, persons=persons, seed=seed)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        header = Header(message_id or new_message_id(self.code, now), kind, self.code, receiver, period,
                        _serial_of(document), revision, now, *(about or (None, None)))
        return header, pack(document, header, self.key, self.cert)

    def drop_file(self, name: str, data: bytes) -> Path:
        """Write NAME.part, then rename: the gateway never sees half a file."""
        part = self.outbox / f"{name}.part"
        part.write_bytes(data)
        final = self.outbox / name
        part.rename(final)
        return final

    def send(self, kind: MessageType | str, receiver: str, period: str, **options) -> tuple[Header, bytes]:

        header, data = self.pack(kind, receiver, period, **options)
        self.drop_file(file_name(header), data)
        return header, data

    def deliveries(self) -> list[Path]:
        """Attachments and disputes delivered to this city (replies and receipts are the other files in its inbox)."""
        return sorted(p for p in self.inbox.iterdir() if p.name.startswith(DELIVERED_PREFIXES))

    def replies(self, kind: str) -> list[Path]:
        return sorted(p for p in self.inbox.iterdir() if p.name.startswith(f"{kind}_"))

    def answer(self, *, reject: dict[str, str] | None = None) -> list[str]:
        """A signed receipt for each delivery not answered yet; returns the answered file names."""

        done = []
        for path in self.deliveries():
            if path.name in self.answered:
                continue
            data = path.read_bytes()
            reason = (reject or {}).get(path.name)
            receipt = make_receipt(data, key=self.key, cert=self.cert, reject_reason=reason)
            self.drop_file(f"RECEIPT_{path.stem}.xml", receipt)
            self.answered.add(path.name)
            done.append(path.name)
        return done


def read_delivered(path: Path) -> tuple[Header, object, str]:
    """(header, document, SHA-256) of a file in a city's inbox: what a dispute or its answer refers to."""
    opened = open_message(path.read_bytes())
    return opened.header, opened.document, opened.sha256  # type: ignore[return-value]


def send_dispute(city: CitySystem, delivered: Path, seed: int) -> Header:
    """第三十一条: `city` objects to an amount of a document delivered to it, back to the city that sent it."""

    about, document, sha = read_delivered(delivered)
    dispute = sample_dispute(document, about, city.code, seed=seed)  # type: ignore[arg-type]
    return city.send(MessageType.DISPUTE, about.sender, about.period, document=to_bytes(dispute),
                     about=(about.message_id, sha))[0]


def send_dispute_answer(city: CitySystem, delivered: Path, seed: int) -> Header:
    """The disputed city's answer (partially accepted: the midpoint of the two amounts)."""

    about, dispute, sha = read_delivered(delivered)
    answer = sample_dispute_answer(dispute, city.code, seed=seed)  # type: ignore[arg-type]
    return city.send(MessageType.DISPUTE_ANSWER, about.sender, about.period, document=to_bytes(answer),
                     about=(about.message_id, sha))[0]
